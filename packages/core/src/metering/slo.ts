/**
 * Tenant SLOs (DESIGN §10), computed from the ledger's 5-minute gateway buckets — tenant-tagged
 * access log records, the tenant id being data, never a metric dimension.
 *
 * Two SLIs per tenant, and per cell and tier:
 * - availability: a valid request is good unless answered 5xx (by a function or by the gateway).
 *   Throttled requests (429 at the tenant's own rate or burst) are not valid events — neither good nor
 *   bad, reported beside the SLIs as throttles — so a tenant cannot burn its cell's budget by
 *   exceeding its plan. Other gateway refusals (over the quota, unauthorized…) are valid and good:
 *   they are not 5xx, and the buckets do not tell quota refusals apart.
 * - latency: over the requests a function answered (the buckets' histograms), a request is good when
 *   it completed within its tier's `p99LatencyMs`, so the latency SLI meets its 99 % objective exactly
 *   when the nearest-rank p99 is within the target.
 * Burn rates and alerts follow slo-policy.ts. Every window ends at a given `now` (rounded up to the
 * end of its bucket: the bucket in progress counts) and covers whole buckets.
 */
import { LATENCY_SLO_PERCENT, TIERS, type SloTargets, type TierName } from '../tenancy/tiers.js';
import { countAbove, histogramCount, mergeHistograms, percentiles, type Percentiles } from './latency-histogram.js';
import type { LatencyBucket, Range } from './ledger.js';
import {
  BUCKET_MINUTES,
  burnRate,
  firingAlerts,
  SLO_BUDGET_DAYS,
  SLO_WINDOW_NAMES,
  SLO_WINDOWS,
  TRAFFIC_WINDOW,
  type BurnRateAlert,
  type SliCounts,
  type SliName,
  type SloWindow,
} from './slo-policy.js';

/** A tenant's (or a cell's) traffic in one window. */
export interface TrafficStats extends Percentiles {
  /** Every request the gateway logged, throttled ones included. */
  requests: number;
  serverErrors: number;
  throttled: number;
  /** 5xx among valid (not throttled) requests; 0 without any. */
  errorRate: number;
  /** Throttled among all requests; 0 without any. */
  throttleRate: number;
}

export interface SliStatus {
  objectivePercent: number;
  /** Burn rate in each alerting window (0 without valid events). */
  burnRates: Record<SloWindow, number>;
  alerts: BurnRateAlert[];
  /** Share of the SLO_BUDGET_DAYS budget left: 1 untouched, 0 spent, negative overspent. */
  budgetRemaining: number;
}

export interface SloStatus {
  availability: SliStatus;
  latency: SliStatus;
}

export interface TenantSlo extends SloStatus {
  tenantId: string;
  /** Its tier in the latest bucket (a tier change takes effect from there). */
  tier: TierName;
  /** The cells it was served by in the budget period, the latest last (a moved tenant has two). */
  cellIds: string[];
  objectives: SloTargets;
  traffic: TrafficStats;
}

export interface CellSlo extends SloStatus {
  cellId: string;
  tier: TierName;
  tenants: number;
  objectives: SloTargets;
  traffic: TrafficStats;
}

export interface SloReport {
  /** Where every window ends (the end of the bucket `now` falls in). */
  at: string;
  budgetDays: number;
  /** Tenants with an alert firing or their budget spent, the fastest burner first. */
  tenants: TenantSlo[];
  /** Cells (per tier) with an alert firing or their budget spent, the fastest burner first. */
  cells: CellSlo[];
}

export interface NeighbourTraffic extends TrafficStats {
  tenantId: string;
  tier: TierName;
}

export interface NoisyNeighbourView {
  tenantId: string;
  window: { from: string; to: string };
  /** One entry per cell that served the tenant in the window. */
  cells: { cellId: string; tenant: NeighbourTraffic; neighbours: NeighbourTraffic[] }[];
}

const BUCKET_MS = BUCKET_MINUTES * 60_000;
const MINUTE_MS = 60_000;

/**
 * Where every window ends: the end of the bucket `now` falls in, so the bucket still filling counts
 * (an operator sees a failure as it happens). A `now` on a boundary ends there: nothing of the next
 * bucket has happened yet.
 */
export function windowEnd(now: Date): Date {
  return new Date(Math.ceil(now.getTime() / BUCKET_MS) * BUCKET_MS);
}

/** The `minutes` before the window end of `now`: whole buckets. */
export function windowRange(now: Date, minutes: number): Range {
  const to = windowEnd(now);
  return { from: new Date(to.getTime() - minutes * MINUTE_MS), to };
}

