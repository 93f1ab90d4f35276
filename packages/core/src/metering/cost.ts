/**
 * The cost model (DESIGN §10): what each tenant costs Cellbook over a range, what it pays, and the
 * margin between them — from the ledger's rows and the price table, nothing else.
 *
 * - Variable cost: each (tenant, cell, tier) slice's metered consumption × price (prices.ts), priced
 *   on the slice's summed quantities and rounded to the micro-dollar once per price line. Requests
 *   pay API Gateway, Lambda requests, CloudFront requests and the log bytes they are assumed to
 *   write; storage is priced by the byte-hour from the hourly snapshots.
 * - Fixed cost: each cell's fixed monthly cost, prorated to the range (hours / 730), is shared among
 *   the slices in that cell **in proportion to their variable cost** — the consumption measure,
 *   because it weighs requests, compute, capacity and storage by what they cost. If nobody in the
 *   cell consumed anything in the range, the slices share it equally. So a tenant with no usage
 *   costs exactly its share of fixed costs: nothing beside tenants that consume, an equal part of
 *   an idle cell. Shares are split by largest remainder, so a cell's shares add up to its cost exactly.
 * - Revenue: the tier's list price per hour (monthly / 730) for every period the tenant has a row
 *   in — the hourly snapshot gives every active hour one — split equally among the period's rows
 *   when a move put it in two cells that period. Margin = revenue − cost.
 *
 * Money is integer micro-dollars; BigInt where a product could pass 2^53.
 */
import type { Placement, TierName } from '../tenancy/tiers.js';
import type { Granularity, Range, UsageRow } from './ledger.js';
import {
  ACCESS_LOG_BYTES_PER_REQUEST,
  FUNCTION_LOG_BYTES_PER_REQUEST,
  HOURS_PER_MONTH,
  PRICES,
  TIER_PRICES,
  cellFixedMonthlyMicros,
  divideRounded,
  priceOf,
  type Micros,
} from './prices.js';
import { COUNTER_DIMENSIONS, GAUGE_DIMENSIONS, type CounterDimension, type Dimension, type GaugeDimension, type Gauges } from './usage-event.js';

export const PERIOD_HOURS: Readonly<Record<Granularity, number>> = { hour: 1, day: 24 };

/** A slice's variable cost, line by line. */
export interface VariableCost {
  apiGateway: Micros;
  lambdaRequests: Micros;
  lambdaDuration: Micros;
  dynamoReads: Micros;
  dynamoWrites: Micros;
  dynamoStorage: Micros;
  logIngestion: Micros;
  cloudFront: Micros;
  exportTransfer: Micros;
  total: Micros;
}

/** What a group of usage cost, earned and left. */
export interface Economics {
  variable: VariableCost;
  fixedShare: Micros;
  /** Cost of goods sold: variable + fixed share. */
  cost: Micros;
  revenue: Micros;
  margin: Micros;
  /** margin / revenue × 100, or null without revenue. */
  marginPercent: number | null;
  /** cost / mean active cases, or null without active cases. */
  costPerActiveCase: Micros | null;
  /** cost × 1,000 / API requests, or null without requests. */
  costPer1000Calls: Micros | null;
}

/** One tenant's usage in one cell and tier over the range. */
export interface CostSlice {
  tenantId: string;
  cellId: string;
  tier: TierName;
  /** Hours of the periods it has rows in. */
  hours: number;
  quantities: Record<CounterDimension, number>;
  /** Σ gauge × hours, over the periods whose row carries the gauge. */
  gaugeHours: Record<GaugeDimension, number>;
  /** Hours of the periods whose row carries each gauge. */
  gaugeCoverage: Record<GaugeDimension, number>;
  variable: VariableCost;
  fixedShare: Micros;
  revenue: Micros;
}

export interface CostModelInput {
  range: Range;
  granularity: Granularity;
  /**
   * Rows of every tenant of every cell concerned (a tenant's fixed share depends on its
   * neighbours' consumption), in the range.
   */
  rows: readonly UsageRow[];
  /** Each cell's placement, for its fixed cost; a cell not named is taken as pooled. */
  placementOf?: (cellId: string) => Placement | undefined;
}

