import { Sha256 } from '@aws-crypto/sha256-js';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { SignatureV4 } from '@smithy/signature-v4';
import { STSClient } from '@aws-sdk/client-sts';
import * as Cell from '@cellbook/core/cells/cell';
import { ingestUsage, ledgerTable } from '@cellbook/core/metering/ledger';
import { BYTES_PER_GB } from '@cellbook/core/metering/prices';
import type { UsageEvent } from '@cellbook/core/metering/usage-event';
import { CSV_COLUMNS } from '@cellbook/core/metering/usage-report';
import { measureTenant, snapshotActiveTenants } from '@cellbook/core/metering/usage-snapshot';
import { TenantTableProvider } from '@cellbook/core/tenancy/tenant-table';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onboardNeighbours } from '../isolation/neighbours.fixture.js';
import { bootTestPlatform, twoPooledCells, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * The usage APIs (DESIGN §10) through real HTTP: the operator's reports of one tenant and of the top
 * tenants, tiers and cells (JSON and CSV), their refusals, and a tenant's own GET /me/usage, whose
 * ledger figures the cell may read only through the usage broker, as its own tenant. The ledger is
 * filled with core's ingestUsage and the hourly snapshot job's code, in the previous hour, so that
 * whatever else the platform meters meanwhile lands in the current one.
 */
let env: TestPlatform;
/** Busy, basic: 40 metered requests. Shares a cell with bob. */
let alice: TestTenant;
/** No usage at all, in alice's cell. */
let bob: TestTenant;
/** In the other cell: 5 metered requests. */
let carol: TestTenant;
/** Standard, 10 metered requests. */
let dave: TestTenant;

const HOUR_MS = 3_600_000;
const thisHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
/** The hour the ledger is filled in. */
const HOUR = new Date(thisHour - HOUR_MS);
const FROM = HOUR.toISOString();
const TO = new Date(thisHour).toISOString();
const PERIOD = FROM.slice(0, 13);

function requests(tenant: TestTenant, count: number): UsageEvent[] {
  return Array.from({ length: count }, (_, n) => ({
    tenantId: tenant.tenantId,
    cellId: tenant.cellId,
    tier: tenant.tier,
    eventId: `it-usage-${tenant.tenantId}-${n}`,
    idempotencyKey: `it-usage-${tenant.tenantId}-${n}`,
    occurredAt: new Date(HOUR.getTime() + 60_000 + n).toISOString(),
    actor: tenant.username,
    data: { kind: 'request', route: 'POST /cases', status: 201, quantities: { apiRequests: 1, functionGbMs: 250, readUnits: 2, writeUnits: 3 } },
  }));
}

let storageOf: Map<string, number>;
/** When the hourly job ran, in the hour the ledger is filled in. */
const SNAPSHOT_AT = new Date(HOUR.getTime() + 30 * 60_000);

beforeAll(async () => {
  env = await bootTestPlatform({ cells: twoPooledCells(10) });
  ({ alice, bob, carol } = await onboardNeighbours(env, 'basic'));
  dave = await env.onboard('standard');
  for (const title of ['One', 'Two']) expect((await alice.call('POST', '/cases', { body: { title, priority: 'low' } })).status).toBe(201);
  // The hourly job's code runs here as its function would: with the usage-snapshot identity's role
  // and environment — its grants must suffice to list tenants, read their cells as each tenant and
  // write the ledger (the events below go in with the same grants, as the pipeline's would).
  Object.assign(process.env, env.platform.controlFunctionEnv('control/usage-snapshot'));
  const ingested = await ingestUsage(ledgerTable(), [...requests(alice, 40), ...requests(carol, 5), ...requests(dave, 10)]);
  expect(ingested.counted).toBe(55);
  const snapshot = await snapshotActiveTenants({ now: SNAPSHOT_AT });
  expect(snapshot.counted).toBe(4);
  storageOf = new Map();
  for (const tenant of [alice, bob, carol, dave]) {
    const cell = await Cell.get(tenant.cellId);
    storageOf.set(tenant.tenantId, (await measureTenant(cell!, tenant.tenantId)).storageBytes);
  }
}, 180_000);
afterAll(() => env?.stop());

const admin = (path: string, headers?: Record<string, string>) => env.call('GET', path, { token: env.operatorToken, ...(headers ? { headers } : {}) });

describe('GET /admin/tenants/{tenantId}/usage', () => {
  it("answers the tenant's series, totals, cost and margin over the range", async () => {
    const response = await admin(`/admin/tenants/${alice.tenantId}/usage?from=${FROM}&to=${TO}&granularity=hour`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const body = response.body;
    expect(body).toMatchObject({ tenantId: alice.tenantId, tier: 'basic', range: { from: FROM, to: TO, granularity: 'hour' } });
    expect(body.series).toHaveLength(1);
    expect(body.series[0]).toMatchObject({
      period: PERIOD,
      quantities: { apiRequests: 40, functionGbMs: 10_000, readUnits: 80, writeUnits: 120 },
      // The snapshot: two active cases, one user (the admin), and every item the tenant owns in its cell.
      gauges: { activeCases: 2, users: 1, storageBytes: storageOf.get(alice.tenantId) },
    });
    expect(body.totals.quantities.apiRequests).toBe(40);
    // 40 requests: API Gateway 40 × $3.50/M = 140 µ$, Lambda requests 8 µ$, CloudFront 40 µ$, …
    expect(body.economics.variableCost.apiGateway.micros).toBe(140);
    expect(body.economics.variableCost.lambdaRequests.micros).toBe(8);
    expect(body.economics.variableCost.cloudFront.micros).toBe(40);
    expect(body.economics.cost.micros).toBe(body.economics.variableCost.total.micros + body.economics.fixedCostShare.micros);
    // One hour of basic: $49 / 730 = 67,123 µ$.
    expect(body.economics.revenue).toEqual({ usd: '0.07', micros: 67_123 });
    expect(body.economics.margin.micros).toBe(67_123 - body.economics.cost.micros);
    expect(body.cells).toEqual([expect.objectContaining({ cellId: alice.cellId, tier: 'basic', hours: 1 })]);
    expect(body.prices).toEqual({ region: 'us-east-1', asOf: expect.any(String) });
  });

  it('charges a tenant with no usage only its share of fixed costs: nothing, beside a neighbour that consumes', async () => {
    const response = await admin(`/admin/tenants/${bob.tenantId}/usage?from=${FROM}&to=${TO}&granularity=hour`);
    expect(response.status).toBe(200);
    const { economics } = response.body;
    expect(economics.variableCost.total.micros).toBe(0);
    expect(economics.fixedCostShare.micros).toBe(0);
    expect(economics.cost.micros).toBe(0);
    // Alice carries the whole of their cell's fixed hour: $37.80 / 730 = 51,781 µ$.
    const busy = await admin(`/admin/tenants/${alice.tenantId}/usage?from=${FROM}&to=${TO}&granularity=hour`);
    expect(busy.body.economics.fixedCostShare.micros).toBe(51_781);
  });

  it('answers 404 with the error body for a tenant that does not exist', async () => {
    const response = await admin('/admin/tenants/t-0000000000000000/usage');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'TENANT_NOT_FOUND', message: expect.any(String) });
  });
});

