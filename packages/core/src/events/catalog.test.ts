import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CONTROL_PLANE_SOURCE, EVENT_CATALOG, parseTenantEvent, rulePattern, type EventName } from './catalog.js';
import { publishTenantEvent } from './events.js';

const moveRequested = {
  tenantId: 'acme-7',
  cellId: 'cell-1',
  tier: 'standard',
  eventId: '5d6f1c9e-4b8a-4e8e-9a53-0c1f2d3e4f5a',
  idempotencyKey: 'TenantMoveRequested#01J0000000000000000000000M',
  occurredAt: '2026-12-03T10:00:00.000Z',
  actor: 'operator@example.com',
  data: { moveId: '01J0000000000000000000000M', fromCellId: 'cell-1', toCellId: 'cell-2' },
};
const delivered = (detail: unknown, detailType = 'TenantMoveRequested', source = CONTROL_PLANE_SOURCE) => ({ source, 'detail-type': detailType, detail });

describe('the event catalog', () => {
  it('builds a rule pattern of exactly the named events, from their declared sources', () => {
    expect(rulePattern('TenantMoveRequested')).toEqual({ source: ['cellbook.control'], 'detail-type': ['TenantMoveRequested'] });
    expect(rulePattern('TenantMoved', 'TenantOffboarded')).toEqual({ source: ['cellbook.control'], 'detail-type': ['TenantMoved', 'TenantOffboarded'] });
  });

  it('gives every event a Cellbook source', () => {
    for (const name of Object.keys(EVENT_CATALOG) as EventName[]) expect(EVENT_CATALOG[name].source).toMatch(/^cellbook\./);
  });
});

describe('parseTenantEvent', () => {
  it('returns the typed detail of a well-formed event', () => {
    const detail = parseTenantEvent('TenantMoveRequested', delivered(moveRequested));
    expect(detail).toEqual(moveRequested);
    expect(detail.data.toCellId).toBe('cell-2');
  });

  it('refuses another detail-type or source than the one asked for', () => {
    expect(() => parseTenantEvent('TenantMoveRequested', delivered(moveRequested, 'TenantMoved'))).toThrow(/expected TenantMoveRequested/);
    expect(() => parseTenantEvent('TenantMoveRequested', delivered(moveRequested, 'TenantMoveRequested', 'cellbook.cell.cell-1'))).toThrow(/expected TenantMoveRequested/);
  });

  it('says what is wrong in words a reader of the log can act on', () => {
    expect(() => parseTenantEvent('TenantMoveRequested', delivered({ ...moveRequested, data: { moveId: 'm', fromCellId: 'cell-1' } }))).toThrow(
      'data.toCellId: Invalid input: expected string, received undefined',
    );
  });

  it.each([
    ['no tenant', { ...moveRequested, tenantId: undefined }, 'tenantId'],
    ['a malformed tenant id', { ...moveRequested, tenantId: 'ACME#7' }, 'tenantId'],
    ['a data field missing', { ...moveRequested, data: { moveId: 'm', fromCellId: 'cell-1' } }, 'data.toCellId'],
    ['a cell that is not a cell id', { ...moveRequested, data: { ...moveRequested.data, toCellId: 'cell 2' } }, 'data.toCellId'],
    ['no idempotency key', { ...moveRequested, idempotencyKey: '' }, 'idempotencyKey'],
    ['a detail that is not an object', 'TenantMoveRequested', '(detail)'],
  ])('refuses a detail with %s, naming the field', (_, detail, field) => {
    expect(() => parseTenantEvent('TenantMoveRequested', delivered(detail))).toThrow(
      new RegExp(`malformed TenantMoveRequested detail \\(.*${field.replace('(', '\\(').replace(')', '\\)')}`),
    );
  });
});

describe('publishTenantEvent', () => {
  const bus = mockClient(EventBridgeClient);
  const previous = process.env.EVENT_BUS_NAME;
  beforeEach(() => {
    bus.reset();
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    process.env.EVENT_BUS_NAME = 'bus';
  });
  afterAll(() => {
    bus.restore();
    if (previous === undefined) delete process.env.EVENT_BUS_NAME;
    else process.env.EVENT_BUS_NAME = previous;
  });

  it('sends the event from its catalogued source, with the envelope a consumer parses back', async () => {
    const detail = await publishTenantEvent('TenantMoved', {
      tenantId: 'acme-7',
      cellId: 'cell-2',
      tier: 'standard',
      actor: 'operator@example.com',
      data: { moveId: 'm-1', fromCellId: 'cell-1', toCellId: 'cell-2', items: 12 },
      idempotencyKey: 'TenantMoved#m-1',
    });
    const [entry] = bus.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(entry).toMatchObject({ EventBusName: 'bus', Source: 'cellbook.control', DetailType: 'TenantMoved' });
    expect(parseTenantEvent('TenantMoved', { source: entry?.Source, 'detail-type': entry?.DetailType, detail: JSON.parse(entry?.Detail ?? 'null') })).toEqual(detail);
  });

  it('sends nothing when the detail does not match the catalog', async () => {
    const wrong = { moveId: 'm-1', fromCellId: 'cell-1', toCellId: 'not a cell', items: -1 };
    await expect(publishTenantEvent('TenantMoved', { tenantId: 'acme-7', cellId: 'cell-2', tier: 'standard', actor: 'a', data: wrong })).rejects.toThrow(
      /TenantMoved does not match the event catalog: data.toCellId, data.items/,
    );
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
