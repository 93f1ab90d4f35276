import { startLedgerFixture, type LedgerFixture } from '@cellbook/local/aws/usage-ledger.fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LedgerTable, ingestUsage, latencyBuckets, tenantUsage, usageInRange } from './ledger.js';
import type { GatewayOutcome, Quantities, UsageData, UsageEvent } from './usage-event.js';

let fixture: LedgerFixture;
beforeAll(async () => {
  fixture = await startLedgerFixture();
});
afterAll(async () => {
  await fixture?.close();
});

async function freshLedger(): Promise<LedgerTable> {
  return { doc: fixture.doc, tableName: await fixture.table() };
}

const NOW = new Date('2026-12-03T15:20:00.000Z');

function event(key: string, occurredAt: string, data: UsageData, overrides: Partial<UsageEvent> = {}): UsageEvent {
  return { tenantId: 't-1', cellId: 'cell-1', tier: 'basic', eventId: `ev-${key}`, idempotencyKey: key, occurredAt, actor: 'u-1', data, ...overrides };
}
const request = (key: string, occurredAt: string, quantities: Quantities = { apiRequests: 1 }, overrides: Partial<UsageEvent> = {}) =>
  event(key, occurredAt, { kind: 'request', route: 'GET /cases', status: 200, quantities }, overrides);
const gateway = (key: string, occurredAt: string, latencyMs: number, outcome: GatewayOutcome = 'integration', status = 200) =>
  event(key, occurredAt, { kind: 'gateway', route: 'GET /cases', status, latencyMs, outcome });

const hours = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });

