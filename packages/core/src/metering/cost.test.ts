import { describe, expect, it } from 'vitest';
import type { TierName } from '../tenancy/tiers.js';
import { costModel, splitByWeight, summarize, tenantSeries, type CostSlice } from './cost.js';
import type { Range, UsageRow } from './ledger.js';
import { BYTES_PER_GB, cellFixedMonthlyMicros, formatUsd } from './prices.js';
import type { CounterDimension, Gauges } from './usage-event.js';

const NOVEMBER: Range = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };
const TENANT_A = 't-aaaaaaaaaaaaaaaa';
const TENANT_B = 't-bbbbbbbbbbbbbbbb';
const TENANT_C = 't-cccccccccccccccc';
const TENANT_D = 't-dddddddddddddddd';
const TENANT_E = 't-eeeeeeeeeeeeeeee';

const ZERO: Record<CounterDimension, number> = { apiRequests: 0, casesCreated: 0, notesCreated: 0, readUnits: 0, writeUnits: 0, functionGbMs: 0, exportBytes: 0 };
const NO_GATEWAY = { requests: 0, integration: 0, throttled: 0, quota: 0, refused: 0, serverErrors: 0, slow: 0 };

/** November's 30 day rows of one tenant: `quantities` on the 1st, the same gauges every day. */
function november(tenantId: string, cellId: string, tier: TierName, quantities: Partial<Record<CounterDimension, number>>, gauges: Gauges): UsageRow[] {
  return Array.from({ length: 30 }, (_, day) => ({
    tenantId,
    cellId,
    tier,
    period: `2026-11-${String(day + 1).padStart(2, '0')}`,
    quantities: day === 0 ? { ...ZERO, ...quantities } : { ...ZERO },
    gauges,
    gateway: NO_GATEWAY,
    fingerprints: { metered: 0, answered: 0 },
    routes: {},
  }));
}

function sliceOf(slices: CostSlice[], tenantId: string): CostSlice {
  const slice = slices.find((candidate) => candidate.tenantId === tenantId);
  if (!slice) throw new Error(`no slice for ${tenantId}`);
  return slice;
}

