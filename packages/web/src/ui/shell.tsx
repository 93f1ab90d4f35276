import { useState, type ReactNode } from 'react';
import { NavLink, useNavigate } from 'react-router';
import { signOut } from '../api/client.js';
import { useSession } from './session.js';

export interface NavItem {
  to: string;
  label: string;
}

/**
 * The frame of every signed-in screen: a skip link, a banner with the face's navigation and the
 * user, and the main landmark. On a phone the navigation folds behind a menu button.
 */
export function Shell({ face, nav, children }: { face: string; nav: readonly NavItem[]; children: ReactNode }) {
  const session = useSession();
  const navigate = useNavigate();
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="banner">
        <div className="banner-brand">
          <span className="brand">Cellbook</span>
          <span className="face">{face}</span>
        </div>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="primary-nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <nav id="primary-nav" aria-label="Main" className={menuOpen ? 'nav nav-open' : 'nav'}>
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} onClick={() => setMenuOpen(false)}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="banner-user">
          <span className="username" title={session?.username}>
            {session?.username}
          </span>
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              signOut();
              navigate('/sign-in');
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
