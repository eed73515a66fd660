import './base.css';
import './sites.css';
import './budget.css';
import './holders.css';
import './holders-table.css';
import './guard.css';
import './guard-detail.css';