describe('the hourly snapshot', () => {
  it("counts each tenant's snapshot once per hour, however often the job runs in it", async () => {
    const again = await snapshotActiveTenants({ now: new Date(SNAPSHOT_AT.getTime() + 10 * 60_000) });
    expect([again.tenants, again.counted, again.duplicates]).toEqual([4, 0, 4]);
  });
});

describe('GET /admin/usage', () => {
  const range = `from=${FROM}&to=${TO}&granularity=hour`;

  it('lists the top tenants by a dimension, with the whole bill in the totals', async () => {
    const response = await admin(`/admin/usage?${range}&groupBy=tenant&sort=apiRequests&top=2`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.items.map((item: { key: string; quantities: { apiRequests: number } }) => [item.key, item.quantities.apiRequests])).toEqual([
      [alice.tenantId, 40],
      [dave.tenantId, 10],
    ]);
    expect(response.body.groups).toBe(4);
    expect(response.body.totals.quantities.apiRequests).toBe(55);
    // Both cells had tenants: no fixed cost is left without one.
    expect(response.body.idleCells).toEqual([]);
  });

  it('lists the lowest margins first', async () => {
    const response = await admin(`/admin/usage?${range}&sort=margin&top=4`);
    const margins = response.body.items.map((item: { economics: { margin: { micros: number } } }) => item.economics.margin.micros);
    expect(margins).toHaveLength(4);
    expect(margins).toEqual([...margins].sort((a: number, b: number) => a - b));
  });

  it('groups by tier and by cell', async () => {
    const byTier = await admin(`/admin/usage?${range}&groupBy=tier&sort=apiRequests`);
    expect(byTier.body.items.map((item: { key: string; tenants: number }) => [item.key, item.tenants])).toEqual([
      ['basic', 3],
      ['standard', 1],
    ]);
    const byCell = await admin(`/admin/usage?${range}&groupBy=cell&sort=cost`);
    expect(byCell.body.items.map((item: { key: string }) => item.key).sort()).toEqual(['cell-1', 'cell-2']);
  });

  it('answers the same rows as CSV, for Accept: text/csv and for format=csv', async () => {
    const json = await admin(`/admin/usage?${range}&sort=cost&top=3`);
    for (const [path, headers] of [
      [`/admin/usage?${range}&sort=cost&top=3`, { accept: 'text/csv' }],
      [`/admin/usage?${range}&sort=cost&top=3&format=csv`, undefined],
    ] as const) {
      const csv = await admin(path, headers);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = String(csv.body).trimEnd().split('\r\n');
      expect(lines[0]).toBe(CSV_COLUMNS.join(','));
      const header = lines[0]!.split(',');
      expect(lines.slice(1).map((line) => [line.split(',')[header.indexOf('key')], line.split(',')[header.indexOf('cost_usd')]])).toEqual(
        json.body.items.map((item: { key: string; economics: { cost: { usd: string } } }) => [item.key, item.economics.cost.usd]),
      );
    }
  });

  it.each([
    ['from after to', `from=${TO}&to=${FROM}`, 'from'],
    ['an unknown groupBy', 'groupBy=region', 'groupBy'],
    ['an unknown sort', 'sort=revenue', 'sort'],
    ['an unknown granularity', 'granularity=minute', 'granularity'],
    ['a range beyond the ledger retention', 'from=2020-01-01&granularity=day', 'from'],
    ['a range of hours beyond their retention', `from=${new Date(thisHour - 120 * 24 * HOUR_MS).toISOString()}&granularity=hour`, 'from'],
    ['a date that is not one', 'from=last-week', 'from'],
    ['top of zero', 'top=0', 'top'],
    ['top beyond the bound', 'top=1000', 'top'],
    ['an unknown parameter', 'tenant=t-1', '(query)'],
  ])('refuses %s with 422 and the error body', async (_name, query, path) => {
    const response = await admin(`/admin/usage?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String) });
    expect(response.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });

  it('refuses the same on the tenant report, and answers tenants nothing', async () => {
    const reversed = await admin(`/admin/tenants/${alice.tenantId}/usage?from=${TO}&to=${FROM}`);
    expect([reversed.status, reversed.body.error.code]).toEqual([422, 'VALIDATION_FAILED']);
    const asTenant = await alice.call('GET', '/admin/usage');
    expect(asTenant.status).toBeGreaterThanOrEqual(401);
    expect(asTenant.status).toBeLessThanOrEqual(403);
  });
});

describe('GET /me/usage', () => {
  it("shows the tenant today's requests against its quota, and its cases, users and storage against its plan", async () => {
    const response = await alice.call('GET', '/me/usage');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    // Ingested in the previous hour: today's unless this runs in the first hour of a UTC day.
    const ingestedToday = FROM.startsWith(today) ? 40 : 0;
    expect(response.body).toMatchObject({ tenantId: alice.tenantId, tier: 'basic', day: today });
    expect(response.body.requests.used).toBeGreaterThanOrEqual(ingestedToday);
    expect(response.body.requests.limit).toBe(10_000);
    expect(response.body.requests.remaining).toBe(10_000 - response.body.requests.used);
    expect(response.body.activeCases).toEqual({ used: 2, limit: 1_000, remaining: 998 });
    expect(response.body.users).toEqual({ used: 1, limit: 5, remaining: 4 });
    const stored = storageOf.get(alice.tenantId)!;
    expect(response.body.storage).toEqual({ used: stored, limit: BYTES_PER_GB, remaining: BYTES_PER_GB - stored, measuredIn: PERIOD });
  });
});

describe('the usage broker, attacked as a compromised cell would', () => {
  const cellOf = (tenant: TestTenant) => env.platform.cells.find((cell) => cell.cellId === tenant.cellId)!;
  const apiFunctionCredentials = (tenant: TestTenant): AwsCredentialIdentity => sdkCredentials(env.platform.sessionFor(cellOf(tenant).roles.api));
  /** A tenant session minted from the cell's own API role, tagged with any tenant it likes. */
  const tenantSession = (cellOfCaller: TestTenant, taggedTenantId: string) => {
    const cell = cellOf(cellOfCaller);
    const sts = new STSClient({ region: env.platform.region, endpoint: env.platform.endpoints.sts, credentials: apiFunctionCredentials(cellOfCaller) });
    return new TenantTableProvider({ roleArn: cell.roles.tenantAccess, tableName: cell.tableName, sts }).credentialsFor(taggedTenantId);
  };
  const usageOf = async (credentials: AwsCredentialIdentity, tenantId: string) => {
    const url = new URL(`/broker/tenants/${tenantId}/usage`, env.platform.controlPlaneUrl);
    const signer = new SignatureV4({ service: 'execute-api', region: env.platform.region, credentials, sha256: Sha256 });
    const signed = await signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host },
    });
    const { host: _host, ...headers } = signed.headers;
    const response = await fetch(url, { headers });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const REFUSED_BY_IAM = { status: 403, body: { message: 'Forbidden' } };

  it("answers a tenant session its own tenant's figures (the control for the refusals below)", async () => {
    const own = await usageOf(await tenantSession(alice, alice.tenantId), alice.tenantId);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ tenantId: alice.tenantId, storageBytes: storageOf.get(alice.tenantId), storageMeasuredIn: PERIOD });
  });

  it("refuses another tenant's figures: IAM fences the path to the session's tenant", async () => {
    expect(await usageOf(await tenantSession(alice, alice.tenantId), bob.tenantId)).toEqual(REFUSED_BY_IAM);
  });

  it('refuses a session tagged with a tenant of another cell: the broker checks where the tenant is placed', async () => {
    const forged = await usageOf(await tenantSession(alice, carol.tenantId), carol.tenantId);
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('FORBIDDEN');
  });

  it("refuses the cell's function role itself: only a tenant session may call", async () => {
    expect(await usageOf(apiFunctionCredentials(alice), alice.tenantId)).toEqual(REFUSED_BY_IAM);
  });
});

describe('a tenant with usage in two cells in one hour (a move)', () => {
  it('has one continuous series, each period its cells summed, and pays for the hour once', async () => {
    const otherCell = dave.cellId === 'cell-1' ? 'cell-2' : 'cell-1';
    // Three requests served by the cell dave left, in the same hour, after its ten.
    const before = requests(dave, 13)
      .slice(10)
      .map((event) => ({ ...event, cellId: otherCell }));
    expect((await ingestUsage(ledgerTable(), before)).counted).toBe(3);
    const response = await admin(`/admin/tenants/${dave.tenantId}/usage?from=${FROM}&to=${TO}&granularity=hour`);
    expect(response.status).toBe(200);
    expect(response.body.series.map((point: { period: string; quantities: { apiRequests: number } }) => [point.period, point.quantities.apiRequests])).toEqual([[PERIOD, 13]]);
    expect(response.body.cells.map((cell: { cellId: string }) => cell.cellId).sort()).toEqual(['cell-1', 'cell-2']);
    // One hour of standard, $199 / 730 = $0.272603, split between the two cells' rows (each half rounded to the micro).
    const revenues = response.body.cells.map((cell: { economics: { revenue: { micros: number } } }) => cell.economics.revenue.micros);
    expect(response.body.economics.revenue.micros).toBe(revenues[0] + revenues[1]);
    expect(Math.abs(response.body.economics.revenue.micros - 272_603)).toBeLessThanOrEqual(1);
  });
});
