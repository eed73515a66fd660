import './base.css';
import './holders.css';
