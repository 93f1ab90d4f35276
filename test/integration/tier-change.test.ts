import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/** Tier changes apply at once: new usage plan (throttle, quota) and new entitlements. */
let env: TestPlatform;
const clock = new ManualClock();

beforeAll(async () => {
  env = await bootTestPlatform({ gatewayClock: clock.now });
});
afterAll(() => env?.stop());

async function burst(tenant: TestTenant, count: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i++) if ((await tenant.call('GET', '/me')).status === 200) ok += 1;
  return ok;
}

const patch = (tenantId: string, body: unknown) => env.call('PATCH', `/admin/tenants/${tenantId}`, { token: env.operatorToken, body });

describe('PATCH /admin/tenants/{id}', () => {
  it('gives a basic tenant upgraded to standard the standard burst and features on its next requests', async () => {
    const tenant = await env.onboard('basic');
    expect((await tenant.call('GET', '/me')).body.entitlements.features).toEqual(['cases', 'notes']);
    const upgraded = await patch(tenant.tenantId, { tier: 'standard', reason: 'signed the standard plan' });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.tier).toBe('standard');
    const me = await tenant.call('GET', '/me');
    expect(me.body.tier).toBe('standard');
    expect(me.body.entitlements.features).toEqual(['cases', 'notes', 'evidence', 'export']);
    clock.advance(60_000); // a full bucket on the new plan
    expect(await burst(tenant, 101)).toBe(100);
  });

  it('applies per-tenant overrides on top of the tier at once', async () => {
    const tenant = await env.onboard('basic');
    await tenant.call('GET', '/me');
    const response = await patch(tenant.tenantId, { overrides: { features: { grant: ['export'] }, limits: { maxUsers: 8 } } });
    expect(response.status).toBe(200);
    const me = await tenant.call('GET', '/me');
    expect(me.body.tier).toBe('basic');
    expect(me.body.entitlements).toEqual({
      features: ['cases', 'notes', 'export'],
      limits: { maxActiveCases: 1000, maxUsers: 8, maxEvidenceFileBytes: 0, maxEvidenceBytes: 0 },
    });
  });

  it('refuses overrides together with a change to enterprise, which moves the tenant, and changes nothing', async () => {
    const tenant = await env.onboard('premium');
    const response = await patch(tenant.tenantId, { tier: 'enterprise', overrides: { limits: { maxUsers: 900 } } });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('TIER_CHANGE_NEEDS_MOVE');
    expect((await tenant.call('GET', '/me')).body.tier).toBe('premium');
  });

  it('audits the change with who, why, before and after', async () => {
    const tenant = await env.onboard('basic');
    await patch(tenant.tenantId, { tier: 'premium', reason: 'enterprise trial' });
    const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.at(-1)).toMatchObject({
      action: 'tenant.tier-changed',
      actor: 'operator',
      reason: 'enterprise trial',
      before: { tier: 'basic' },
      after: { tier: 'premium' },
    });
  });

  it('refuses an empty or unknown change with 422', async () => {
    const tenant = await env.onboard('basic');
    for (const body of [{}, { tier: 'gold' }, { overrides: { features: { grant: ['teleport'] } } }, { tenantId: 'x', tier: 'standard' }]) {
      const response = await patch(tenant.tenantId, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
    }
    expect((await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken })).body.tier).toBe('basic');
  });
});
