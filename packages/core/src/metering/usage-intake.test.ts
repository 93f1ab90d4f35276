import { describe, expect, it } from 'vitest';
import { requestUsageEvent } from './meter.js';
import { admitUsage, cellOfUsageSubscription, readUsageLine, usageSubscriptionName, type TenantPlacement } from './usage-intake.js';
import { type Quantities, usageLogLine, type UsageEvent } from './usage-event.js';

const requestEvent = (overrides: { tenantId?: string; cellId?: string; requestId?: string; occurredAt?: string; quantities?: Quantities } = {}) =>
  requestUsageEvent({
    tenant: { tenantId: overrides.tenantId ?? 'acme-1a2b', cellId: overrides.cellId ?? 'cell-1', tier: 'basic', username: 'ann' },
    requestId: overrides.requestId ?? 'r-1',
    route: 'GET /cases',
    status: 200,
    occurredAt: new Date(overrides.occurredAt ?? '2026-12-03T13:00:00Z'),
    quantities: overrides.quantities ?? { apiRequests: 1, readUnits: 1 },
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

  it('refuses a line claiming more than one request can consume, or other than one API call, or consumption outside a request', () => {
    for (const quantities of [
      { apiRequests: 1, readUnits: 10_001 },
      { apiRequests: 1, functionGbMs: 9e15 },
      { apiRequests: 1, casesCreated: 2 },
      { apiRequests: 1, exportBytes: 1 },
      { apiRequests: 1_000 },
      { readUnits: 1 },
    ]) {
      expect(readUsageLine(usageLogLine(requestEvent({ quantities })), 'cell-1'), JSON.stringify(quantities)).toMatchObject({ outcome: 'refused' });
    }
    const consumption = { ...requestEvent(), data: { kind: 'consumption' as const, quantities: { exportBytes: 10 } } };
    expect(readUsageLine(usageLogLine(consumption), 'cell-1')).toMatchObject({ outcome: 'refused' });
    expect(readUsageLine(usageLogLine(requestEvent({ quantities: { apiRequests: 1, readUnits: 10_000, functionGbMs: 300_000 } })), 'cell-1')).toMatchObject({
      outcome: 'event',
    });
  });

  it("refuses a request line naming a route the cell's route table does not have", () => {
    const routes = new Set(['GET /cases', 'POST /cases']);
    expect(readUsageLine(usageLogLine(requestEvent()), 'cell-1', routes)).toMatchObject({ outcome: 'event' });
    const invented = { ...requestEvent(), data: { ...requestEvent().data, route: 'GET /x'.padEnd(190, 'x') } };
    expect(readUsageLine(usageLogLine(invented), 'cell-1', routes)).toMatchObject({ outcome: 'refused' });
  });

  it('refuses what is not JSON, not an object, or not a usage event', () => {
    for (const message of ['plain text', '[1]', JSON.stringify({ type: 'cellbook.usage', usage: { tenantId: 'x' } })]) {
      expect(readUsageLine(message, 'cell-1'), message).toMatchObject({ outcome: 'refused' });
    }
  });
});

describe('admitUsage', () => {
  const placements: Record<string, TenantPlacement> = {
    'acme-1a2b': { cellId: 'cell-1', tier: 'basic' },
    'moved-3c4d': { cellId: 'cell-2', tier: 'standard', previousCellId: 'cell-1', previousCellUntil: '2026-12-03T13:30:00Z' },
    'left-long-ago': { cellId: 'cell-2', tier: 'basic', previousCellId: 'cell-1', previousCellUntil: '2026-11-01T00:00:00Z' },
    'other-7a8b': { cellId: 'cell-2', tier: 'basic' },
    'probe-cell-1': { cellId: 'cell-1', tier: 'basic', synthetic: true },
  };
  const lookups: string[] = [];
  const placementOf = async (tenantId: string) => {
    lookups.push(tenantId);
    return placements[tenantId];
  };

  it("keeps the events of the cell's tenants — placed there now, or before they moved away — and refuses another cell's tenant's and an unknown tenant's", async () => {
    const events = ['acme-1a2b', 'moved-3c4d', 'left-long-ago', 'other-7a8b', 'ghost-9z9z'].map((tenantId) => requestEvent({ tenantId, requestId: tenantId }));
    const admission = await admitUsage('cell-1', events, placementOf);
    expect(admission.admitted.map((event) => event.tenantId)).toEqual(['acme-1a2b', 'moved-3c4d']);
    expect(admission.refused).toEqual([
      { tenantId: 'left-long-ago', idempotencyKey: 'request:left-long-ago', reason: 'tenant is not placed in cell cell-1' },
      { tenantId: 'other-7a8b', idempotencyKey: 'request:other-7a8b', reason: 'tenant is not placed in cell cell-1' },
      { tenantId: 'ghost-9z9z', idempotencyKey: 'request:ghost-9z9z', reason: 'no such tenant' },
    ]);
  });

  it('lets the cell a tenant left report only what happened before it left (and a grace of 5 minutes)', async () => {
    const at = (occurredAt: string) => requestEvent({ tenantId: 'moved-3c4d', requestId: occurredAt, occurredAt });
    const admission = await admitUsage('cell-1', [at('2026-12-03T13:29:59Z'), at('2026-12-03T13:35:00Z'), at('2026-12-03T13:35:01Z')], placementOf);
    expect(admission.admitted.map((event) => event.occurredAt)).toEqual(['2026-12-03T13:29:59.000Z', '2026-12-03T13:35:00.000Z']);
    expect(admission.refused.map((refusal) => refusal.idempotencyKey)).toEqual(['request:2026-12-03T13:35:01Z']);
  });

  it("counts admitted usage under the registry's tier, whatever tier the line claims", async () => {
    const admission = await admitUsage('cell-1', [requestEvent({ tenantId: 'moved-3c4d' })], placementOf);
    expect(admission.admitted[0]?.tier).toBe('standard');
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
