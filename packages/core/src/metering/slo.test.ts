import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../shared/errors.js';
import { TIERS, type TierName } from '../tenancy/tiers.js';
import { nearestRank } from './latency-histogram.js';
import type { LatencyBucket, LedgerTable } from './ledger.js';
import { noisyNeighbours, sliCounts, sloReport, sloStatus, trafficStats, windowRange } from './slo.js';
import { sloOverview } from './slo-overview.js';
import { BURN_RATE_ALERTS, burnRate, firingAlerts, type SloWindow } from './slo-policy.js';

const NOW = new Date('2026-12-03T14:00:00.000Z');
const MINUTE = 60_000;

interface Traffic {
  requests: number;
  serverErrors?: number;
  throttled?: number;
  /** The answered requests' latencies. Default: every request not throttled took 100 ms. */
  latencies?: ReadonlyMap<number, number>;
}

/** The bucket `minutesAgo` minutes before NOW starts at (5 → the last whole bucket). */
function bucket(tenantId: string, minutesAgo: number, traffic: Traffic, where: { cellId?: string; tier?: TierName } = {}): LatencyBucket {
  const { requests, serverErrors = 0, throttled = 0 } = traffic;
  const latencies = traffic.latencies ?? new Map([[100, requests - throttled]]);
  return {
    tenantId,
    cellId: where.cellId ?? 'cell-1',
    tier: where.tier ?? 'standard',
    start: new Date(NOW.getTime() - minutesAgo * MINUTE).toISOString(),
    requests,
    serverErrors,
    throttled,
    answered: [...latencies.values()].reduce((sum, count) => sum + count, 0),
    latencies,
  };
}

/** One bucket every 5 minutes over the `minutes` before NOW. */
function steady(tenantId: string, minutes: number, traffic: Traffic, where?: { cellId?: string; tier?: TierName }): LatencyBucket[] {
  return Array.from({ length: minutes / 5 }, (_, i) => bucket(tenantId, 5 * (i + 1), traffic, where));
}

describe('burnRate', () => {
  it('is the bad fraction over the error budget (hand-computed)', () => {
    // 99.9 %: a budget of 0.1 %. 2 bad in 1,000 is 0.2 %: twice the sustainable rate.
    expect(burnRate({ valid: 1_000, bad: 2 }, 99.9)).toBeCloseTo(2, 10);
    // 99.5 %: 0.5 %. 1 in 1,000 is a fifth of it.
    expect(burnRate({ valid: 1_000, bad: 1 }, 99.5)).toBeCloseTo(0.2, 10);
    // 99 % (latency): 1 in 100 spends it exactly.
    expect(burnRate({ valid: 100, bad: 1 }, 99)).toBeCloseTo(1, 10);
    expect(burnRate({ valid: 10, bad: 10 }, 99.99)).toBeCloseTo(10_000, 6);
  });

  it('is 0 without valid events (silence is not an outage)', () => {
    expect(burnRate({ valid: 0, bad: 0 }, 99.9)).toBe(0);
  });
});

describe('firingAlerts', () => {
  const rates = (values: Partial<Record<SloWindow, number>>): Record<SloWindow, number> => ({ '5m': 0, '30m': 0, '1h': 0, '6h': 0, ...values });

  it('follows the SRE workbook: fast = 14.4× over 1 h and 5 min, slow = 6× over 6 h and 30 min', () => {
    expect(BURN_RATE_ALERTS).toEqual({ fast: { burnRate: 14.4, long: '1h', short: '5m' }, slow: { burnRate: 6, long: '6h', short: '30m' } });
  });

  it('fires only when the long AND the short window burn at least the rate', () => {
    expect(firingAlerts(rates({ '1h': 14.4, '5m': 14.4 }))).toEqual(['fast']);
    expect(firingAlerts(rates({ '1h': 14.39, '5m': 1_000 }))).toEqual([]);
    expect(firingAlerts(rates({ '1h': 1_000, '5m': 14.39 }))).toEqual([]);
    expect(firingAlerts(rates({ '6h': 6, '30m': 6 }))).toEqual(['slow']);
    expect(firingAlerts(rates({ '6h': 5.99, '30m': 100 }))).toEqual([]);
    expect(firingAlerts(rates({ '6h': 100, '30m': 5.99 }))).toEqual([]);
    expect(firingAlerts(rates({ '5m': 20, '30m': 20, '1h': 20, '6h': 20 }))).toEqual(['fast', 'slow']);
  });
});