describe('the price table', () => {
  it("prices a pooled cell's fixed month at $37.80 and a dedicated one at $25.40, item by item", () => {
    // Pooled: alarms 2 + 56 metrics (28 functions × errors, throttles) × $0.10 = $5.80; composite $0.50;
    // dashboard $3.00; custom metrics (3 tiers + 28 functions) × $0.30 = $9.30; SLO metrics 5 × 3 tiers ×
    // $0.30 = $4.50; burn-rate window alarms 8 × 3 metrics × 3 tiers = 72 × $0.10 = $7.20; their
    // composites 4 × 3 × $0.50 = $6.00; Contributor Insights 3 × $0.50 = $1.50. Total $37.80.
    expect(cellFixedMonthlyMicros('pooled')).toBe(37_800_000);
    // Dedicated (one tier): $5.80 + $0.50 + $3.00 + 29 × $0.30 + 5 × $0.30 + 24 × $0.10 + 4 × $0.50 + $1.50 = $25.40.
    expect(cellFixedMonthlyMicros('dedicated')).toBe(25_400_000);
  });

  it('shows money to the cent, rounding half away from zero', () => {
    expect(formatUsd(44_770_044)).toBe('44.77');
    expect(formatUsd(5_000)).toBe('0.01');
    expect(formatUsd(4_999)).toBe('0.00');
    expect(formatUsd(-1_005_000)).toBe('-1.01');
    expect(formatUsd(0)).toBe('0.00');
  });

  it('splits a cost by weight into parts that add up to it exactly', () => {
    expect(splitByWeight(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(splitByWeight(29_391_781, [16_861_645, 896_227])).toEqual([27_908_399, 1_483_382]);
    expect(splitByWeight(7, [0, 0])).toEqual([4, 3]);
  });
});

describe('costModel', () => {
  // November 2026 (720 hours, day rows). cell-1 (pooled) holds A (standard), B and C (basic);
  // cell-2 (pooled) holds D and E (basic), which use nothing.
  const rows = [
    ...november(
      TENANT_A,
      'cell-1',
      'standard',
      { apiRequests: 2_000_000, functionGbMs: 250_000_000, readUnits: 6_000_000, writeUnits: 1_000_000, exportBytes: 2 * BYTES_PER_GB },
      { storageBytes: 5 * BYTES_PER_GB, activeCases: 800 },
    ),
    ...november(TENANT_B, 'cell-1', 'basic', { apiRequests: 100_000, functionGbMs: 12_500_000, readUnits: 300_000, writeUnits: 50_000 }, { storageBytes: BYTES_PER_GB / 2 }),
    ...november(TENANT_C, 'cell-1', 'basic', {}, { storageBytes: 0, activeCases: 0, users: 0 }),
    ...november(TENANT_D, 'cell-2', 'basic', {}, {}),
    ...november(TENANT_E, 'cell-2', 'basic', {}, {}),
  ];
  const { slices, cellFixed } = costModel({ range: NOVEMBER, granularity: 'day', rows, placementOf: () => 'pooled' });

  it('matches the hand-computed cost, revenue and margin of a month, to the cent', () => {
    // Each cell's fixed cost for 720 of a month's 730 hours: $37.80 × 720 / 730 = $37.2821918 → 37,282,192 µ$.
    expect(cellFixed.get('cell-1')).toBe(37_282_192);

    // A: 2,000,000 requests, 250,000,000 GB-ms, 6 M RRU, 1 M WRU, 2 GiB exported, 5 GiB stored all month.
    //   API Gateway   2 M × $3.50/M                                  = $7.000000
    //   Lambda req.   2 M × $0.20/M                                  = $0.400000
    //   Lambda time   250,000 GB-s × $0.0000133334                   = $3.333350
    //   DynamoDB RRU  6 M × $0.125/M                                 = $0.750000
    //   DynamoDB WRU  1 M × $0.625/M                                 = $0.625000
    //   Storage       5 GiB × 720 h / 730 h × $0.25                  = $1.232877 (1.2328767)
    //   Logs          2 M × 1,450 B = 2.70084 GiB × $0.50            = $1.350418 (1.3504177)
    //   CloudFront    2 M / 10,000 × $0.01                           = $2.000000
    //   Export        2 GiB × $0.085                                 = $0.170000
    //   variable                                                     = $16.861645
    const a = sliceOf(slices, TENANT_A);
    expect(a.variable).toEqual({
      apiGateway: 7_000_000,
      lambdaRequests: 400_000,
      lambdaDuration: 3_333_350,
      dynamoReads: 750_000,
      dynamoWrites: 625_000,
      dynamoStorage: 1_232_877,
      logIngestion: 1_350_418,
      cloudFront: 2_000_000,
      exportTransfer: 170_000,
      total: 16_861_645,
    });
    // B: 100,000 requests, 12,500,000 GB-ms, 300,000 RRU, 50,000 WRU, 0.5 GiB stored.
    //   $0.35 + $0.02 + $0.1666675 (→ 0.166668) + $0.0375 + $0.03125 + storage 0.5 × 720/730 × $0.25
    //   = $0.1232877 (→ 0.123288) + logs 145,000,000 B / 2^30 × $0.50 = $0.0675209 (→ 0.067521)
    //   + CloudFront 100,000 / 10,000 × $0.01 = $0.10: $0.896227
    const b = sliceOf(slices, TENANT_B);
    expect(b.variable.total).toBe(896_227);

    // cell-1's fixed cost by variable cost: A 16.861645 / 17.757872 × 37.282192 = 35.4005866 (35.400586643),
    // B = 1.8816054 (1.881605357); largest remainder gives the leftover micro to A. C consumed nothing: 0.
    expect([a.fixedShare, b.fixedShare, sliceOf(slices, TENANT_C).fixedShare]).toEqual([35_400_587, 1_881_605, 0]);

    // Revenue for 720 h: standard $199 × 720/730 = $196.273973; basic $49 × 720/730 = $48.328767.
    // A: cost 16.861645 + 35.400587 = $52.262232 → $52.26, margin 196.273973 − 52.262232 = $144.011741
    //    → $144.01 (73.37 %); per 1,000 calls 52.262232 / 2,000 = $0.026131 → $0.03; per active case
    //    52.262232 / 800 = $0.065328 → $0.07.
    const economicsA = summarize([a]).economics;
    expect(formatUsd(economicsA.cost)).toBe('52.26');
    expect(formatUsd(economicsA.revenue)).toBe('196.27');
    expect(formatUsd(economicsA.margin)).toBe('144.01');
    expect(economicsA.marginPercent).toBe(73.37);
    expect(formatUsd(economicsA.costPer1000Calls ?? Number.NaN)).toBe('0.03');
    expect(economicsA.costPer1000Calls).toBe(26_131);
    expect(formatUsd(economicsA.costPerActiveCase ?? Number.NaN)).toBe('0.07');
    // B: cost 0.896227 + 1.881605 = $2.777832 → $2.78, margin 48.328767 − 2.777832 = $45.550935 → $45.55.
    const economicsB = summarize([b]).economics;
    expect([formatUsd(economicsB.cost), formatUsd(economicsB.revenue), formatUsd(economicsB.margin)]).toEqual(['2.78', '48.33', '45.55']);
    expect(economicsB.costPerActiveCase).toBeNull();
  });

  it('charges a tenant with no usage only its share of fixed costs: none beside consuming neighbours, an equal part of an idle cell', () => {
    const c = summarize([sliceOf(slices, TENANT_C)]).economics;
    expect(c.variable.total).toBe(0);
    expect(c.cost).toBe(c.fixedShare);
    expect(c.cost).toBe(0);
    // cell-2: nobody consumed; D and E share its $37.282192 equally: 18,641,096 µ$ each ($18.64).
    const d = summarize([sliceOf(slices, TENANT_D)]).economics;
    const e = summarize([sliceOf(slices, TENANT_E)]).economics;
    expect(d.variable.total).toBe(0);
    expect([d.cost, e.cost]).toEqual([18_641_096, 18_641_096]);
    expect(d.cost).toBe(d.fixedShare);
    // Margin 48.328767 − 18.641096 = $29.687671 → $29.69.
    expect(formatUsd(d.margin)).toBe('29.69');
  });

  it("attributes every cell's fixed cost to its tenants, exactly", () => {
    for (const [cellId, fixed] of cellFixed) {
      expect(slices.filter((slice) => slice.cellId === cellId).reduce((sum, slice) => sum + slice.fixedShare, 0)).toBe(fixed);
    }
  });

  it("sums a tier's tenants: basic is B, C, D and E", () => {
    const basic = summarize(slices.filter((slice) => slice.tier === 'basic'));
    expect(basic.tenants).toBe(4);
    expect(basic.economics.cost).toBe(2_777_832 + 0 + 37_282_192);
    expect(basic.economics.revenue).toBe(4 * 48_328_767);
  });
});

describe('a moved tenant', () => {
  const hour = (cellId: string, period: string, apiRequests: number, gauges: Gauges): UsageRow => ({
    tenantId: TENANT_A,
    cellId,
    tier: 'basic',
    period,
    quantities: { ...ZERO, apiRequests },
    gauges,
    gateway: { ...NO_GATEWAY, requests: apiRequests, integration: apiRequests },
    fingerprints: { metered: 0, answered: 0 },
    routes: {},
  });
  // Moved from cell-1 to cell-2 during 14:00; the 14:00 snapshot was taken in cell-1.
  const rows = [
    hour('cell-1', '2026-12-03T13', 10, { storageBytes: 1_000 }),
    hour('cell-1', '2026-12-03T14', 4, { storageBytes: 1_100 }),
    hour('cell-2', '2026-12-03T14', 6, {}),
    hour('cell-2', '2026-12-03T15', 7, { storageBytes: 1_200 }),
  ];

  it('has one continuous series: each hour sums its cells', () => {
    expect(tenantSeries(rows).map((point) => [point.period, point.quantities.apiRequests, point.gauges.storageBytes, point.gateway.integration])).toEqual([
      ['2026-12-03T13', 10, 1_000, 10],
      ['2026-12-03T14', 10, 1_100, 10],
      ['2026-12-03T15', 7, 1_200, 7],
    ]);
  });

  it('pays for each hour once, however many cells it was in', () => {
    const range: Range = { from: new Date('2026-12-03T13:00:00Z'), to: new Date('2026-12-03T16:00:00Z') };
    const { slices } = costModel({ range, granularity: 'hour', rows });
    const total = summarize(slices);
    // 3 hours of basic: $49 × 3 / 730 = $0.201370 → 201,370 µ$.
    expect(total.economics.revenue).toBe(201_370);
    expect(total.quantities.apiRequests).toBe(27);
    // Storage measured 3 hours, mean (1,000 + 1,100 + 1,200) / 3.
    expect(total.gauges.storageBytes).toBe(1_100);
  });
});
