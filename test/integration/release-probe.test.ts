import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as Cell from '@cellbook/core/cells/cell';
import * as Keys from '@cellbook/core/keys/keys';
import * as Onboarding from '@cellbook/core/lifecycle/onboarding';
import * as Probe from '@cellbook/core/releases/probe';
import { documentClient } from '@cellbook/core/shared/dynamo';
import * as Tenant from '@cellbook/core/tenants/tenant';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/**
 * Each cell's synthetic probe tenant (DESIGN §9), against the real local platform. The release
 * driver's core code runs in this process with the control plane's environment (the drill role:
 * the union of the control identities' grants); the probe's requests go through the router like
 * any client's. What the specs inspect beside the API (a cell table's case listing) they read as
 * the deployer.
 */
class SimulatedCrash extends Error {}

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

/** What operators see of the cells (GET /admin/cells). */
async function cellsView(): Promise<Record<string, { capacity: number; tenantCount: number }>> {
  const response = await env.call('GET', '/admin/cells', { token: env.operatorToken });
  return Object.fromEntries(response.body.items.map((cell: { cellId: string; capacity: number; tenantCount: number }) => [cell.cellId, cell]));
}

/** The statuses of a tenant's cases, from its cell's listing index. */
async function caseStatuses(cellId: string, tenantId: string): Promise<string[]> {
  const cell = env.platform.cells.find((candidate) => candidate.cellId === cellId);
  if (!cell) throw new Error(`no cell ${cellId}`);
  const db = documentClient({
    region: env.platform.region,
    endpoint: env.platform.endpoints.dynamodb,
    credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
  });
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: cell.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': Keys.caseListingPartition(tenantId) },
    }),
  );
  return Items.map((item) => item.status as string);
}

/** `fetch` as the probe uses it, with what it sent and got recorded, and a switch that cuts the network. */
function recordingFetch() {
  const calls: { method: string; path: string; status: number; authorization: string | null }[] = [];
  const control = { cutCases: false };
  const recorded: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    if (control.cutCases && url.pathname.startsWith('/cases')) throw new TypeError('fetch failed (network cut by the test)');
    const response = await fetch(input, init);
    const authorization = new Headers(init?.headers).get('authorization');
    calls.push({ method, path: url.pathname, status: response.status, authorization });
    return response;
  };
  return { fetch: recorded, calls, control };
}

const STEPS = ['sign-in', 'create', 'list', 'read', 'update'];

