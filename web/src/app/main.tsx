import { createRoot } from 'react-dom/client';
import { takeTokenFromFragment } from './auth';
import { App } from './App';
import './styles.css';

// Before anything renders: the token must not stay in the address bar, the history or a shared link.
takeTokenFromFragment();
createRoot(document.getElementById('root')!).render(<App />);
