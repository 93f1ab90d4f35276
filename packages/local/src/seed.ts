import { randomBytes } from 'node:crypto';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import { onboardTenant, signIn, type OnboardedTenant } from './client.js';

/** A demo tenant as `npm start` prints it: what onboarding returned, less the admin's token. */
export interface DemoTenant extends Omit<OnboardedTenant, 'tier' | 'token'> {
  tier: TierName;
}

const DEMO: { name: string; tier: TierName; adminEmail: string }[] = [
  { name: 'Acme Basic', tier: 'basic', adminEmail: 'admin@basic.example' },
  { name: 'Globex Standard', tier: 'standard', adminEmail: 'admin@standard.example' },
  { name: 'Initech Premium', tier: 'premium', adminEmail: 'admin@premium.example' },
];

/**
 * One demo tenant per pooled tier, onboarded through the public API like any operator would. Each
 * admin's first sign-in (temporary password → own password) is completed here, so the printed
 * passwords work straight away.
 */
export async function seedDemoTenants(baseUrl: string, operatorPassword: string): Promise<DemoTenant[]> {
  const operator = await signIn(baseUrl, 'operator', operatorPassword);
  const tenants: DemoTenant[] = [];
  for (const demo of DEMO) {
    const { tenantId, cellId, username, password } = await onboardTenant(baseUrl, operator, demo, `Demo-${randomBytes(6).toString('base64url')}-1a`);
    tenants.push({ tenantId, name: demo.name, tier: demo.tier, cellId, username, password });
  }
  return tenants;
}