describe('ensureProbeTenant', () => {
  it("onboards a pooled cell's probe in that very cell, as a synthetic basic tenant that takes none of its slots", async () => {
    const before = await cellsView();
    for (const cellId of ['cell-1', 'cell-2']) {
      const probe = await Probe.ensureProbeTenant(cellId);

      expect(probe).toMatchObject({ cellId, tier: 'basic', name: `probe-${cellId}`, username: `probe+${cellId}@cellbook.invalid` });
      expect(await Tenant.getRecord(probe.tenantId)).toMatchObject({ status: 'ACTIVE', cellId, tier: 'basic', synthetic: true });
      const cell = await Cell.get(cellId);
      expect(cell?.probeTenantId).toBe(probe.tenantId);
      expect(cell?.tenants?.has(probe.tenantId) ?? false).toBe(false);
      // The operator console tells it apart from customers.
      const shown = await env.call('GET', `/admin/tenants/${probe.tenantId}`, { token: env.operatorToken });
      expect(shown.body).toMatchObject({ cellId, synthetic: true });
    }
    expect(await cellsView()).toEqual(before);
  });

  it('changes nothing the second time: the same tenant, its record and its cell untouched', async () => {
    const first = await Probe.ensureProbeTenant('cell-1');
    const record = await Tenant.getRecord(first.tenantId);
    const cell = await Cell.get('cell-1');

    expect(await Probe.ensureProbeTenant('cell-1')).toEqual(first);
    expect(await Tenant.getRecord(first.tenantId)).toEqual(record);
    expect(await Cell.get('cell-1')).toEqual(cell);
  });

  it('finishes the same probe tenant when an earlier attempt crashed half-way, in a dedicated cell, leaving its one slot to its customer', async () => {
    // The pooled cells have their probes already: the crash is staged on the dedicated cell an enterprise customer
    // brings, whose probe no spec has onboarded yet.
    const enterprise = await env.onboard('enterprise');
    expect(enterprise.cellId).toBe('cell-d1');
    let crashedTenant: string | undefined;
    await expect(
      Probe.ensureProbeTenant('cell-d1', {
        // Its lease is already over, as it would be by the time anyone retries a crashed attempt.
        now: () => Date.now() - Onboarding.ONBOARDING_LEASE_MS - 1_000,
        afterStep: (step, tenantId) => {
          if (step !== 'keyIssued') return;
          crashedTenant = tenantId;
          throw new SimulatedCrash('crashed after keyIssued');
        },
      }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await Tenant.getRecord(crashedTenant!)).toMatchObject({ status: 'PENDING', cellId: 'cell-d1' });

    const probe = await Probe.ensureProbeTenant('cell-d1');

    expect(probe).toMatchObject({ tenantId: crashedTenant, cellId: 'cell-d1', tier: 'enterprise' });
    expect(await Tenant.getRecord(probe.tenantId)).toMatchObject({ status: 'ACTIVE', cellId: 'cell-d1', synthetic: true });
    // The dedicated cell's one slot is still its enterprise customer's.
    expect((await cellsView())['cell-d1']).toMatchObject({ capacity: 1, tenantCount: 1 });
    expect([...((await Cell.get('cell-d1'))?.tenants ?? [])]).toEqual([enterprise.tenantId]);
  });

  it('never gives a cell a second probe: the pin of another tenant is refused, the first probe stays', async () => {
    const { tenantId } = await Probe.ensureProbeTenant('cell-1');
    await expect(Cell.pinProbeTenant('cell-1', 'tenant-impostor')).rejects.toThrow(/already has probe tenant/);
    expect((await Cell.get('cell-1'))?.probeTenantId).toBe(tenantId);
  });

  it('keeps the probe in its cell: an operator cannot move it', async () => {
    const { tenantId } = await Probe.ensureProbeTenant('cell-1');
    const moved = await env.call('POST', `/admin/tenants/${tenantId}/move`, { token: env.operatorToken, body: { cellId: 'cell-2' } });
    expect(moved.status).toBe(422);
    expect(moved.body.error.code).toBe('INVALID_MOVE');
    expect(await Tenant.getRecord(tenantId)).toMatchObject({ cellId: 'cell-1' });
    expect((await Cell.get('cell-2'))?.tenants?.has(tenantId) ?? false).toBe(false);
  });

  it('refuses a cell that is not deployed, and creates nothing', async () => {
    await expect(Probe.ensureProbeTenant('cell-d2')).rejects.toMatchObject({ code: 'CELL_NOT_FOUND' });
    expect(await Cell.get('cell-d2')).toBeUndefined();
  });
});

describe('routerProbe', () => {
  it('signs in once, then creates, lists, reads and updates a case through the router, every step 2xx', async () => {
    const recorder = recordingFetch();
    const probe = Probe.routerProbe({ routerUrl: env.url, fetch: recorder.fetch });

    const first = await probe.run('cell-1');
    const second = await probe.run('cell-1');

    for (const result of [first, second]) {
      expect(result.ok).toBe(true);
      expect(result.error).toBeUndefined();
      expect(result.steps.map((step) => step.step)).toEqual(STEPS);
      expect(result.steps.every((step) => step.status >= 200 && step.status < 300)).toBe(true);
    }
    // The token is reused until near its expiry.
    expect(recorder.calls.filter((call) => call.path === '/auth/token')).toHaveLength(1);
    expect(recorder.calls.filter((call) => call.method === 'POST' && call.path === '/cases')).toHaveLength(2);
  });

  it('runs in a dedicated cell too', async () => {
    const result = await Probe.routerProbe({ routerUrl: env.url }).run('cell-d1');
    expect(result).toMatchObject({ ok: true });
    expect(result.steps.map((step) => step.step)).toEqual(STEPS);
  });

  it('leaves none of its cases open, closing those an interrupted round left behind', async () => {
    const recorder = recordingFetch();
    const probe = Probe.routerProbe({ routerUrl: env.url, fetch: recorder.fetch });
    const { tenantId } = await Probe.ensureProbeTenant('cell-2');
    expect((await probe.run('cell-2')).ok).toBe(true);
    // A round that died after its create: its case is OPEN.
    const token = recorder.calls.find((call) => call.path === '/cases')!.authorization!.replace('Bearer ', '');
    expect((await env.call('POST', '/cases', { token, body: { title: 'left open', priority: 'low' } })).status).toBe(201);
    expect(await caseStatuses('cell-2', tenantId)).toContain('OPEN');

    expect((await probe.run('cell-2')).ok).toBe(true);

    const statuses = await caseStatuses('cell-2', tenantId);
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(new Set(statuses)).toEqual(new Set(['CLOSED']));
  });

  it("reports the failing step when a cell's functions fail, while the other cell's probe passes", async () => {
    const probe = Probe.routerProbe({ routerUrl: env.url });
    expect((await probe.run('cell-1')).ok).toBe(true);
    const cell1 = env.platform.cells.find((cell) => cell.cellId === 'cell-1')!;
    // cell-1's storage fails every call: its functions answer 5xx.
    const stop = env.platform.interceptDynamoDb(({ body }) => {
      if (body.TableName === cell1.tableName) throw new Error('cell-1 storage is down (drill)');
    });
    try {
      const failed = await probe.run('cell-1');
      expect(failed.ok).toBe(false);
      expect(failed.steps.map((step) => step.step)).toEqual(['sign-in', 'create']);
      expect(failed.steps.at(-1)!.status).toBeGreaterThanOrEqual(500);
      expect(failed.error).toMatch(/^create: answered 5\d\d/);

      expect(await probe.run('cell-2')).toMatchObject({ ok: true });
    } finally {
      stop();
    }
    expect((await probe.run('cell-1')).ok).toBe(true);
  });

  it('fails on a step that answers an error even when the steps before it passed', async () => {
    const probe = Probe.routerProbe({ routerUrl: env.url });
    const cell1 = env.platform.cells.find((cell) => cell.cellId === 'cell-1')!;
    // Only cell-1's listing fails: creating still works.
    const stop = env.platform.interceptDynamoDb(({ operation, body }) => {
      if (operation === 'Query' && body.TableName === cell1.tableName) throw new Error('cell-1 listing is down (drill)');
    });
    try {
      const failed = await probe.run('cell-1');
      expect(failed.ok).toBe(false);
      expect(failed.steps.map((step) => step.step)).toEqual(['sign-in', 'create', 'list']);
      expect(failed.steps.at(-1)!.status).toBeGreaterThanOrEqual(500);
      expect(failed.error).toMatch(/^list: answered 5\d\d/);
    } finally {
      stop();
    }
  });

  it('reports a network failure as a failed step, without throwing', async () => {
    const recorder = recordingFetch();
    const probe = Probe.routerProbe({ routerUrl: env.url, fetch: recorder.fetch });
    expect((await probe.run('cell-2')).ok).toBe(true);
    recorder.control.cutCases = true;

    const result = await probe.run('cell-2');

    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/^create: .*network cut/) });
    expect(result.steps.at(-1)).toMatchObject({ step: 'create', status: 0 });
  });

  it("signs in as a normal tenant: the probe's token reads no other tenant's case, and no other tenant reads the probe's", async () => {
    const customer = await env.onboard('basic');
    const theirs = await customer.call('POST', '/cases', { body: { title: 'customer case', priority: 'high' } });
    expect(theirs.status).toBe(201);
    const recorder = recordingFetch();
    const cellId = customer.cellId;
    expect((await Probe.routerProbe({ routerUrl: env.url, fetch: recorder.fetch }).run(cellId)).ok).toBe(true);
    const token = recorder.calls.find((call) => call.path === '/cases')!.authorization!.replace('Bearer ', '');
    const own = await env.call('POST', '/cases', { token, body: { title: 'probe case', priority: 'low' } });
    expect(own.status).toBe(201);

    // Positive controls: each reads its own.
    expect((await env.call('GET', `/cases/${own.body.caseId}`, { token })).status).toBe(200);
    expect((await customer.call('GET', `/cases/${theirs.body.caseId}`)).status).toBe(200);

    expect((await env.call('GET', `/cases/${theirs.body.caseId}`, { token })).status).toBe(404);
    expect((await customer.call('GET', `/cases/${own.body.caseId}`)).status).toBe(404);
    const probeList = await env.call('GET', '/cases?limit=100', { token });
    expect(probeList.body.items.map((item: { caseId: string }) => item.caseId)).not.toContain(theirs.body.caseId);
  });
});

