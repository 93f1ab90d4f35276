import { afterEach, describe, expect, it, vi } from 'vitest';
import { FOREIGN_INDEX_ITEMS_METRIC, ownCaseListingEntries } from './index-guard.js';
import { caseKey, caseListingKey, caseListingPartition, noteKey, tenantOfPartition } from './keys.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const NOTE_ID = '01HZY3K0A1B2C3D4E5F6G7H8J9';
const read = { tenantId: 't-1', index: 'GSI1', partition: caseListingPartition('t-1'), reader: 'test' };

afterEach(() => vi.restoreAllMocks());

describe('ownCaseListingEntries', () => {
  it('drops an entry that another tenant planted in the listing and reports both tenants', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const own = { ...caseKey('t-1', CASE_ID), ...caseListingKey('t-1', 'OPEN', '2026-01-01', CASE_ID) };
    // t-10's session can write this (its partition key is its own); only the index key is forged.
    const planted = { ...caseKey('t-10', CASE_ID), GSI1PK: caseListingPartition('t-1'), GSI1SK: 'S1#2026' };
    expect(ownCaseListingEntries(read, [planted, own])).toEqual([own]);
    expect(warn).toHaveBeenCalledTimes(1);
    const line = JSON.parse(String(warn.mock.calls[0]![0])) as Record<string, unknown>;
    expect(line).toMatchObject({ tenantId: 't-1', foreignTenantId: 't-10', [FOREIGN_INDEX_ITEMS_METRIC]: 1 });
  });

  it('drops an own item that is not a case item (a note listed as if it were a case)', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(ownCaseListingEntries(read, [{ ...noteKey('t-1', CASE_ID, NOTE_ID), GSI1PK: read.partition, GSI1SK: 'S1#x' }])).toEqual([]);
  });

  it('drops an entry that carries no base key (a projection without PK and SK) and reports it without one', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const keyless = { GSI1PK: read.partition, GSI1SK: 'S1#x', SK: 'CASE' };
    const numericKey = { PK: 1, SK: 'CASE', GSI1PK: read.partition, GSI1SK: 'S1#y' };
    const numericSortKey = { PK: caseKey('t-1', CASE_ID).PK, SK: 7, GSI1PK: read.partition, GSI1SK: 'S1#z' };
    expect(ownCaseListingEntries(read, [keyless, numericKey, numericSortKey])).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(3);
    for (const [arg] of warn.mock.calls) {
      expect(JSON.parse(String(arg))).toMatchObject({ tenantId: 't-1', foreignTenantId: null, itemKey: null });
    }
  });

  it('reports a dropped entry as a WARN line an operator can trace (both tenants, index, partition, reader, item key) and CloudWatch counts per reader', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const planted = { ...caseKey('t-10', CASE_ID), GSI1PK: read.partition, GSI1SK: 'S1#2026' };
    ownCaseListingEntries({ ...read, reader: 'case.list' }, [planted]);
    const line = JSON.parse(String(warn.mock.calls[0]![0])) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'WARN',
      tenantId: 't-1',
      foreignTenantId: 't-10',
      index: 'GSI1',
      indexPartition: read.partition,
      reader: 'case.list',
      itemKey: caseKey('t-10', CASE_ID),
      ForeignIndexItemsDropped: 1,
    });
    // The embedded-metric block: the dashboard and alarms count injections by this name, per reader.
    expect(line._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [{ Namespace: 'Cellbook', Dimensions: [['reader']], Metrics: [{ Name: 'ForeignIndexItemsDropped', Unit: 'Count' }] }],
    });
  });
});

describe('tenantOfPartition', () => {
  it('names the tenant a partition key leads with, keeping t-1 apart from t-10', () => {
    expect(tenantOfPartition('TENANT#t-1')).toBe('t-1');
    expect(tenantOfPartition(caseKey('t-10', CASE_ID).PK)).toBe('t-10');
    expect(tenantOfPartition('TENANTS')).toBeUndefined();
    expect(tenantOfPartition('TENANT#Bad_Id#CASE')).toBeUndefined();
  });
});
