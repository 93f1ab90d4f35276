import { APIGatewayClient, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import * as Offboarding from '@cellbook/core/lifecycle/offboarding';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, tenantItemsInCell, type TestPlatform, type TestTenant } from '../support/platform.js';

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

interface ExportLine {
  table: 'registry' | 'cell';
  item: Record<string, unknown> & { PK: string; SK: string };
}

/** Reads a tenant's whole export the way an operator's script would: page after page. */
async function exportAll(tenantId: string, limit = 7): Promise<{ lines: ExportLine[]; pages: number }> {
  const lines: ExportLine[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await env.call('GET', `/admin/tenants/${tenantId}/export?${query}`, { token: env.operatorToken });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = response.body as unknown as string | null;
    const page = (text ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExportLine);
    expect(page).toHaveLength(Number(response.headers.get('x-item-count')));
    lines.push(...page);
    cursor = response.headers.get('x-next-cursor');
    pages++;
  } while (cursor);
  return { lines, pages };
}

async function withData(tier: 'basic' | 'standard' = 'standard'): Promise<TestTenant & { caseIds: string[] }> {
  const tenant = await env.onboard(tier);
  const caseIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const created = await tenant.call('POST', '/cases', { body: { title: `case ${i}`, priority: 'low' } });
    caseIds.push(created.body.caseId);
    await tenant.call('POST', `/cases/${created.body.caseId}/notes`, { body: { body: `note ${i}` } });
  }
  await tenant.call('POST', '/users', { body: { email: `agent-${tenant.tenantId}@example.com`, role: 'user' } });
  return { ...tenant, caseIds };
}

const suspend = (tenantId: string) => env.call('POST', `/admin/tenants/${tenantId}/suspend`, { token: env.operatorToken, body: { reason: 'contract ended' } });

