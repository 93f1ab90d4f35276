import { describe, expect, it } from 'vitest';
import { requestUsageEvent } from './meter.js';
import { admitUsage, cellOfUsageSubscription, readUsageLine, usageSubscriptionName, type TenantPlacement } from './usage-intake.js';
import { usageLogLine, type UsageEvent } from './usage-event.js';

const requestEvent = (overrides: { tenantId?: string; cellId?: string; requestId?: string } = {}) =>
  requestUsageEvent({
    tenant: { tenantId: overrides.tenantId ?? 'acme-1a2b', cellId: overrides.cellId ?? 'cell-1', tier: 'basic', username: 'ann' },
    requestId: overrides.requestId ?? 'r-1',
    route: 'GET /cases',
    status: 200,
    occurredAt: new Date('2026-12-03T13:00:00Z'),
    quantities: { apiRequests: 1, readUnits: 1 },
  });

const accessRecord = {
  requestId: 'r-1',
  requestTimeEpoch: Date.parse('2026-12-03T13:00:00Z'),
  httpMethod: 'GET',
  resourcePath: '/cases',
  status: 200,
  responseLatency: 12,
  tenantId: 'acme-1a2b',
  cellId: 'cell-1',
  tier: 'basic',
  errorType: '-',
};

describe('usage subscriptions', () => {
  it('name the cell they deliver for, and only a well-formed cell', () => {
    expect(usageSubscriptionName('cell-7')).toBe('cellbook-usage-cell-7');
    expect(cellOfUsageSubscription(usageSubscriptionName('cell-7'))).toBe('cell-7');
    for (const name of ['cellbook-usage-', 'audit-cell-7', 'cellbook-usage-CELL#1', 'cellbook-usage-cell-7/x']) expect(cellOfUsageSubscription(name), name).toBeUndefined();
    expect(() => usageSubscriptionName('Cell 7')).toThrow();
  });
});

describe('readUsageLine', () => {
  it("takes a function's usage line of this cell", () => {
    const event = requestEvent();
    expect(readUsageLine(usageLogLine(event), 'cell-1')).toEqual({ outcome: 'event', event });
  });

  it("takes an access log record as the gateway's observation of this cell", () => {
    const line = readUsageLine(JSON.stringify(accessRecord), 'cell-1');
    expect(line).toMatchObject({ outcome: 'event', event: { idempotencyKey: 'gateway:r-1', cellId: 'cell-1', data: { kind: 'gateway', outcome: 'integration' } } });
  });

  it('ignores an access log record that names no tenant', () => {
    expect(readUsageLine(JSON.stringify({ ...accessRecord, tenantId: '-' }), 'cell-1')).toMatchObject({ outcome: 'ignored' });
  });

  it('refuses a usage line that names another cell', () => {
    expect(readUsageLine(usageLogLine(requestEvent({ cellId: 'cell-2' })), 'cell-1')).toMatchObject({
      outcome: 'refused',
      tenantId: 'acme-1a2b',
      idempotencyKey: 'request:r-1',
    });
  });

  it("refuses a usage line claiming what only the gateway or the control plane may say (a gateway observation, a snapshot, a correction), or a gateway record's key", () => {
    const base = requestEvent();
    const forged: UsageEvent[] = [
      { ...base, data: { kind: 'gateway', route: 'GET /cases', status: 200, latencyMs: 1, outcome: 'integration' } },
      { ...base, data: { kind: 'snapshot', gauges: { activeCases: 1 } } },
      { ...base, data: { kind: 'correction', correctionOf: 'request:r-0', reason: 'x', quantities: { apiRequests: -1 } } },
      { ...base, idempotencyKey: 'gateway:r-1' },
    ];
    for (const event of forged) expect(readUsageLine(usageLogLine(event), 'cell-1'), JSON.stringify(event.data)).toMatchObject({ outcome: 'refused' });
  });

  it('refuses what is not JSON, not an object, or not a usage event', () => {
    for (const message of ['plain text', '[1]', JSON.stringify({ type: 'cellbook.usage', usage: { tenantId: 'x' } })]) {
      expect(readUsageLine(message, 'cell-1'), message).toMatchObject({ outcome: 'refused' });
    }
  });
});

describe('admitUsage', () => {
  const placements: Record<string, TenantPlacement> = {
    'acme-1a2b': { cellId: 'cell-1' },
    'moved-3c4d': { cellId: 'cell-2', previousCellId: 'cell-1' },
    'moving-5e6f': { cellId: 'cell-1', move: { fromCellId: 'cell-1' } },
    'other-7a8b': { cellId: 'cell-2' },
    'probe-cell-1': { cellId: 'cell-1', synthetic: true },
  };
  const lookups: string[] = [];
  const placementOf = async (tenantId: string) => {
    lookups.push(tenantId);
    return placements[tenantId];
  };

  it("keeps the events of the cell's tenants — placed there now or before their last move — and refuses another cell's tenant's and an unknown tenant's", async () => {
    const events = ['acme-1a2b', 'moved-3c4d', 'moving-5e6f', 'other-7a8b', 'ghost-9z9z'].map((tenantId) => requestEvent({ tenantId, requestId: tenantId }));
    const admission = await admitUsage('cell-1', events, placementOf);
    expect(admission.admitted.map((event) => event.tenantId)).toEqual(['acme-1a2b', 'moved-3c4d', 'moving-5e6f']);
    expect(admission.refused).toEqual([
      { tenantId: 'other-7a8b', idempotencyKey: 'request:other-7a8b', reason: 'tenant is not placed in cell cell-1' },
      { tenantId: 'ghost-9z9z', idempotencyKey: 'request:ghost-9z9z', reason: 'no such tenant' },
    ]);
  });

  it('leaves synthetic probe tenants out of the ledger', async () => {
    const admission = await admitUsage('cell-1', [requestEvent({ tenantId: 'probe-cell-1' })], placementOf);
    expect(admission).toEqual({ admitted: [], refused: [], synthetic: 1 });
  });

  it("reads each tenant's placement once per delivery", async () => {
    lookups.length = 0;
    await admitUsage(
      'cell-1',
      [1, 2, 3].map((n) => requestEvent({ requestId: `r-${n}` })),
      placementOf,
    );
    expect(lookups).toEqual(['acme-1a2b']);
  });
});