describe('windowRange', () => {
  it('ends with the bucket now falls in, so the bucket still filling counts; a boundary ends there', () => {
    expect(windowRange(new Date('2026-12-03T13:58:20.000Z'), 60)).toEqual({ from: new Date('2026-12-03T13:00:00.000Z'), to: NOW });
    expect(windowRange(NOW, 5)).toEqual({ from: new Date('2026-12-03T13:55:00.000Z'), to: NOW });
    expect(windowRange(new Date(NOW.getTime() + 1), 5)).toEqual({ from: NOW, to: new Date('2026-12-03T14:05:00.000Z') });
  });
});

describe('sliCounts', () => {
  it('counts throttled requests in neither availability outcome: they are the tenant’s own limit', () => {
    // 1,000 requests, 900 throttled (429), 2 answered 5xx: 100 valid, 2 bad.
    const counts = sliCounts([bucket('t-a', 5, { requests: 1_000, throttled: 900, serverErrors: 2 })]);
    expect(counts.availability).toEqual({ valid: 100, bad: 2 });
  });

  it("judges latency against each bucket's tier: a request at the target is good, one millisecond over is bad", () => {
    const latencies = new Map([
      [200, 97],
      [1_000, 1],
      [1_001, 1],
      [2_500, 1],
    ]);
    // standard: 1,000 ms; basic: 2,000 ms.
    expect(sliCounts([bucket('t-a', 5, { requests: 100, latencies })]).latency).toEqual({ valid: 100, bad: 2 });
    expect(sliCounts([bucket('t-a', 5, { requests: 100, latencies }, { tier: 'basic' })]).latency).toEqual({ valid: 100, bad: 1 });
  });

  it('meets the 99 % latency objective exactly when the nearest-rank p99 is within the target', () => {
    const tier = 'premium';
    const target = TIERS[tier].slo.p99LatencyMs;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 * target }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 30 }), (entries) => {
        const latencies = new Map<number, number>();
        for (const [ms, count] of entries) latencies.set(ms, (latencies.get(ms) ?? 0) + count);
        const requests = [...latencies.values()].reduce((a, b) => a + b, 0);
        const { latency } = sliCounts([bucket('t-a', 5, { requests, latencies }, { tier })]);
        const met = latency.bad * 100 <= latency.valid * 1;
        expect(met).toBe((nearestRank(latencies, 99) ?? 0) <= target);
      }),
    );
  });
});

describe('sloStatus', () => {
  const standard = TIERS.standard.slo;

  it('fires the fast alert when the last hour and the last 5 minutes both burn ≥ 14.4× (hand-computed)', () => {
    // Last hour: 2 errors per 100 in every bucket → 2 % / 0.1 % = 20×. Five clean hours before it:
    // over 6 h, 24 / 7,200 = 0.33 % → 3.3×, so the slow alert stays quiet.
    const buckets = [...steady('t-a', 60, { requests: 100, serverErrors: 2 }), ...steady('t-a', 360, { requests: 100 }).slice(12)];
    const { availability } = sloStatus(buckets, standard, NOW);
    expect(availability.burnRates['5m']).toBeCloseTo(20, 9);
    expect(availability.burnRates['1h']).toBeCloseTo(20, 9);
    expect(availability.burnRates['30m']).toBeCloseTo(20, 9);
    expect(availability.burnRates['6h']).toBeCloseTo(24 / 7_200 / 0.001, 9);
    expect(availability.alerts).toEqual(['fast']);
  });

  it('stops the fast alert once the last 5 minutes are clean, though the hour still burns', () => {
    // 11 buckets with 3 errors per 100, then a clean one: 1 h = 33 / 1,200 → 27.5×, 5 min = 0.
    const buckets = [bucket('t-a', 5, { requests: 100 }), ...steady('t-a', 60, { requests: 100, serverErrors: 3 }).slice(1)];
    const { availability } = sloStatus(buckets, standard, NOW);
    expect(availability.burnRates['1h']).toBeCloseTo(27.5, 9);
    expect(availability.burnRates['5m']).toBe(0);
    expect(availability.alerts).not.toContain('fast');
  });

  it('does not page for a 5-minute spike the hour absorbs', () => {
    // 1,000 requests per bucket for 6 h; 100 errors in the last bucket only: 5 min = 100×,
    // 30 min = 100 / 6,000 → 16.7×, 1 h = 100 / 12,000 → 8.3×, 6 h = 100 / 72,000 → 1.4×.
    const buckets = [bucket('t-a', 5, { requests: 1_000, serverErrors: 100 }), ...steady('t-a', 360, { requests: 1_000 }).slice(1)];
    const { availability } = sloStatus(buckets, standard, NOW);
    expect(availability.burnRates['5m']).toBeCloseTo(100, 9);
    expect(availability.burnRates['1h']).toBeCloseTo(100 / 12_000 / 0.001, 9);
    expect(availability.alerts).toEqual([]);
  });

  it('fires the slow alert for a steady 6× burn over 6 hours and 30 minutes', () => {
    // 1 error per 100 for 6 h: 1 % / 0.1 % = 10× everywhere: above 6, under 14.4.
    const { availability } = sloStatus(steady('t-a', 360, { requests: 100, serverErrors: 1 }), standard, NOW);
    expect(availability.alerts).toEqual(['slow']);
  });

  it('spends the budget over the last 30 days: half spent at half the allowed bad fraction', () => {
    // 2,000 buckets of 5 requests (10,000) in the period, 5 errors: 0.05 % of a 0.1 % budget.
    const week = steady('t-a', 7 * 24 * 60, { requests: 5 }).slice(0, 2_000);
    week[1_000] = { ...week[1_000]!, serverErrors: 5 };
    const older = bucket('t-a', 30 * 24 * 60 + 5, { requests: 5, serverErrors: 5 });
    const { availability, latency } = sloStatus([...week, older], standard, NOW);
    expect(availability.budgetRemaining).toBeCloseTo(0.5, 9);
    expect(latency.budgetRemaining).toBe(1);
  });

  it('counts the latency SLI against the 99 % objective', () => {
    // 2 slow requests in 100, every bucket of the last hour: 2 % / 1 % = 2×.
    const latencies = new Map([
      [100, 98],
      [5_000, 2],
    ]);
    const { latency } = sloStatus(steady('t-a', 60, { requests: 100, latencies }), standard, NOW);
    expect(latency.objectivePercent).toBe(99);
    expect(latency.burnRates['1h']).toBeCloseTo(2, 9);
  });
});

