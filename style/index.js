import './base.css';
import './budget.css';
import './holders.css';
import './guard.css';