describe('GET /admin/tenants/{id}/export', () => {
  it('returns every item of the tenant from the registry and its cell as JSON Lines, and nothing of any other tenant', async () => {
    const tenant = await withData();
    const neighbour = await withData();
    const { lines, pages } = await exportAll(tenant.tenantId);
    expect(pages).toBeGreaterThan(1);
    const keys = lines.map((line) => `${line.table}:${line.item.PK}|${line.item.SK}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const line of lines) {
      expect(line.item.PK === `TENANT#${tenant.tenantId}` || line.item.PK.startsWith(`TENANT#${tenant.tenantId}#`)).toBe(true);
      expect(JSON.stringify(line)).not.toContain(neighbour.tenantId);
    }
    const registry = lines.filter((line) => line.table === 'registry').map((line) => line.item.SK);
    expect(registry).toEqual(expect.arrayContaining(['TENANT', expect.stringMatching(/^AUDIT#/)]));
    const cell = lines.filter((line) => line.table === 'cell');
    // 4 cases + 4 notes + counters + 2 users + 3 analytics items (case counts, today's figures, today's
    // unresolved cases by hour), exactly what the cell holds for the tenant.
    expect(cell).toHaveLength(14);
    expect(cell.length).toBe(await tenantItemsInCell(env.platform, tenant.cellId, tenant.tenantId));
    for (const caseId of tenant.caseIds) expect(cell.some((line) => line.item.caseId === caseId && line.item.SK === 'CASE')).toBe(true);
    // The usage identifier key is a secret of the gateway, not tenant data to hand out.
    expect(JSON.stringify(lines)).not.toContain('apiKeyValue');
  });

  it('refuses a cursor from another tenant’s export and a tampered one with 400', async () => {
    const tenant = await withData('basic');
    const other = await withData('basic');
    const first = await env.call('GET', `/admin/tenants/${other.tenantId}/export?limit=2`, { token: env.operatorToken });
    const cursor = first.headers.get('x-next-cursor')!;
    const foreign = await env.call('GET', `/admin/tenants/${tenant.tenantId}/export?cursor=${cursor}`, { token: env.operatorToken });
    expect([foreign.status, foreign.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
    const tampered = await env.call('GET', `/admin/tenants/${tenant.tenantId}/export?cursor=${cursor.slice(0, -3)}xyz`, { token: env.operatorToken });
    expect(tampered.status).toBe(400);
  });
});

describe('DELETE /admin/tenants/{id}', () => {
  it('refuses to offboard a tenant that is not suspended, changing nothing', async () => {
    const tenant = await withData('basic');
    const refused = await env.call('DELETE', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: {} });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'TENANT_NOT_SUSPENDED']);
    expect((await tenant.call('GET', '/me')).status).toBe(200);
  });

  it('revokes key and users, purges every item, keeps a tombstone and the audit trail; old tokens fail', async () => {
    const tenant = await withData();
    const neighbour = await withData();
    const neighbourBefore = await exportAll(neighbour.tenantId, 100);
    const cellsBefore = (await env.call('GET', '/admin/cells', { token: env.operatorToken })).body.items;

    expect((await suspend(tenant.tenantId)).status).toBe(200);
    const exported = await exportAll(tenant.tenantId, 100);
    const response = await env.call('DELETE', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: { reason: 'contract ended' } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      tenantId: tenant.tenantId,
      status: 'OFFBOARDED',
      purged: { cellId: tenant.cellId, count: exported.lines.filter((line) => line.table === 'cell').length, checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    expect(await tenantItemsInCell(env.platform, tenant.cellId, tenant.tenantId)).toBe(0);
    expect((await tenant.call('GET', '/me')).status).toBe(403);
    const signIn = await env.call('POST', '/auth/token', { body: { username: tenant.username, password: tenant.password } });
    expect(signIn.status).toBe(401);
    const apiGateway = new APIGatewayClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.apiGateway,
      credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
    });
    const keys = await apiGateway.send(new GetApiKeysCommand({ nameQuery: `tenant-${tenant.tenantId}` }));
    expect(keys.items ?? []).toEqual([]);
    const cellsAfter = (await env.call('GET', '/admin/cells', { token: env.operatorToken })).body.items;
    const load = (cells: { cellId: string; tenantCount: number }[]) => cells.find((cell) => cell.cellId === tenant.cellId)!.tenantCount;
    expect(load(cellsAfter)).toBe(load(cellsBefore) - 1);

    const tombstone = await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken });
    expect(tombstone.body).toMatchObject({ tenantId: tenant.tenantId, name: tenant.name, status: 'OFFBOARDED' });
    const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['tenant.onboarded', 'tenant.suspended', 'tenant.offboarded']);
    expect(audit.body.items[2]).toMatchObject({ actor: 'operator', reason: 'contract ended', after: { status: 'OFFBOARDED' } });
    expect((await exportAll(tenant.tenantId, 100)).lines.every((line) => line.table === 'registry')).toBe(true);

    // The neighbour in the same cell lost nothing.
    expect((await exportAll(neighbour.tenantId, 100)).lines.filter((line) => line.table === 'cell')).toEqual(neighbourBefore.lines.filter((line) => line.table === 'cell'));
    expect((await neighbour.call('GET', '/cases')).body.items).toHaveLength(4);

    // Offboarding again answers the tombstone; nothing brings the tenant back.
    const again = await env.call('DELETE', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.purged).toEqual(response.body.purged);
    const reactivate = await env.call('POST', `/admin/tenants/${tenant.tenantId}/reactivate`, { token: env.operatorToken, body: {} });
    expect(reactivate.status).toBe(409);
  });

  it.each(['started', 'keyRevoked', 'usersRemoved', 'dataPurged', 'tombstoned'] as const)(
    'finishes an offboarding that crashed after "%s" when asked again',
    async (crashAt) => {
      const tenant = await withData('basic');
      await suspend(tenant.tenantId);
      await expect(
        Offboarding.offboard(
          tenant.tenantId,
          {},
          {
            actor: 'operator',
            afterStep: (step) => {
              if (step === crashAt) throw new Error(`crashed after ${step}`);
            },
          },
        ),
      ).rejects.toThrow(`crashed after ${crashAt}`);
      const retry = await env.call('DELETE', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: {} });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ status: 'OFFBOARDED', purged: { count: 14 } });
      expect(await tenantItemsInCell(env.platform, tenant.cellId, tenant.tenantId)).toBe(0);
      const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
      expect(audit.body.items.filter((entry: { action: string }) => entry.action === 'tenant.offboarded')).toHaveLength(1);
    },
  );
});

describe('after offboarding', () => {
  it('does not bring a tenant back when its onboarding request is replayed, and frees its name', async () => {
    const body = { name: 'Phoenix Ltd', tier: 'basic', adminEmail: 'admin@phoenix.example' };
    const first = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': 'phoenix-1' } });
    expect(first.status).toBe(201);
    await suspend(first.body.tenantId);
    expect((await env.call('DELETE', `/admin/tenants/${first.body.tenantId}`, { token: env.operatorToken, body: {} })).status).toBe(200);

    const replay = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': 'phoenix-1' } });
    expect([replay.status, replay.body.error.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    expect((await env.call('GET', `/admin/tenants/${first.body.tenantId}`, { token: env.operatorToken })).body.status).toBe('OFFBOARDED');

    const again = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': 'phoenix-2' } });
    expect(again.status).toBe(201);
    expect(again.body.tenantId).not.toBe(first.body.tenantId);
  });
});
