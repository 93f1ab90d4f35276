import { Navigate, Route, Routes } from 'react-router';
import { Page } from '../ui/kit.js';
import { Shell, type NavItem } from '../ui/shell.js';
import { Analytics } from './Analytics.js';
import { Audit } from './Audit.js';
import { CaseDetail } from './CaseDetail.js';
import { CaseNew } from './CaseNew.js';
import { CasesList } from './CasesList.js';
import { Gate, useClearCacheOnUserChange, useIsAdmin, useMe } from './common.js';
import { Exports } from './Exports.js';
import { PlanUsage } from './PlanUsage.js';
import './product.css';
import { Users } from './Users.js';

/**
 * The product for tenant users and admins (DESIGN §12). The navigation offers what the tenant's plan
 * (`GET /me` entitlements) and the user's role allow; the API enforces both on every request.
 */
export default function ProductApp() {
  useClearCacheOnUserChange();
  const me = useMe();
  const isAdmin = useIsAdmin();
  const features = me.data?.entitlements.features ?? [];
  const nav: NavItem[] = [{ to: '/cases', label: 'Cases' }];
  if (features.includes('analytics')) nav.push({ to: '/analytics', label: 'Analytics' });
  if (isAdmin) nav.push({ to: '/users', label: 'Users' });
  if (isAdmin && features.includes('export')) nav.push({ to: '/export', label: 'Export' });
  if (isAdmin && features.includes('audit-log')) nav.push({ to: '/audit', label: 'Audit log' });
  nav.push({ to: '/plan', label: 'Plan & usage' });

  return (
    <Shell face="Cases" nav={nav}>
      <Routes>
        <Route index element={<Navigate to="/cases" replace />} />
        <Route path="cases" element={<CasesList />} />
        <Route path="cases/new" element={<CaseNew />} />
        <Route path="cases/:caseId" element={<CaseDetail />} />
        <Route path="plan" element={<PlanUsage />} />
        <Route
          path="users"
          element={
            <Gate title="Users" admin>
              <Users />
            </Gate>
          }
        />
        <Route
          path="export"
          element={
            <Gate title="Export" feature="export" admin>
              <Exports />
            </Gate>
          }
        />
        <Route
          path="analytics"
          element={
            <Gate title="Analytics" feature="analytics">
              <Analytics />
            </Gate>
          }
        />
        <Route
          path="audit"
          element={
            <Gate title="Audit log" feature="audit-log" admin>
              <Audit />
            </Gate>
          }
        />
        <Route path="*" element={<Page title="Not found">This page does not exist.</Page>} />
      </Routes>
    </Shell>
  );
}