/**
 * The budget period before `now`: SLO_BUDGET_DAYS of buckets — or of whole UTC days when the budget
 * is read from day rows, the first of which starts at or after the period's start.
 */
export function budgetRange(now: Date): Range {
  return windowRange(now, SLO_BUDGET_DAYS * 24 * 60);
}

function inRange(bucket: LatencyBucket, range: Range): boolean {
  const start = Date.parse(bucket.start);
  return start >= range.from.getTime() && start < range.to.getTime();
}

/** Availability and latency events of some buckets; each bucket is judged by its own tier's latency target. */
export function sliCounts(buckets: readonly LatencyBucket[]): Record<SliName, SliCounts> {
  let valid = 0;
  let serverErrors = 0;
  let timed = 0;
  let slow = 0;
  for (const bucket of buckets) {
    valid += bucket.requests - bucket.throttled;
    serverErrors += bucket.serverErrors;
    // A coarse (day) bucket says how many were slow; a 5-minute bucket's histogram says it exactly.
    timed += bucket.slow === undefined ? histogramCount(bucket.latencies) : bucket.answered;
    slow += bucket.slow ?? countAbove(bucket.latencies, TIERS[bucket.tier].slo.p99LatencyMs);
  }
  return { availability: { valid, bad: serverErrors }, latency: { valid: timed, bad: slow } };
}

/** Requests, 5xx, throttles and percentiles of some buckets. */
export function trafficStats(buckets: readonly LatencyBucket[]): TrafficStats {
  let requests = 0;
  let serverErrors = 0;
  let throttled = 0;
  for (const bucket of buckets) {
    requests += bucket.requests;
    serverErrors += bucket.serverErrors;
    throttled += bucket.throttled;
  }
  const valid = requests - throttled;
  return {
    requests,
    serverErrors,
    throttled,
    errorRate: valid > 0 ? serverErrors / valid : 0,
    throttleRate: requests > 0 ? throttled / requests : 0,
    ...percentiles(mergeHistograms(buckets.map((bucket) => bucket.latencies))),
  };
}

/**
 * Both SLIs of some buckets (one tenant's, or one cell's in one tier) at `now`: burn rate in each
 * window, firing alerts, and the budget left over the SLO_BUDGET_DAYS before `now`.
 */
export function sloStatus(buckets: readonly LatencyBucket[], objectives: SloTargets, now: Date, budgetBuckets: readonly LatencyBucket[] = buckets): SloStatus {
  const perWindow = Object.fromEntries(
    SLO_WINDOW_NAMES.map((name) => [name, sliCounts(buckets.filter((bucket) => inRange(bucket, windowRange(now, SLO_WINDOWS[name]))))]),
  ) as Record<SloWindow, Record<SliName, SliCounts>>;
  const budget = sliCounts(budgetBuckets.filter((bucket) => inRange(bucket, budgetRange(now))));
  const status = (sli: SliName, objectivePercent: number): SliStatus => {
    const burnRates = Object.fromEntries(SLO_WINDOW_NAMES.map((name) => [name, burnRate(perWindow[name][sli], objectivePercent)])) as Record<SloWindow, number>;
    return { objectivePercent, burnRates, alerts: firingAlerts(burnRates), budgetRemaining: 1 - burnRate(budget[sli], objectivePercent) };
  };
  return { availability: status('availability', objectives.availabilityPercent), latency: status('latency', LATENCY_SLO_PERCENT) };
}

function groupBy<K>(buckets: readonly LatencyBucket[], key: (bucket: LatencyBucket) => K): Map<K, LatencyBucket[]> {
  const groups = new Map<K, LatencyBucket[]>();
  for (const bucket of buckets) {
    const k = key(bucket);
    const group = groups.get(k);
    if (group) group.push(bucket);
    else groups.set(k, [bucket]);
  }
  return groups;
}

function byStart(a: LatencyBucket, b: LatencyBucket): number {
  return Date.parse(a.start) - Date.parse(b.start);
}

function isBurning(status: SloStatus): boolean {
  return [status.availability, status.latency].some((sli) => sli.alerts.length > 0 || sli.budgetRemaining <= 0);
}

function fastestBurn(status: SloStatus): number {
  return Math.max(...[status.availability, status.latency].flatMap((sli) => Object.values(sli.burnRates)));
}

/**
 * The tenants and cells burning their budget at `now`, from the buckets of the budget period before
 * it. A cell is judged per tier, against that tier's objectives (as its alarms in AWS are).
 */
