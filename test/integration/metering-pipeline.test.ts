import { documentClient } from '@cellbook/core/shared/dynamo';
import { hourOf, type LedgerTable, tenantUsage, type UsageRow } from '@cellbook/core/metering/ledger';
import { requestUsageEvent } from '@cellbook/core/metering/meter';
import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { usageLogLine } from '@cellbook/core/metering/usage-event';
import { awslogsEvent } from '@cellbook/local/aws/log-subscriptions';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { controlRoleArn } from '@cellbook/local/roles/control-roles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FIELDS } from '../../stacks/constructs/rest-api.js';
import { bootTestPlatform, ManualClock, twoPooledCells, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * The metering pipeline end to end (DESIGN §10), through real HTTP: each request a tenant's function
 * answers leaves one usage line in the cell's function log, the gateway one access log record; the
 * cell's log subscriptions deliver both to control/usage-ingest, which counts them in the ledger once
 * per idempotency key, and refuses what a cell reports about a tenant it does not serve.
 */
const HOUR_MS = 3_600_000;
let env: TestPlatform;
let tenantA: TestTenant;
let tenantB: TestTenant;
let ledger: LedgerTable;
let startedAt: number;
/** The gateway's clock, standing still: every request is received in the same hour, and no usage plan refills. */
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  // One slot per cell: the two tenants land in different cells; the second cell runs unmetered
  // (METERING=off). Batches linger far longer than the spec runs: only usageDelivered() sends them.
  env = await bootTestPlatform({
    cells: twoPooledCells(1),
    gatewayClock: clock.now,
    logDelivery: { lingerMs: 600_000, batchSize: 1_000 },
    meteringOffCells: ['cell-2'],
  });
  // Basic: a burst of 20 requests, then the usage plan throttles (the clock never refills it).
  tenantA = await env.onboard('basic');
  tenantB = await env.onboard('standard');
  if (tenantA.cellId !== 'cell-1') throw new Error(`the first tenant was placed in ${tenantA.cellId}, not in the first wave's cell`);
  // Operator reads of the ledger, under the identity the usage APIs run as.
  const session = env.platform.sessionFor(controlRoleArn('cellbook-local', 'usage-read'));
  ledger = {
    doc: documentClient({ region: env.platform.region, endpoint: env.platform.endpoints.dynamodb, credentials: sdkCredentials(session) }),
    tableName: env.platform.controlFunctionEnv('control/usage-ingest').USAGE_TABLE!,
  };
  startedAt = Date.now();
}, 120_000);
afterAll(() => env?.stop());

/** The tenant's hourly rows from an hour before the spec started to an hour from now. */
const rowsOf = (tenantId: string): Promise<UsageRow[]> =>
  tenantUsage(ledger, tenantId, { from: new Date(Math.floor(startedAt / HOUR_MS) * HOUR_MS - HOUR_MS), to: new Date(Date.now() + HOUR_MS) }, 'hour');

const total = (rows: readonly UsageRow[], read: (row: UsageRow) => number) => rows.reduce((sum, row) => sum + read(row), 0);

/** The usage lines a tenant's requests left in its cell's function log. */
const usageLinesOf = (tenantId: string) =>
  env.logs.filter(({ line }) => line.includes('"type":"cellbook.usage"') && line.includes(`"tenantId":"${tenantId}"`)).map(({ source, line }) => ({ source, line }));

