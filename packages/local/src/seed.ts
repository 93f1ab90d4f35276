import type { TierName } from '@cellbook/core/tenancy/tiers';
import { call, onboardTenant, signIn, type OnboardedTenant } from './client.js';

/** A demo tenant as `npm start` prints it: what onboarding returned, less the admin's token. */
export interface DemoTenant extends Omit<OnboardedTenant, 'tier' | 'token'> {
  tier: TierName;
  /** False when an earlier run (a kept data directory) had onboarded it already. */
  created: boolean;
}

/**
 * The demo tenants, one per pooled tier, with fixed, documented passwords (README) that satisfy the
 * pool's policy: the same at every start, so a kept data directory and the banner always agree.
 * Local demo data only; never a real account's.
 */
export const DEMO_TENANTS: readonly { name: string; tier: TierName; adminEmail: string; password: string }[] = [
  { name: 'Acme Basic', tier: 'basic', adminEmail: 'admin@basic.example', password: 'Demo-basic-1a' },
  { name: 'Globex Standard', tier: 'standard', adminEmail: 'admin@standard.example', password: 'Demo-standard-1a' },
  { name: 'Initech Premium', tier: 'premium', adminEmail: 'admin@premium.example', password: 'Demo-premium-1a' },
];

interface TenantSummary {
  tenantId: string;
  name: string;
  tier: TierName;
  status: string;
  cellId: string;
  adminUsername: string;
}

/** Every tenant the registry lists, through the operator API (all pages). */
async function listTenants(baseUrl: string, operatorToken: string): Promise<TenantSummary[]> {
  const tenants: TenantSummary[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = await call<{ items: TenantSummary[]; nextCursor: string | null }>(baseUrl, 'GET', `/admin/tenants?limit=100${query}`, { token: operatorToken });
    if (page.status !== 200) throw new Error(`listing tenants failed: ${page.status} ${JSON.stringify(page.body)}`);
    tenants.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return tenants;
}

/**
 * One demo tenant per pooled tier, onboarded through the public API like any operator would — only
 * those the registry does not list yet (by name), so a restart on kept data finds the same tenants
 * with the same passwords. Each new admin's first sign-in (temporary password → the demo password)
 * is completed here, so the printed passwords work straight away.
 */
export async function seedDemoTenants(baseUrl: string, operatorPassword: string): Promise<DemoTenant[]> {
  const operator = await signIn(baseUrl, 'operator', operatorPassword);
  const existing = await listTenants(baseUrl, operator);
  const tenants: DemoTenant[] = [];
  for (const demo of DEMO_TENANTS) {
    // An offboarded namesake is history: the demo tenant is onboarded afresh.
    const kept = existing.find((tenant) => tenant.name === demo.name && tenant.status !== 'OFFBOARDED');
    if (kept) {
      tenants.push({ tenantId: kept.tenantId, name: kept.name, tier: kept.tier, cellId: kept.cellId, username: kept.adminUsername, password: demo.password, created: false });
      continue;
    }
    const { tenantId, cellId, username, password } = await onboardTenant(baseUrl, operator, { name: demo.name, tier: demo.tier, adminEmail: demo.adminEmail }, demo.password);
    tenants.push({ tenantId, name: demo.name, tier: demo.tier, cellId, username, password, created: true });
  }
  return tenants;
}
