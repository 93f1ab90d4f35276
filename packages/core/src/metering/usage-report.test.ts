import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import type { UsageRow } from './ledger.js';
import { CSV_COLUMNS, UsageReportInput, report, reportRange, usageCsv } from './usage-report.js';
import type { CounterDimension } from './usage-event.js';

const NOW = new Date('2026-12-03T14:20:00Z');

function refusal(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailed);
    return [...((error as ValidationFailed).details ?? [])];
  }
  throw new Error('expected a refusal');
}

describe('reportRange', () => {
  it('widens the range to whole periods and defaults to the last 30 days (days) or 24 hours (hours)', () => {
    expect(reportRange({ from: '2026-12-01T10:30:00Z', to: '2026-12-01T12:10:00Z', granularity: 'hour' }, NOW)).toEqual({
      from: new Date('2026-12-01T10:00:00Z'),
      to: new Date('2026-12-01T13:00:00Z'),
      granularity: 'hour',
    });
    expect(reportRange({}, NOW)).toEqual({ from: new Date('2026-11-04T00:00:00Z'), to: new Date('2026-12-04T00:00:00Z'), granularity: 'day' });
    expect(reportRange({ granularity: 'hour' }, NOW)).toEqual({ from: new Date('2026-12-02T15:00:00Z'), to: new Date('2026-12-03T15:00:00Z'), granularity: 'hour' });
  });

  it('refuses from after to, and from equal to to', () => {
    expect(refusal(() => reportRange({ from: '2026-12-02', to: '2026-12-01' }, NOW))).toEqual([{ path: 'from', message: 'must be before to' }]);
    expect(refusal(() => reportRange({ from: '2026-12-02', to: '2026-12-02' }, NOW))).toEqual([{ path: 'from', message: 'must be before to' }]);
  });

  it('refuses a `to` after the current period, and a date the calendar does not have', () => {
    expect(refusal(() => reportRange({ from: '2026-12-01', to: '2100-01-01' }, NOW))).toEqual([
      { path: 'to', message: 'must not be after the end of the current day, 2026-12-04T00:00:00.000Z' },
    ]);
    expect(refusal(() => reportRange({ to: '2026-12-03T16:00:00Z', granularity: 'hour' }, NOW))[0]?.path).toBe('to');
    expect(reportRange({ to: '2026-12-03T15:00:00Z', granularity: 'hour' }, NOW).to).toEqual(new Date('2026-12-03T15:00:00Z'));
    expect(refusal(() => parse(UsageReportInput, { from: '2026-02-30' }, '(query)'))[0]?.path).toBe('from');
  });

  it('refuses a range reaching further back than the ledger keeps rows: 90 days of hours, 400 of days', () => {
    const [hours] = refusal(() => reportRange({ from: '2026-09-01T00:00:00Z', granularity: 'hour' }, NOW));
    expect(hours).toEqual({ path: 'from', message: 'the ledger keeps hour rows 90 days: from must be on or after 2026-09-04T14:00:00.000Z' });
    expect(reportRange({ from: '2026-09-04T14:00:00Z', granularity: 'hour' }, NOW).from).toEqual(new Date('2026-09-04T14:00:00Z'));
    expect(refusal(() => reportRange({ from: '2025-10-01', granularity: 'day' }, NOW))[0]?.path).toBe('from');
    expect(reportRange({ from: '2025-11-01', granularity: 'day' }, NOW).from).toEqual(new Date('2025-11-01T00:00:00Z'));
  });
});