describe('trafficStats', () => {
  it('reports requests, 5xx share of valid requests, throttles and percentiles', () => {
    const stats = trafficStats([
      bucket('t-a', 5, { requests: 60, serverErrors: 5, throttled: 10, latencies: new Map([[40, 50]]) }),
      bucket('t-a', 10, { requests: 40, latencies: new Map([[900, 40]]) }),
    ]);
    expect(stats).toEqual({ requests: 100, serverErrors: 5, throttled: 10, errorRate: 5 / 90, throttleRate: 0.1, p50: 40, p95: 900, p99: 900 });
    expect(trafficStats([])).toEqual({ requests: 0, serverErrors: 0, throttled: 0, errorRate: 0, throttleRate: 0, p50: null, p95: null, p99: null });
  });
});

describe('sloReport', () => {
  it('lists only the tenants and cells burning their budget, the fastest first, each cell judged per tier', () => {
    const buckets = [
      ...steady('t-calm', 360, { requests: 100 }),
      ...steady('t-fine', 360, { requests: 100 }, { cellId: 'cell-3' }),
      ...steady('t-slow-burn', 360, { requests: 100, serverErrors: 1 }),
      ...steady('t-on-fire', 60, { requests: 100, serverErrors: 50 }, { cellId: 'cell-2', tier: 'premium' }),
    ];
    const report = sloReport(buckets, new Date('2026-12-03T13:55:00.001Z'));
    expect(report.at).toBe(NOW.toISOString());
    expect(report.budgetDays).toBe(30);
    expect(report.tenants.map((tenant) => [tenant.tenantId, tenant.availability.alerts])).toEqual([
      ['t-on-fire', ['fast', 'slow']],
      ['t-slow-burn', ['slow']],
    ]);
    expect(report.tenants[0]).toMatchObject({ tier: 'premium', cellIds: ['cell-2'], objectives: TIERS.premium.slo, traffic: { requests: 1_200, serverErrors: 600 } });
    // cell-1 (standard, t-calm and t-slow-burn): 1 error in 200 requests → 5× everywhere: no alert,
    // but 0.5 % bad over the budget period is five budgets: 1 − 5 = −4 left. cell-3 is fine.
    expect(report.cells.map((cell) => [cell.cellId, cell.tier, cell.tenants, cell.availability.alerts])).toEqual([
      ['cell-2', 'premium', 1, ['fast', 'slow']],
      ['cell-1', 'standard', 2, []],
    ]);
    expect(report.cells[1]!.availability.budgetRemaining).toBeCloseTo(-4, 9);
  });

  it('follows a moved tenant across cells as one series, at its latest tier', () => {
    const buckets = [
      ...steady('t-moved', 60, { requests: 100, serverErrors: 20 }, { cellId: 'cell-1', tier: 'standard' }).slice(6),
      ...steady('t-moved', 30, { requests: 100, serverErrors: 20 }, { cellId: 'cell-2', tier: 'premium' }),
    ];
    const [tenant] = sloReport(buckets, NOW).tenants;
    expect(tenant).toMatchObject({ tenantId: 't-moved', tier: 'premium', cellIds: ['cell-1', 'cell-2'], traffic: { requests: 1_200 } });
    expect(tenant!.availability.burnRates['1h']).toBeCloseTo(0.2 / 0.0005, 6);
  });

  it('does not let a tenant throttled at its own limit burn anyone’s budget', () => {
    const report = sloReport(steady('t-greedy', 60, { requests: 1_000, throttled: 950 }), NOW);
    expect(report.tenants).toEqual([]);
    expect(report.cells).toEqual([]);
  });
});