describe('metering pipeline', () => {
  it("meters every request a tenant's function answered, and the gateway's count of them, into the hour they ran in", async () => {
    expect(tenantA.cellId).not.toBe(tenantB.cellId);
    const cases: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await tenantA.call('POST', '/cases', { body: { title: `Case ${i}`, priority: 'low' } });
      expect(created.status).toBe(201);
      cases.push(created.body.caseId);
    }
    for (const caseId of cases.slice(0, 2)) expect((await tenantA.call('POST', `/cases/${caseId}/notes`, { body: { body: 'a note' } })).status).toBe(201);
    expect((await tenantA.call('GET', '/cases')).status).toBe(200);
    expect((await tenantA.call('GET', `/cases/${cases[0]}`)).status).toBe(200);
    // A client mistake is a request the function answered too.
    expect((await tenantA.call('GET', '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    const requests = 8;

    await env.platform.usageDelivered();
    const rows = await rowsOf(tenantA.tenantId);
    expect(rows.length).toBeGreaterThan(0);
    // The hour the gateway received the requests in (its clock stands still), in the tenant's cell and tier.
    expect(rows.map((row) => [row.period, row.cellId, row.tier])).toEqual([[hourOf(new Date(clock.ms)), tenantA.cellId, 'basic']]);
    expect(total(rows, (row) => row.quantities.apiRequests)).toBe(requests);
    expect(total(rows, (row) => row.quantities.casesCreated)).toBe(3);
    expect(total(rows, (row) => row.quantities.notesCreated)).toBe(2);
    expect(total(rows, (row) => row.quantities.readUnits)).toBeGreaterThan(0);
    expect(total(rows, (row) => row.quantities.writeUnits)).toBeGreaterThan(0);
    expect(total(rows, (row) => row.quantities.functionGbMs)).toBeGreaterThanOrEqual(requests);
    expect(total(rows, (row) => row.gateway.integration)).toBe(requests);
    expect(total(rows, (row) => row.gateway.requests)).toBe(requests);
    // API requests by route, as the cell's route table names them.
    expect(rows[0]!.routes).toEqual({ 'POST /cases': 3, 'POST /cases/{caseId}/notes': 2, 'GET /cases': 1, 'GET /cases/{caseId}': 2 });
    expect(env.platform.logDeliveryFailures).toEqual([]);
  });

  it("writes the cell's access log with the Cell stack's field names, so one reader reads both worlds' records", () => {
    const records = env.logs.filter(({ source }) => source === `cellbook-local-${tenantA.cellId}-gateway`).map(({ line }) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(0);
    // The local record names its API too (AWS's log group is the API's own).
    for (const record of records) expect(Object.keys(record).sort()).toEqual([...Object.keys(ACCESS_LOG_FIELDS), 'apiId'].sort());
    expect(records.filter((record) => record.tenantId === tenantA.tenantId)[0]).toMatchObject({ cellId: tenantA.cellId, tier: 'basic', errorType: '-' });
  });

  it('counts a usage line delivered again once', async () => {
    await env.platform.usageDelivered();
    const before = await rowsOf(tenantA.tenantId);
    const lines = usageLinesOf(tenantA.tenantId);
    expect(lines.length).toBeGreaterThan(0);
    const summary = await env.platform.invokeControl(
      'control/usage-ingest',
      awslogsEvent({
        logGroup: lines[0]!.source,
        logStream: 'redelivery',
        filterName: usageSubscriptionName(tenantA.cellId),
        events: lines.map(({ line }, index) => ({ id: String(index), timestamp: Date.now(), message: line })),
      }),
    );
    expect(summary).toMatchObject({ cellId: tenantA.cellId, lines: lines.length, counted: 0, duplicates: lines.length, refused: 0 });
    expect(await rowsOf(tenantA.tenantId)).toEqual(before);
  });

  it("refuses what a cell reports about another cell's tenant, or in another cell's name", async () => {
    await env.platform.usageDelivered();
    const before = await rowsOf(tenantB.tenantId);
    const forged = (cellId: string, requestId: string) =>
      usageLogLine(
        requestUsageEvent({
          tenant: { tenantId: tenantB.tenantId, cellId, tier: tenantB.tier, username: 'mallory' },
          requestId,
          route: 'GET /cases',
          status: 200,
          occurredAt: new Date(),
          quantities: { apiRequests: 1, readUnits: 9_000 },
        }),
      );
    const summary = await env.platform.invokeControl(
      'control/usage-ingest',
      awslogsEvent({
        logGroup: `cellbook-local-${tenantA.cellId}-api`,
        logStream: 'forged',
        filterName: usageSubscriptionName(tenantA.cellId),
        events: [
          // Cell A metering cell B's tenant as its own…
          { id: '1', timestamp: Date.now(), message: forged(tenantA.cellId, 'forged-1') },
          // …or in cell B's name.
          { id: '2', timestamp: Date.now(), message: forged(tenantB.cellId, 'forged-2') },
        ],
      }),
    );
    expect(summary).toMatchObject({ cellId: tenantA.cellId, lines: 2, counted: 0, refused: 2 });
    expect(await rowsOf(tenantB.tenantId)).toEqual(before);
    // The same line is cell B's to report.
    const own = await env.platform.invokeControl(
      'control/usage-ingest',
      awslogsEvent({
        logGroup: `cellbook-local-${tenantB.cellId}-api`,
        logStream: 'own',
        filterName: usageSubscriptionName(tenantB.cellId),
        events: [{ id: '3', timestamp: Date.now(), message: forged(tenantB.cellId, 'own-1') }],
      }),
    );
    expect(own).toMatchObject({ counted: 1, refused: 0 });
  });

  it('writes no usage line in a cell running with METERING=off, while its gateway still logs every request', async () => {
    expect(tenantB.cellId).toBe('cell-2');
    await env.platform.usageDelivered();
    const before = await rowsOf(tenantB.tenantId);
    const linesBefore = usageLinesOf(tenantB.tenantId).length;
    for (let i = 0; i < 3; i += 1) expect((await tenantB.call('GET', '/cases')).status).toBe(200);
    await env.platform.usageDelivered();
    const rows = await rowsOf(tenantB.tenantId);
    expect(usageLinesOf(tenantB.tenantId)).toHaveLength(linesBefore);
    expect(total(rows, (row) => row.quantities.apiRequests)).toBe(total(before, (row) => row.quantities.apiRequests));
    expect(total(rows, (row) => row.gateway.integration)).toBe(total(before, (row) => row.gateway.integration) + 3);
  });

  it("counts a request the usage plan throttled as the gateway's, never as a metered API request", async () => {
    await env.platform.usageDelivered();
    const before = await rowsOf(tenantA.tenantId);
    const statuses: number[] = [];
    // The burst is spent within these (the first spec used some of it): every request after the first 429 is one too.
    for (let i = 0; i < 25; i += 1) statuses.push((await tenantA.call('GET', '/cases')).status);
    const throttled = statuses.filter((status) => status === 429).length;
    expect(throttled).toBeGreaterThan(0);
    expect(statuses.slice(statuses.indexOf(429)).every((status) => status === 429)).toBe(true);
    await env.platform.usageDelivered();
    const after = await rowsOf(tenantA.tenantId);
    const delta = (read: (row: UsageRow) => number) => total(after, read) - total(before, read);
    expect(delta((row) => row.gateway.throttled)).toBe(throttled);
    expect(delta((row) => row.gateway.integration)).toBe(statuses.length - throttled);
    expect(delta((row) => row.gateway.requests)).toBe(statuses.length);
    expect(delta((row) => row.quantities.apiRequests)).toBe(statuses.length - throttled);
  });
});