describe('the usage ledger', () => {
  it('counts an event delivered three times — out of order, and a day late — once, in the hour it happened', async () => {
    const ledger = await freshLedger();
    const late = request('request:late', '2026-12-02T09:15:00.000Z', { apiRequests: 1, readUnits: 3 });
    const other = request('request:other', '2026-12-03T15:01:00.000Z');

    await ingestUsage(ledger, [other], NOW);
    const first = await ingestUsage(ledger, [late, other], NOW);
    const again = await ingestUsage(ledger, [late, late], NOW);

    expect(first).toEqual({ counted: 1, duplicates: 1, refused: [] });
    expect(again).toEqual({ counted: 0, duplicates: 2, refused: [] });
    const rows = await tenantUsage(ledger, 't-1', hours('2026-12-02T00:00:00Z', '2026-12-03T16:00:00Z'), 'hour');
    expect(rows.map((row) => [row.period, row.quantities.apiRequests, row.quantities.readUnits])).toEqual([
      ['2026-12-02T09', 1, 3],
      ['2026-12-03T15', 1, 0],
    ]);
    const days = await tenantUsage(ledger, 't-1', hours('2026-12-02T00:00:00Z', '2026-12-04T00:00:00Z'), 'day');
    expect(days.map((row) => [row.period, row.quantities.apiRequests])).toEqual([
      ['2026-12-02', 1],
      ['2026-12-03', 1],
    ]);
  });

  it('refuses usage older than the 35-day deduplication window, and from the future, and counts nothing of it', async () => {
    const ledger = await freshLedger();
    const result = await ingestUsage(
      ledger,
      [request('old', '2026-10-28T15:19:00.000Z'), request('future', '2026-12-03T15:40:00.000Z'), request('edge', '2026-10-29T15:21:00.000Z')],
      NOW,
    );
    expect(result.counted).toBe(1);
    expect(result.refused.map((refusal) => refusal.idempotencyKey)).toEqual(['old', 'future']);
    expect(result.refused[0]?.reason).toContain('35 days');
  });

  it('keeps a moved tenant’s hour whole: the rows of both cells add up to every request, none lost or doubled', async () => {
    const ledger = await freshLedger();
    const before = Array.from({ length: 7 }, (_, i) => request(`a${i}`, `2026-12-03T14:0${i}:00.000Z`));
    const after = Array.from({ length: 5 }, (_, i) => request(`b${i}`, `2026-12-03T14:3${i}:00.000Z`, { apiRequests: 1 }, { cellId: 'cell-2' }));
    // The old cell's last lines arrive after the new cell's first ones, and some twice.
    await ingestUsage(ledger, [...after, ...before.slice(3)], NOW);
    await ingestUsage(ledger, [...before, ...after.slice(0, 2)], NOW);

    const rows = await tenantUsage(ledger, 't-1', hours('2026-12-03T14:00:00Z', '2026-12-03T15:00:00Z'), 'hour');
    expect(rows.map((row) => [row.period, row.cellId, row.quantities.apiRequests])).toEqual([
      ['2026-12-03T14', 'cell-1', 7],
      ['2026-12-03T14', 'cell-2', 5],
    ]);
    const everyone = await usageInRange(ledger, hours('2026-12-03T14:00:00Z', '2026-12-03T15:00:00Z'), 'hour');
    expect(everyone.reduce((sum, row) => sum + row.quantities.apiRequests, 0)).toBe(12);
  });

  it('counts a batch larger than one transaction exactly, and all of it again as duplicates', async () => {
    const ledger = await freshLedger();
    const many = Array.from({ length: 250 }, (_, i) =>
      request(`m${i}`, `2026-12-03T1${i % 3}:1${i % 10}:00.000Z`, { apiRequests: 1, writeUnits: 2 }, { tenantId: `t-${(i % 4) + 1}` }),
    );
    expect(await ingestUsage(ledger, many, NOW)).toEqual({ counted: 250, duplicates: 0, refused: [] });
    expect(await ingestUsage(ledger, many, NOW)).toEqual({ counted: 0, duplicates: 250, refused: [] });
    const rows = await usageInRange(ledger, hours('2026-12-03T00:00:00Z', '2026-12-04T00:00:00Z'), 'day');
    expect(rows.reduce((sum, row) => sum + row.quantities.writeUnits, 0)).toBe(500);
    expect(new Set(rows.map((row) => row.tenantId))).toEqual(new Set(['t-1', 't-2', 't-3', 't-4']));
  });

  it('corrects with a new entry that names the one it corrects, never an edit; an unknown one is refused', async () => {
    const ledger = await freshLedger();
    await ingestUsage(ledger, [request('r1', '2026-12-03T10:00:00.000Z', { apiRequests: 1, exportBytes: 900 })], NOW);
    const correction = event('c1', '2026-12-03T10:00:00.000Z', { kind: 'correction', correctionOf: 'r1', reason: 'export counted twice', quantities: { exportBytes: -400 } });
    const unknown = event('c2', '2026-12-03T10:00:00.000Z', { kind: 'correction', correctionOf: 'nope', reason: 'typo', quantities: { apiRequests: -1 } });
    const result = await ingestUsage(ledger, [correction, unknown, correction], NOW);
    expect(result.counted).toBe(1);
    expect(result.duplicates).toBe(1);
    expect(result.refused).toEqual([{ idempotencyKey: 'c2', reason: 'it corrects nope, which the ledger does not hold' }]);
    const [row] = await tenantUsage(ledger, 't-1', hours('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z'), 'hour');
    expect(row?.quantities).toMatchObject({ apiRequests: 1, exportBytes: 500 });
  });

  it('keeps the hour’s snapshot of gauges, and the day’s mean of its snapshots', async () => {
    const ledger = await freshLedger();
    const snapshot = (hour: string, storageBytes: number) => event(`snapshot:t-1:${hour}`, `${hour}:00:05.000Z`, { kind: 'snapshot', gauges: { storageBytes, users: 2 } });
    await ingestUsage(ledger, [snapshot('2026-12-03T10', 1000), snapshot('2026-12-03T11', 3000), snapshot('2026-12-03T11', 9999)], NOW);
    const hourRows = await tenantUsage(ledger, 't-1', hours('2026-12-03T10:00:00Z', '2026-12-03T12:00:00Z'), 'hour');
    expect(hourRows.map((row) => row.gauges)).toEqual([
      { storageBytes: 1000, users: 2 },
      { storageBytes: 3000, users: 2 },
    ]);
    const [day] = await tenantUsage(ledger, 't-1', hours('2026-12-03T00:00:00Z', '2026-12-04T00:00:00Z'), 'day');
    expect(day?.gauges).toEqual({ storageBytes: 2000, users: 2 });
  });

  it('keeps the gateway’s view per hour and an exact latency histogram per 5 minutes', async () => {
    const ledger = await freshLedger();
    await ingestUsage(
      ledger,
      [
        gateway('g1', '2026-12-03T15:01:00.000Z', 12),
        gateway('g2', '2026-12-03T15:02:00.000Z', 12),
        gateway('g3', '2026-12-03T15:03:00.000Z', 340, 'integration', 502),
        gateway('g4', '2026-12-03T15:04:00.000Z', 1, 'throttled', 429),
        gateway('g5', '2026-12-03T15:06:00.000Z', 7),
        gateway('g1', '2026-12-03T15:01:00.000Z', 12),
      ],
      NOW,
    );
    const [hour] = await tenantUsage(ledger, 't-1', hours('2026-12-03T15:00:00Z', '2026-12-03T16:00:00Z'), 'hour');
    expect(hour?.gateway).toEqual({ requests: 5, integration: 4, throttled: 1, quota: 0, refused: 0, serverErrors: 1, slow: 0 });
    const buckets = await latencyBuckets(ledger, hours('2026-12-03T15:00:00Z', '2026-12-03T15:10:00Z'));
    expect(
      buckets.map((b) => ({
        start: b.start,
        requests: b.requests,
        answered: b.answered,
        errors: b.serverErrors,
        throttled: b.throttled,
        latencies: [...b.latencies].sort(([a], [b]) => a - b),
      })),
    ).toEqual([
      {
        start: '2026-12-03T15:00:00.000Z',
        requests: 4,
        answered: 3,
        errors: 1,
        throttled: 1,
        latencies: [
          [12, 2],
          [340, 1],
        ],
      },
      { start: '2026-12-03T15:05:00.000Z', requests: 1, answered: 1, errors: 0, throttled: 0, latencies: [[7, 1]] },
    ]);
  });

  it('lists every tenant of a range from the index, and nothing outside it', async () => {
    const ledger = await freshLedger();
    await ingestUsage(
      ledger,
      [
        request('in-1', '2026-12-02T23:59:59.000Z', { apiRequests: 1 }, { tenantId: 't-1' }),
        request('in-2', '2026-12-03T00:00:00.000Z', { apiRequests: 1 }, { tenantId: 't-10' }),
        request('out', '2026-12-03T01:00:00.000Z', { apiRequests: 1 }, { tenantId: 't-2' }),
      ],
      NOW,
    );
    const rows = await usageInRange(ledger, hours('2026-12-02T23:00:00Z', '2026-12-03T01:00:00Z'), 'hour');
    expect(rows.map((row) => [row.tenantId, row.period]).sort()).toEqual([
      ['t-1', '2026-12-02T23'],
      ['t-10', '2026-12-03T00'],
    ]);
  });
});

