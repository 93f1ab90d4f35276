import { Navigate, Route, Routes } from 'react-router';
import { Page } from '../ui/kit.js';
import { Shell, type NavItem } from '../ui/shell.js';

/** The operator console (DESIGN §12): tenants, cells, releases, usage, cost and SLOs. */
const NAV: readonly NavItem[] = [{ to: '/console/tenants', label: 'Tenants' }];

export default function ConsoleApp() {
  return (
    <Shell face="Operator console" nav={NAV}>
      <Routes>
        <Route index element={<Navigate to="/console/tenants" replace />} />
        <Route path="tenants" element={<Page title="Tenants">…</Page>} />
        <Route path="*" element={<Page title="Not found">This page does not exist.</Page>} />
      </Routes>
    </Shell>
  );
}
