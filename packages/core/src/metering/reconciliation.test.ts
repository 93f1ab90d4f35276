import { startLedgerFixture, type LedgerFixture } from '@cellbook/local/aws/usage-ledger.fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestUsage } from './ledger.js';
import { reconcileUsage } from './reconciliation.js';
import type { GatewayOutcome, UsageEvent } from './usage-event.js';

let fixture: LedgerFixture;
beforeAll(async () => {
  fixture = await startLedgerFixture();
});
afterAll(async () => {
  await fixture?.close();
});

const NOW = new Date('2026-12-03T15:20:00.000Z');
const base = { tier: 'standard' as const, actor: 'u-1' };

/** One request as both writers record it: the function's usage line (unless it was lost) and the gateway's log record. */
function traffic(tenantId: string, cellId: string, id: string, at: string, outcome: GatewayOutcome, metered = outcome === 'integration'): UsageEvent[] {
  const status = outcome === 'integration' ? 200 : outcome === 'refused' ? 403 : 429;
  const events: UsageEvent[] = [
    {
      ...base,
      tenantId,
      cellId,
      eventId: `g-${id}`,
      idempotencyKey: `gateway:${id}`,
      occurredAt: at,
      data: { kind: 'gateway', route: 'GET /cases', status, latencyMs: 9, outcome },
    },
  ];
  if (metered) {
    events.push({
      ...base,
      tenantId,
      cellId,
      eventId: `r-${id}`,
      idempotencyKey: `request:${id}`,
      occurredAt: at,
      data: { kind: 'request', route: 'GET /cases', status, quantities: { apiRequests: 1 } },
    });
  }
  return events;
}

const range = { from: new Date('2026-12-03T13:00:00Z'), to: new Date('2026-12-03T15:00:00Z') };

describe('usage reconciliation', () => {
  it('balances mixed traffic — answered, throttled, over quota, refused, across a move — to zero difference', async () => {
    const ledger = { doc: fixture.doc, tableName: await fixture.table() };
    const outcomes: GatewayOutcome[] = ['integration', 'integration', 'throttled', 'integration', 'quota', 'refused', 'integration'];
    const events = outcomes.flatMap((outcome, i) => [
      ...traffic('t-1', i < 4 ? 'cell-1' : 'cell-2', `a${i}`, `2026-12-03T13:${10 + i}:00.000Z`, outcome),
      ...traffic('t-2', 'cell-1', `b${i}`, `2026-12-03T14:${10 + i}:00.000Z`, outcome),
    ]);
    await ingestUsage(ledger, events, NOW);

    const report = await reconcileUsage(ledger, range);
    expect(report).toMatchObject({ tenants: 2, tenantHours: 2, metered: 8, answered: 8, notForwarded: 6, differences: [] });
  });

  it('finds a planted difference: a request a function answered but never metered, and one metered twice under two keys', async () => {
    const ledger = { doc: fixture.doc, tableName: await fixture.table() };
    await ingestUsage(
      ledger,
      [
        ...traffic('t-1', 'cell-1', 'ok', '2026-12-03T13:05:00.000Z', 'integration'),
        ...traffic('t-1', 'cell-1', 'lost', '2026-12-03T13:06:00.000Z', 'integration', false),
        ...traffic('t-2', 'cell-1', 'twice', '2026-12-03T14:06:00.000Z', 'integration'),
        ...traffic('t-2', 'cell-1', 'twice', '2026-12-03T14:06:00.000Z', 'integration')
          .map((event) => ({ ...event, idempotencyKey: `${event.idempotencyKey}-again` }))
          .slice(1),
      ],
      NOW,
    );

    const report = await reconcileUsage(ledger, range);
    expect(report.differences).toEqual([
      { tenantId: 't-1', hour: '2026-12-03T13', cells: ['cell-1'], metered: 1, answered: 2, difference: -1, sameRequests: false, notForwarded: 0 },
      { tenantId: 't-2', hour: '2026-12-03T14', cells: ['cell-1'], metered: 2, answered: 1, difference: 1, sameRequests: false, notForwarded: 0 },
    ]);
  });

  it('finds errors that cancel out in the count: one request never metered, another metered twice', async () => {
    const ledger = { doc: fixture.doc, tableName: await fixture.table() };
    const [lostGateway] = traffic('t-1', 'cell-1', 'lost', '2026-12-03T13:05:00.000Z', 'integration', false);
    const twice = traffic('t-1', 'cell-1', 'twice', '2026-12-03T13:06:00.000Z', 'integration');
    const forged = { ...twice[1]!, idempotencyKey: 'request:twice-again' };
    await ingestUsage(ledger, [lostGateway!, ...twice, forged], NOW);

    const report = await reconcileUsage(ledger, range);
    expect(report.differences).toEqual([
      { tenantId: 't-1', hour: '2026-12-03T13', cells: ['cell-1'], metered: 2, answered: 2, difference: 0, sameRequests: false, notForwarded: 0 },
    ]);
  });
});
