import { Navigate, Route, Routes } from 'react-router';
import { Page } from '../ui/kit.js';
import { Shell, type NavItem } from '../ui/shell.js';

/** The product for tenant users and admins (DESIGN §12). */
const NAV: readonly NavItem[] = [{ to: '/cases', label: 'Cases' }];

export default function ProductApp() {
  return (
    <Shell face="Cases" nav={NAV}>
      <Routes>
        <Route index element={<Navigate to="/cases" replace />} />
        <Route path="cases" element={<Page title="Cases">…</Page>} />
        <Route path="*" element={<Page title="Not found">This page does not exist.</Page>} />
      </Routes>
    </Shell>
  );
}
