import { documentClient } from '@cellbook/core/shared/dynamo';
import { type LedgerTable, tenantUsage, type UsageRow } from '@cellbook/core/metering/ledger';
import { requestUsageEvent } from '@cellbook/core/metering/meter';
import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { usageLogLine } from '@cellbook/core/metering/usage-event';
import { awslogsEvent } from '@cellbook/local/aws/log-subscriptions';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { controlRoleArn } from '@cellbook/local/roles/control-roles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, twoPooledCells, type TestPlatform, type TestTenant } from '../support/platform.js';

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

beforeAll(async () => {
  // One slot per cell: the two tenants land in different cells. Batches linger far longer than the
  // spec runs: only usageDelivered() sends them.
  env = await bootTestPlatform({ cells: twoPooledCells(1), logDelivery: { lingerMs: 600_000, batchSize: 1_000 } });
  tenantA = await env.onboard('standard');
  tenantB = await env.onboard('standard');
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

/** The hours (`2026-12-03T14`) the spec's requests ran in. */
const hoursSince = (from: number) => {
  const hours = new Set<string>();
  for (let at = Math.floor(from / HOUR_MS) * HOUR_MS; at <= Date.now(); at += HOUR_MS) hours.add(new Date(at).toISOString().slice(0, 13));
  return hours;
};

/** The usage lines a tenant's requests left in its cell's function log. */
const usageLinesOf = (tenantId: string) =>
  env.logs.filter(({ line }) => line.includes('"type":"cellbook.usage"') && line.includes(`"tenantId":"${tenantId}"`)).map(({ source, line }) => ({ source, line }));

describe('metering pipeline', () => {
  it("meters every request a tenant's function answered, and the gateway's count of them, into the hour they ran in", async () => {
    expect(tenantA.cellId).not.toBe(tenantB.cellId);
    const from = Date.now();
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
    for (const row of rows) expect(row).toMatchObject({ tenantId: tenantA.tenantId, cellId: tenantA.cellId, tier: 'standard' });
    const hours = hoursSince(from);
    for (const row of rows) expect(hours.has(row.period), row.period).toBe(true);
    expect(total(rows, (row) => row.quantities.apiRequests)).toBe(requests);
    expect(total(rows, (row) => row.quantities.casesCreated)).toBe(3);
    expect(total(rows, (row) => row.quantities.notesCreated)).toBe(2);
    expect(total(rows, (row) => row.quantities.readUnits)).toBeGreaterThan(0);
    expect(total(rows, (row) => row.quantities.writeUnits)).toBeGreaterThan(0);
    expect(total(rows, (row) => row.quantities.functionGbMs)).toBeGreaterThanOrEqual(requests);
    expect(total(rows, (row) => row.gateway.integration)).toBe(requests);
    expect(total(rows, (row) => row.gateway.requests)).toBe(requests);
    expect(env.platform.logDeliveryFailures).toEqual([]);
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
          tenant: { tenantId: tenantB.tenantId, cellId, tier: 'standard', username: 'mallory' },
          requestId,
          route: 'GET /cases',
          status: 200,
          occurredAt: new Date(),
          quantities: { apiRequests: 1000 },
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
});