describe('noisyNeighbours', () => {
  it("puts a tenant's p99 and error rate next to every other tenant of its cell, in the last hour", () => {
    const slow = new Map([[3_000, 100]]);
    const buckets = [
      ...steady('t-victim', 60, { requests: 10, latencies: new Map([[1_500, 10]]) }),
      ...steady('t-noisy', 60, { requests: 100, serverErrors: 10, latencies: slow }),
      ...steady('t-quiet', 60, { requests: 5 }),
      ...steady('t-elsewhere', 60, { requests: 500 }, { cellId: 'cell-2' }),
      // Outside the window: not counted.
      bucket('t-victim', 65, { requests: 1_000 }),
      bucket('t-gone', 65, { requests: 1_000 }),
    ];
    const view = noisyNeighbours(buckets, 't-victim', NOW);
    expect(view.window).toEqual({ from: '2026-12-03T13:00:00.000Z', to: NOW.toISOString() });
    expect(view.cells).toHaveLength(1);
    const [cell] = view.cells;
    expect(cell!.cellId).toBe('cell-1');
    expect(cell!.tenant).toMatchObject({ tenantId: 't-victim', requests: 120, p99: 1_500, errorRate: 0 });
    expect(cell!.neighbours.map((n) => [n.tenantId, n.requests, n.p99, n.errorRate])).toEqual([
      ['t-noisy', 1_200, 3_000, 0.1],
      ['t-quiet', 60, 100, 0],
    ]);
  });

  it('has no cell for a tenant without traffic in the window', () => {
    expect(noisyNeighbours([bucket('t-other', 5, { requests: 1 })], 't-absent', NOW).cells).toEqual([]);
  });
});

describe('sloOverview', () => {
  // Refused before the ledger is read: a ledger that fails on use proves nothing was asked.
  const untouchable = new Proxy({} as LedgerTable, {
    get() {
      throw new Error('the ledger must not be read');
    },
  });

  it.each([
    [{ at: '2026-12-03T14:05:00.000Z' }, 'at'],
    [{ at: '2026-11-20T12:00:00.000Z' }, 'at'],
    [{ at: 'yesterday' }, 'at'],
    [{ tenantId: 'T_1*' }, 'tenantId'],
    [{ window: '1h' }, '(query)'],
  ])('refuses %j', async (query, path) => {
    const refusal = sloOverview(untouchable, query, NOW);
    await expect(refusal).rejects.toBeInstanceOf(ValidationFailed);
    await expect(refusal).rejects.toMatchObject({ details: [expect.objectContaining({ path })] });
  });
});

describe('the 30-day budget from coarse (day) rows', () => {
  /** A day row of tenant t-d, `daysAgo` days before NOW's day, as GET /admin/slo reads it. */
  const day = (daysAgo: number, traffic: { requests: number; serverErrors?: number; slow?: number }): LatencyBucket => ({
    tenantId: 't-d',
    cellId: 'cell-1',
    tier: 'standard',
    start: new Date(Date.parse('2026-12-03T00:00:00.000Z') - daysAgo * 24 * 60 * MINUTE).toISOString(),
    requests: traffic.requests,
    answered: traffic.requests,
    serverErrors: traffic.serverErrors ?? 0,
    throttled: 0,
    latencies: new Map(),
    slow: traffic.slow ?? 0,
  });

  it('spends the budget with what happened days ago, though nothing happened in the alerting windows', () => {
    // 99.9 %: 10,000 requests allow 10 errors; 15 were answered 5xx twenty days ago. 1 % may be slow: 200 were.
    const report = sloReport([], NOW, [day(20, { requests: 10_000, serverErrors: 15, slow: 200 }), day(40, { requests: 10, serverErrors: 10 })]);
    expect(report.budgetDays).toBe(30);
    expect(report.tenants.map((tenant) => tenant.tenantId)).toEqual(['t-d']);
    const [tenant] = report.tenants;
    expect(tenant!.availability.budgetRemaining).toBeCloseTo(-0.5, 9);
    expect(tenant!.latency.budgetRemaining).toBeCloseTo(-1, 9);
    expect(tenant!.availability.alerts).toEqual([]);
    expect(tenant!.traffic.requests).toBe(0);
  });
});