describe('a probe tenant offboarded by an operator', () => {
  it('is followed by a new probe of the same cell, which the running probe signs in as after one failed round', async () => {
    const probe = Probe.routerProbe({ routerUrl: env.url });
    expect((await probe.run('cell-2')).ok).toBe(true);
    const retired = await Probe.ensureProbeTenant('cell-2');
    expect((await env.call('POST', `/admin/tenants/${retired.tenantId}/suspend`, { token: env.operatorToken, body: {} })).status).toBe(200);
    expect((await env.call('DELETE', `/admin/tenants/${retired.tenantId}`, { token: env.operatorToken, body: {} })).status).toBe(200);

    // Its token is still cached: the round fails on the first tenant request.
    const refused = await probe.run('cell-2');
    expect(refused).toMatchObject({ ok: false });
    expect(refused.steps.at(-1)).toMatchObject({ step: 'create', status: 403 });

    const next = await probe.run('cell-2');
    expect(next).toMatchObject({ ok: true });
    const successor = await Probe.ensureProbeTenant('cell-2');
    expect(successor.tenantId).not.toBe(retired.tenantId);
    expect(await Tenant.getRecord(successor.tenantId)).toMatchObject({ status: 'ACTIVE', cellId: 'cell-2', synthetic: true });
    expect(await Cell.get('cell-2')).toMatchObject({ probeTenantId: successor.tenantId, probeGeneration: 1 });
  });
});