describe('a batch with an event the table refuses', () => {
  it('counts every other event of the batch and refuses that one alone', async () => {
    const written: string[] = [];
    // A table that cancels any transaction holding the entry of `request:poison`, as DynamoDB does
    // for an item it cannot take (ValidationError), and commits the others.
    const doc = {
      send: async (command: { input: { TransactItems: { Put?: { Item: { SK: string } } }[] } }) => {
        const items = command.input.TransactItems;
        const reasons = items.map((item) => ({ Code: item.Put?.Item.SK === 'ENTRY#request:poison' ? 'ValidationError' : 'None' }));
        if (reasons.some((reason) => reason.Code !== 'None')) {
          throw Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: reasons });
        }
        for (const item of items) if (item.Put) written.push(item.Put.Item.SK);
        return {};
      },
    } as unknown as LedgerTable['doc'];
    const events = ['a', 'b', 'poison', 'c', 'd'].map((id) => request(`request:${id}`, '2026-12-03T15:00:00.000Z'));
    const result = await ingestUsage({ doc, tableName: 'usage' }, events, NOW);
    expect(result.counted).toBe(4);
    expect(result.refused).toEqual([{ idempotencyKey: 'request:poison', reason: "the ledger's table refused it (ValidationError)" }]);
    expect(written.sort()).toEqual(['ENTRY#request:a', 'ENTRY#request:b', 'ENTRY#request:c', 'ENTRY#request:d']);
  });
});

describe("the ledger's count of slow requests", () => {
  it("counts, per hour and day, the answered requests over their tier's p99 target (basic: 2,000 ms), and no throttled one", async () => {
    const ledger = await freshLedger();
    await ingestUsage(
      ledger,
      [
        gateway('s1', '2026-12-03T15:01:00.000Z', 2_000),
        gateway('s2', '2026-12-03T15:02:00.000Z', 2_001),
        gateway('s3', '2026-12-03T15:03:00.000Z', 9_000, 'integration', 504),
        gateway('s4', '2026-12-03T15:04:00.000Z', 9_000, 'throttled', 429),
      ],
      NOW,
    );
    const [hour] = await tenantUsage(ledger, 't-1', hours('2026-12-03T15:00:00Z', '2026-12-03T16:00:00Z'), 'hour');
    const [day] = await tenantUsage(ledger, 't-1', hours('2026-12-03T00:00:00Z', '2026-12-04T00:00:00Z'), 'day');
    expect(hour?.gateway.slow).toBe(2);
    expect(day?.gateway.slow).toBe(2);
  });
});