describe('a query from a client, whatever it holds', () => {
  const parameter = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '2026-12-01',
      '2026-12-03T14:00:00Z',
      '2020-01-01',
      '2026-12-03T14:30:00+02:00',
      '2100-01-01',
      '2027-06-01T00:00:00Z',
      '2026-02-30',
      '',
      '0',
      'hour',
      'day',
      'tenant',
      'margin',
      'csv',
      '-1',
      '1e3',
    ),
  );
  const query = fc.dictionary(fc.constantFrom('from', 'to', 'granularity', 'groupBy', 'sort', 'top', 'format', 'other', '__proto__', 'constructor'), parameter);

  it('is answered with a range of whole periods inside the retention, from before to, or refused with ValidationFailed — never anything else', () => {
    fc.assert(
      fc.property(query, (input) => {
        try {
          const parsed = parse(UsageReportInput, input, '(query)');
          const range = reportRange(parsed, NOW);
          expect(range.from.getTime()).toBeLessThan(range.to.getTime());
          const step = range.granularity === 'hour' ? 3_600_000 : 86_400_000;
          expect(range.from.getTime() % step).toBe(0);
          expect(range.to.getTime() % step).toBe(0);
          expect(NOW.getTime() - range.from.getTime()).toBeLessThanOrEqual((range.granularity === 'hour' ? 90 : 400) * 86_400_000 + step);
          // Never past the current period: every answered range is one the ledger can walk.
          expect(range.to.getTime()).toBeLessThanOrEqual(Math.ceil((NOW.getTime() + 1) / step) * step);
          expect(parsed.top).toBeGreaterThanOrEqual(1);
          expect(parsed.top).toBeLessThanOrEqual(100);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationFailed);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('UsageReportInput', () => {
  const problems = (query: Record<string, string>) => refusal(() => parse(UsageReportInput, query, '(query)')).map((detail) => detail.path);

  it('takes dates, date-times, a groupBy, a sort by any dimension, cost or margin, and a top', () => {
    expect(parse(UsageReportInput, { from: '2026-12-01', to: '2026-12-02T00:00:00Z', groupBy: 'cell', sort: 'storageBytes', top: '5' })).toMatchObject({
      groupBy: 'cell',
      sort: 'storageBytes',
      top: 5,
    });
    expect(parse(UsageReportInput, {})).toEqual({ groupBy: 'tenant', sort: 'cost', top: 10 });
  });

  it.each([
    [{ groupBy: 'region' }, 'groupBy'],
    [{ sort: 'revenue' }, 'sort'],
    [{ granularity: 'minute' }, 'granularity'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2026-13-45' }, 'to'],
    [{ from: '1733230000' }, 'from'],
    [{ top: '0' }, 'top'],
    [{ top: '101' }, 'top'],
    [{ top: 'ten' }, 'top'],
    [{ top: '2.5' }, 'top'],
    [{ tenant: 't-1' }, '(query)'],
  ])('refuses %j, naming %s', (query, path) => {
    expect(problems(query as Record<string, string>)).toContain(path);
  });
});

const ZERO: Record<CounterDimension, number> = { apiRequests: 0, casesCreated: 0, notesCreated: 0, readUnits: 0, writeUnits: 0, functionGbMs: 0, exportBytes: 0 };

function row(tenantId: string, cellId: string, tier: UsageRow['tier'], apiRequests: number, storageBytes: number): UsageRow {
  return {
    tenantId,
    cellId,
    tier,
    period: '2026-12-02',
    quantities: { ...ZERO, apiRequests },
    gauges: { storageBytes },
    gateway: { requests: 0, integration: 0, throttled: 0, quota: 0, refused: 0, serverErrors: 0, slow: 0 },
    fingerprints: { metered: 0, answered: 0 },
    routes: {},
  };
}

describe('report', () => {
  const range = { from: new Date('2026-12-02T00:00:00Z'), to: new Date('2026-12-03T00:00:00Z'), granularity: 'day' as const };
  const rows = [
    // A busy basic tenant: 3 M requests in a day cost more than a basic day earns.
    row('t-busy', 'cell-1', 'basic', 3_000_000, 1_000),
    row('t-quiet', 'cell-1', 'standard', 1_000, 50_000_000),
    row('t-mid', 'cell-2', 'premium', 200_000, 10_000),
  ];

  it('ranks by cost, largest first', () => {
    expect(report(rows, range, { groupBy: 'tenant', sort: 'cost', top: 10 }).items.map((item) => item.key)).toEqual(['t-busy', 't-mid', 't-quiet']);
  });

  it('ranks by margin ascending: negative margins first', () => {
    const items = report(rows, range, { groupBy: 'tenant', sort: 'margin', top: 10 }).items;
    expect(items[0]?.key).toBe('t-busy');
    expect(items[0]?.economics.margin.micros).toBeLessThan(0);
    expect(items.map((item) => item.economics.margin.micros)).toEqual([...items.map((item) => item.economics.margin.micros)].sort((a, b) => a - b));
  });

  it('ranks by a dimension and keeps the top N, with the whole bill in the totals', () => {
    const byStorage = report(rows, range, { groupBy: 'tenant', sort: 'storageBytes', top: 1 });
    expect(byStorage.items.map((item) => item.key)).toEqual(['t-quiet']);
    expect(byStorage.groups).toBe(3);
    expect(byStorage.totals.tenants).toBe(3);
    expect(byStorage.totals.quantities.apiRequests).toBe(3_201_000);
  });

  it('names the deployed cells nobody used, with the fixed cost no tenant carries', () => {
    const cells = [
      { cellId: 'cell-1', placement: 'pooled' as const },
      { cellId: 'cell-2', placement: 'pooled' as const },
      { cellId: 'cell-d1', placement: 'dedicated' as const },
    ];
    // cell-d1's day: $25.40 × 24 / 730 = $0.835068 → 835,068 µ$.
    expect(report(rows, range, { groupBy: 'cell', sort: 'cost', top: 10 }, cells).idleCells).toEqual([{ cellId: 'cell-d1', fixedCost: { usd: '0.84', micros: 835_068 } }]);
  });

  it('groups by tier and by cell', () => {
    expect(report(rows, range, { groupBy: 'cell', sort: 'apiRequests', top: 10 }).items.map((item) => [item.key, item.tenants, item.quantities.apiRequests])).toEqual([
      ['cell-1', 2, 3_001_000],
      ['cell-2', 1, 200_000],
    ]);
    expect(report(rows, range, { groupBy: 'tier', sort: 'apiRequests', top: 10 }).items.map((item) => item.key)).toEqual(['basic', 'premium', 'standard']);
  });

  it('answers the same rows as CSV, one line per item under a header', () => {
    const json = report(rows, range, { groupBy: 'tenant', sort: 'margin', top: 2 });
    const lines = usageCsv(json).split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(2 + 1 + 1);
    expect(lines.at(-1)).toBe('');
    const header = lines[0]?.split(',') ?? [];
    json.items.forEach((item, index) => {
      const fields = lines[index + 1]?.split(',') ?? [];
      expect(fields[header.indexOf('key')]).toBe(item.key);
      expect(fields[header.indexOf('apiRequests')]).toBe(String(item.quantities.apiRequests));
      expect(fields[header.indexOf('cost_usd')]).toBe(item.economics.cost.usd);
      expect(fields[header.indexOf('margin_usd')]).toBe(item.economics.margin.usd);
    });
  });
});
