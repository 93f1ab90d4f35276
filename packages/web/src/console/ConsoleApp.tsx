import { Navigate, Route, Routes } from 'react-router';
import { Page } from '../ui/kit.js';
import { Shell, type NavItem } from '../ui/shell.js';
import { CellsPage } from './CellsPage.js';
import './console.css';
import { ReleaseDetailPage, ReleasesPage } from './ReleasesPage.js';
import { TenantDetailPage } from './TenantDetailPage.js';
import { OnboardPage, TenantsPage } from './TenantsPage.js';
import { UsagePage } from './UsagePage.js';

/** The operator console (DESIGN §12): tenants, cells, releases, usage, cost and SLOs. */
const NAV: readonly NavItem[] = [
  { to: '/console/tenants', label: 'Tenants' },
  { to: '/console/cells', label: 'Cells' },
  { to: '/console/releases', label: 'Releases' },
  { to: '/console/usage', label: 'Usage & SLO' },
];

export default function ConsoleApp() {
  return (
    <Shell face="Operator console" nav={NAV}>
      <Routes>
        <Route index element={<Navigate to="/console/tenants" replace />} />
        <Route path="tenants" element={<TenantsPage />} />
        <Route path="tenants/new" element={<OnboardPage />} />
        <Route path="tenants/:tenantId" element={<TenantDetailPage />} />
        <Route path="cells" element={<CellsPage />} />
        <Route path="releases" element={<ReleasesPage />} />
        <Route path="releases/:releaseId" element={<ReleaseDetailPage />} />
        <Route path="usage" element={<UsagePage />} />
        <Route path="*" element={<Page title="Not found">This page does not exist.</Page>} />
      </Routes>
    </Shell>
  );
}
