import { APIGatewayClient, GetApiKeysCommand, GetUsagePlanKeysCommand } from '@aws-sdk/client-api-gateway';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/**
 * Enterprise tenants get a cell of their own (DESIGN §1, bridge model). The platform starts with
 * the pooled cells only; a dedicated cell from the catalog is created when placement asks for one.
 */
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
});
afterAll(() => env?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cells(): Promise<Record<string, { placement: string; status: string; tenantCount: number }>> {
  const response = await env.call('GET', '/admin/cells', { token: env.operatorToken });
  return Object.fromEntries(response.body.items.map((cell: { cellId: string }) => [cell.cellId, cell]));
}

/** The usage plans (cell/tier) the tenant's API key is on. */
async function plansOf(tenantId: string): Promise<string[]> {
  const apiGateway = new APIGatewayClient({
    region: env.platform.region,
    endpoint: env.platform.endpoints.apiGateway,
    credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
  });
  const { items = [] } = await apiGateway.send(new GetApiKeysCommand({ nameQuery: `tenant-${tenantId}` }));
  const keyId = items.find((key) => key.name === `tenant-${tenantId}`)?.id;
  const plans: string[] = [];
  for (const cell of env.platform.cells) {
    for (const [tier, usagePlanId] of Object.entries(cell.usagePlans)) {
      const { items: members = [] } = await apiGateway.send(new GetUsagePlanKeysCommand({ usagePlanId }));
      if (members.some((member) => member.id === keyId)) plans.push(`${cell.cellId}/${tier}`);
    }
  }
  return plans;
}

async function waitForMove(tenantId: string) {
  for (let i = 0; i < 600; i++) {
    const tenant = await env.call('GET', `/admin/tenants/${tenantId}`, { token: env.operatorToken });
    if (tenant.body.move?.state === 'DONE' || tenant.body.move?.state === 'FAILED') return tenant.body;
    await sleep(50);
  }
  throw new Error(`move of ${tenantId} did not finish`);
}

describe('enterprise placement', () => {
  it('creates a dedicated cell from the catalog for a new enterprise tenant and serves it there', async () => {
    expect(Object.keys(await cells())).toEqual(['cell-1', 'cell-2']);
    const response = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Globex', tier: 'enterprise', adminEmail: 'ops@globex.example' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ tier: 'enterprise', status: 'ACTIVE', cellId: 'cell-d1' });
    expect((await cells())['cell-d1']).toMatchObject({ placement: 'dedicated', status: 'active', tenantCount: 1 });

    const token = await env.signIn(response.body.admin.username, response.body.admin.temporaryPassword, 'Globex-Admin-Pass1');
    const created = await env.call('POST', '/cases', { token, body: { title: 'first enterprise case', priority: 'urgent' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cellbook-cell')).toBe('cell-d1');
    const me = await env.call('GET', '/me', { token });
    expect(me.body).toMatchObject({ tier: 'enterprise', cellId: 'cell-d1', entitlements: { limits: { maxActiveCases: null, maxUsers: null } } });
  });

  it('moves a tenant upgraded to enterprise into a dedicated cell, with its data, and back to a pooled cell on downgrade', async () => {
    const tenant = await env.onboard('premium');
    const pooledCell = tenant.cellId;
    const created = await tenant.call('POST', '/cases', { body: { title: 'kept across the upgrade', priority: 'high' } });

    const upgrade = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: { tier: 'enterprise', reason: 'signed enterprise' } });
    expect(upgrade.status).toBe(202);
    expect(upgrade.body).toMatchObject({ tier: 'premium', move: { toTier: 'enterprise', toCellId: 'cell-d2', state: 'REQUESTED' } });
    expect(await waitForMove(tenant.tenantId)).toMatchObject({ tier: 'enterprise', cellId: 'cell-d2', move: { state: 'DONE' } });

    const me = await tenant.call('GET', '/me');
    expect(me.body).toMatchObject({ tier: 'enterprise', cellId: 'cell-d2' });
    expect((await tenant.call('GET', `/cases/${created.body.caseId}`)).body.title).toBe('kept across the upgrade');
    // Its key now meters against the dedicated cell's enterprise plan.
    expect(await plansOf(tenant.tenantId)).toContain('cell-d2/enterprise');

    const downgrade = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: { tier: 'premium' } });
    expect(downgrade.status).toBe(202);
    const back = await waitForMove(tenant.tenantId);
    expect(back).toMatchObject({ tier: 'premium', cellId: expect.stringMatching(/^cell-[12]$/), move: { state: 'DONE' } });
    // Back on a pooled plan: the key left the dedicated cell's plans and sits on exactly one premium plan.
    expect((await plansOf(tenant.tenantId)).filter((plan) => plan.endsWith('/premium'))).toEqual([`${back.cellId}/premium`]);
    expect(pooledCell).toMatch(/^cell-[12]$/);
    expect((await cells())['cell-d2']).toMatchObject({ tenantCount: 0, status: 'active' });
    expect((await tenant.call('GET', `/cases/${created.body.caseId}`)).body.title).toBe('kept across the upgrade');

    const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual([
      'tenant.onboarded',
      'tenant.move-requested',
      'tenant.moved',
      'tenant.move-requested',
      'tenant.moved',
    ]);
  });

  it('gives a freed dedicated cell to the next enterprise tenant, and answers 503 when the catalog has none left', async () => {
    const next = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Initech', tier: 'enterprise', adminEmail: 'ops@initech.example' },
    });
    expect(next.status).toBe(201);
    expect(next.body.cellId).toBe('cell-d2');
    const none = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Umbrella', tier: 'enterprise', adminEmail: 'ops@umbrella.example' },
    });
    expect(none.status).toBe(503);
    expect(none.body.error.code).toBe('NO_CELL_CAPACITY');
  });
});