export function sloReport(buckets: readonly LatencyBucket[], now: Date, budgetBuckets?: readonly LatencyBucket[]): SloReport {
  const traffic = (group: readonly LatencyBucket[]) => trafficStats(group.filter((bucket) => inRange(bucket, windowRange(now, SLO_WINDOWS[TRAFFIC_WINDOW]))));
  // Without separate budget buckets, the recent buckets are the budget's too.
  const budgetOf = (group: readonly LatencyBucket[], budgetGroup: readonly LatencyBucket[] | undefined) => (budgetBuckets === undefined ? group : (budgetGroup ?? []));
  const recentByTenant = groupBy(buckets, (bucket) => bucket.tenantId);
  const budgetByTenant = groupBy(budgetBuckets ?? [], (bucket) => bucket.tenantId);
  const tenants: TenantSlo[] = [];
  for (const tenantId of new Set([...recentByTenant.keys(), ...budgetByTenant.keys()])) {
    const group = recentByTenant.get(tenantId) ?? [];
    const budget = budgetOf(group, budgetByTenant.get(tenantId));
    const sorted = [...budget, ...group].sort(byStart);
    // biome-ignore lint/style/noNonNullAssertion: a tenant has at least one bucket, recent or in its budget.
    const tier = sorted.at(-1)!.tier;
    const objectives = TIERS[tier].slo;
    const cellIds = [...new Set(sorted.map((bucket) => bucket.cellId).reverse())].reverse();
    tenants.push({ tenantId, tier, cellIds, objectives, traffic: traffic(group), ...sloStatus(group, objectives, now, budget) });
  }
  const cellKey = (bucket: LatencyBucket) => `${bucket.cellId}\u0000${bucket.tier}`;
  const recentByCell = groupBy(buckets, cellKey);
  const budgetByCell = groupBy(budgetBuckets ?? [], cellKey);
  const cells: CellSlo[] = [];
  for (const key of new Set([...recentByCell.keys(), ...budgetByCell.keys()])) {
    const group = recentByCell.get(key) ?? [];
    const budget = budgetOf(group, budgetByCell.get(key));
    // biome-ignore lint/style/noNonNullAssertion: a cell has at least one bucket, recent or in its budget.
    const { cellId, tier } = (group[0] ?? budget[0])!;
    const objectives = TIERS[tier].slo;
    const tenantCount = new Set([...group, ...budget].map((bucket) => bucket.tenantId)).size;
    cells.push({ cellId, tier, tenants: tenantCount, objectives, traffic: traffic(group), ...sloStatus(group, objectives, now, budget) });
  }
  const burning = <T extends SloStatus>(items: T[]) => items.filter(isBurning).sort((a, b) => fastestBurn(b) - fastestBurn(a));
  return { at: windowEnd(now).toISOString(), budgetDays: SLO_BUDGET_DAYS, tenants: burning(tenants), cells: burning(cells) };
}

/**
 * A tenant's traffic next to every other tenant of each cell that served it, in the TRAFFIC_WINDOW
 * before `now`: who else was slow or failing when it was.
 */
export function noisyNeighbours(buckets: readonly LatencyBucket[], tenantId: string, now: Date): NoisyNeighbourView {
  const range = windowRange(now, SLO_WINDOWS[TRAFFIC_WINDOW]);
  const inWindow = buckets.filter((bucket) => inRange(bucket, range));
  const tenantTraffic = (group: LatencyBucket[]): NeighbourTraffic => {
    const sorted = [...group].sort(byStart);
    // biome-ignore lint/style/noNonNullAssertion: a group holds at least one bucket.
    const last = sorted.at(-1)!;
    return { tenantId: last.tenantId, tier: last.tier, ...trafficStats(group) };
  };
  const cellIds = [
    ...new Set(
      inWindow
        .filter((bucket) => bucket.tenantId === tenantId)
        .sort(byStart)
        .map((bucket) => bucket.cellId),
    ),
  ];
  const cells = cellIds.map((cellId) => {
    const byTenant = groupBy(
      inWindow.filter((bucket) => bucket.cellId === cellId),
      (bucket) => bucket.tenantId,
    );
    // biome-ignore lint/style/noNonNullAssertion: the cell was chosen for serving this tenant.
    const tenant = tenantTraffic(byTenant.get(tenantId)!);
    const neighbours = [...byTenant.entries()]
      .filter(([id]) => id !== tenantId)
      .map(([, group]) => tenantTraffic(group))
      .sort((a, b) => b.requests - a.requests || a.tenantId.localeCompare(b.tenantId));
    return { cellId, tenant, neighbours };
  });
  return { tenantId, window: { from: range.from.toISOString(), to: range.to.toISOString() }, cells };
}