export interface CostModel {
  slices: CostSlice[];
  /** Each cell with rows: its fixed cost over the range. */
  cellFixed: Map<string, Micros>;
}

export function emptyQuantities(): Record<CounterDimension, number> {
  return Object.fromEntries(COUNTER_DIMENSIONS.map((dimension) => [dimension, 0])) as Record<CounterDimension, number>;
}

function emptyGauges(): Record<GaugeDimension, number> {
  return Object.fromEntries(GAUGE_DIMENSIONS.map((dimension) => [dimension, 0])) as Record<GaugeDimension, number>;
}

function rangeHours(range: Range): number {
  return (range.to.getTime() - range.from.getTime()) / 3_600_000;
}

/** A cell's fixed cost over the range: its monthly cost × hours / 730. */
export function fixedCostOver(placement: Placement, hours: number): Micros {
  return divideRounded(BigInt(cellFixedMonthlyMicros(placement)) * BigInt(Math.round(hours * 3600)), BigInt(HOURS_PER_MONTH * 3600));
}

/** The variable cost of a slice's quantities and storage byte-hours. */
export function variableCost(quantities: Readonly<Record<CounterDimension, number>>, storageByteHours: number): VariableCost {
  const requests = quantities.apiRequests;
  const lines = {
    apiGateway: priceOf(requests, PRICES.apiGatewayRestRequest),
    lambdaRequests: priceOf(requests, PRICES.lambdaRequest),
    lambdaDuration: priceOf(quantities.functionGbMs, PRICES.lambdaArmGbMs),
    dynamoReads: priceOf(quantities.readUnits, PRICES.dynamoReadUnit),
    dynamoWrites: priceOf(quantities.writeUnits, PRICES.dynamoWriteUnit),
    dynamoStorage: priceOf(storageByteHours, PRICES.dynamoStorageByteHour),
    logIngestion: priceOf(requests * (FUNCTION_LOG_BYTES_PER_REQUEST + ACCESS_LOG_BYTES_PER_REQUEST), PRICES.logsIngestionByte),
    cloudFront: priceOf(requests, PRICES.cloudFrontHttpsRequest),
    exportTransfer: priceOf(quantities.exportBytes, PRICES.cloudFrontTransferOutByte),
  };
  return { ...lines, total: Object.values(lines).reduce((sum, line) => sum + line, 0) };
}

export function addVariable(a: VariableCost, b: VariableCost): VariableCost {
  const sum = {} as VariableCost;
  for (const key of Object.keys(a) as (keyof VariableCost)[]) sum[key] = a[key] + b[key];
  return sum;
}

export const ZERO_VARIABLE: VariableCost = variableCost(emptyQuantities(), 0);

/** Splits `total` by `weights` (largest remainder: the parts add up to `total` exactly); equally if every weight is 0. */
export function splitByWeight(total: Micros, weights: readonly number[]): Micros[] {
  if (weights.length === 0) return [];
  const all = weights.reduce((sum, weight) => sum + BigInt(weight), 0n);
  const effective = all === 0n ? weights.map(() => 1n) : weights.map((weight) => BigInt(weight));
  const denominator = all === 0n ? BigInt(weights.length) : all;
  const exact = effective.map((weight) => BigInt(total) * weight);
  const parts = exact.map((product) => product / denominator);
  let left = BigInt(total) - parts.reduce((sum, part) => sum + part, 0n);
  const byRemainder = exact
    .map((product, index) => ({ index, remainder: product % denominator }))
    .sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : a.index - b.index));
  for (const { index } of byRemainder) {
    if (left <= 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** Prices every (tenant, cell, tier) slice of the rows: variable cost, fixed share, revenue. */
export function costModel({ range, granularity, rows, placementOf }: CostModelInput): CostModel {
  const hoursPerPeriod = PERIOD_HOURS[granularity];
  const slices = new Map<string, CostSlice>();
  const periods = new Map<string, Set<string>>();
  const rowsPerTenantPeriod = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.tenantId}|${row.cellId}|${row.tier}`;
    let slice = slices.get(key);
    if (!slice) {
      slice = {
        tenantId: row.tenantId,
        cellId: row.cellId,
        tier: row.tier,
        hours: 0,
        quantities: emptyQuantities(),
        gaugeHours: emptyGauges(),
        gaugeCoverage: emptyGauges(),
        variable: ZERO_VARIABLE,
        fixedShare: 0,
        revenue: 0,
      };
      slices.set(key, slice);
      periods.set(key, new Set());
    }
    periods.get(key)?.add(row.period);
    for (const dimension of COUNTER_DIMENSIONS) slice.quantities[dimension] += row.quantities[dimension] ?? 0;
    for (const dimension of GAUGE_DIMENSIONS) {
      const value = row.gauges[dimension];
      if (value === undefined) continue;
      slice.gaugeHours[dimension] += value * hoursPerPeriod;
      slice.gaugeCoverage[dimension] += hoursPerPeriod;
    }
    const tenantPeriod = `${row.tenantId}|${row.period}`;
    rowsPerTenantPeriod.set(tenantPeriod, (rowsPerTenantPeriod.get(tenantPeriod) ?? 0) + 1);
  }

  // Revenue: each period's price-hours, split among the tenant's rows of that period.
  const revenueNumerators = new Map<string, bigint>();
  for (const row of rows) {
    const key = `${row.tenantId}|${row.cellId}|${row.tier}`;
    const sharing = BigInt(rowsPerTenantPeriod.get(`${row.tenantId}|${row.period}`) ?? 1);
    // In units of micros / (730 × 12 × 11 × 10 × 9 × 8 × 7): exact for up to 12 rows in a period.
    const numerator = (BigInt(TIER_PRICES[row.tier].monthlyMicros) * BigInt(hoursPerPeriod) * REVENUE_SCALE) / sharing;
    revenueNumerators.set(key, (revenueNumerators.get(key) ?? 0n) + numerator);
  }

  const byCell = new Map<string, CostSlice[]>();
  for (const [key, slice] of slices) {
    slice.hours = (periods.get(key)?.size ?? 0) * hoursPerPeriod;
    slice.variable = variableCost(slice.quantities, slice.gaugeHours.storageBytes);
    slice.revenue = divideRounded(revenueNumerators.get(key) ?? 0n, REVENUE_SCALE * BigInt(HOURS_PER_MONTH));
    byCell.set(slice.cellId, [...(byCell.get(slice.cellId) ?? []), slice]);
  }

  const cellFixed = new Map<string, Micros>();
  const hours = rangeHours(range);
  for (const [cellId, cellSlices] of byCell) {
    const fixed = fixedCostOver(placementOf?.(cellId) ?? 'pooled', hours);
    cellFixed.set(cellId, fixed);
    const shares = splitByWeight(
      fixed,
      cellSlices.map((slice) => slice.variable.total),
    );
    cellSlices.forEach((slice, index) => {
      slice.fixedShare = shares[index] ?? 0;
    });
  }
  return { slices: [...slices.values()], cellFixed };
}

/** 12! / 5! — divisible by every count of rows one period may be split among, up to 12. */
const REVENUE_SCALE = 3_991_680n;

/** Sums slices (of one tenant, tier or cell) into its economics and usage totals. */
export interface Summary {
  quantities: Record<CounterDimension, number>;
  /** Time-weighted mean of each gauge over the hours it was measured (0 if never). */
  gauges: Record<GaugeDimension, number>;
  economics: Economics;
  tenants: number;
}

export function summarize(slices: readonly CostSlice[]): Summary {
  const quantities = emptyQuantities();
  const gaugeHours = emptyGauges();
  const coverage = emptyGauges();
  let variable = ZERO_VARIABLE;
  let fixedShare = 0;
  let revenue = 0;
  for (const slice of slices) {
    for (const dimension of COUNTER_DIMENSIONS) quantities[dimension] += slice.quantities[dimension];
    for (const dimension of GAUGE_DIMENSIONS) {
      gaugeHours[dimension] += slice.gaugeHours[dimension];
      coverage[dimension] += slice.gaugeCoverage[dimension];
    }
    variable = addVariable(variable, slice.variable);
    fixedShare += slice.fixedShare;
    revenue += slice.revenue;
  }
  const gauges = emptyGauges();
  // A gauge of a group is the sum of its tenants' means: mean over each tenant's measured hours.
  const perTenant = new Map<string, { hours: Record<GaugeDimension, number>; coverage: Record<GaugeDimension, number> }>();
  for (const slice of slices) {
    const entry = perTenant.get(slice.tenantId) ?? { hours: emptyGauges(), coverage: emptyGauges() };
    for (const dimension of GAUGE_DIMENSIONS) {
      entry.hours[dimension] += slice.gaugeHours[dimension];
      entry.coverage[dimension] += slice.gaugeCoverage[dimension];
    }
    perTenant.set(slice.tenantId, entry);
  }
  for (const { hours, coverage: measured } of perTenant.values()) {
    for (const dimension of GAUGE_DIMENSIONS) if (measured[dimension] > 0) gauges[dimension] += hours[dimension] / measured[dimension];
  }
  const cost = variable.total + fixedShare;
  const margin = revenue - cost;
  return {
    quantities,
    gauges,
    tenants: perTenant.size,
    economics: {
      variable,
      fixedShare,
      cost,
      revenue,
      margin,
      marginPercent: revenue === 0 ? null : Math.round((margin / revenue) * 10_000) / 100,
      costPerActiveCase: gauges.activeCases > 0 ? Math.round(cost / gauges.activeCases) : null,
      costPer1000Calls: quantities.apiRequests > 0 ? divideRounded(BigInt(cost) * 1000n, BigInt(quantities.apiRequests)) : null,
    },
  };
}

/** The value a dimension sorts a group by: a counter's sum, a gauge's mean. */
export function dimensionValue(summary: Summary, dimension: Dimension): number {
  return (GAUGE_DIMENSIONS as readonly string[]).includes(dimension) ? summary.gauges[dimension as GaugeDimension] : summary.quantities[dimension as CounterDimension];
}

/** Per period, a tenant's rows of every cell summed: one continuous series across moves. */
export interface SeriesPoint {
  period: string;
  quantities: Record<CounterDimension, number>;
  gauges: Gauges;
  gateway: UsageRow['gateway'];
  /** Metered API requests by route. */
  routes: Record<string, number>;
}

export function tenantSeries(rows: readonly UsageRow[]): SeriesPoint[] {
  const points = new Map<string, SeriesPoint>();
  for (const row of rows) {
    let point = points.get(row.period);
    if (!point) {
      point = {
        period: row.period,
        quantities: emptyQuantities(),
        gauges: {},
        gateway: { requests: 0, integration: 0, throttled: 0, quota: 0, refused: 0, serverErrors: 0, slow: 0 },
        routes: {},
      };
      points.set(row.period, point);
    }
    for (const dimension of COUNTER_DIMENSIONS) point.quantities[dimension] += row.quantities[dimension] ?? 0;
    // One snapshot per tenant and hour (its idempotency key names both): a moved tenant's gauge comes from one cell.
    for (const dimension of GAUGE_DIMENSIONS) {
      const value = row.gauges[dimension];
      if (value !== undefined) point.gauges[dimension] = Math.max(point.gauges[dimension] ?? 0, value);
    }
    for (const key of Object.keys(point.gateway) as (keyof UsageRow['gateway'])[]) point.gateway[key] += row.gateway[key] ?? 0;
    for (const [route, count] of Object.entries(row.routes ?? {})) point.routes[route] = (point.routes[route] ?? 0) + count;
  }
  return [...points.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
}
