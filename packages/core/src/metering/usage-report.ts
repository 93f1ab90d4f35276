/**
 * The operator's usage reports (DESIGN §10): one tenant's series with its cost and margin
 * (`GET /admin/tenants/{id}/usage`), and the top tenants, tiers or cells by any dimension, cost or
 * negative margin (`GET /admin/usage`, also as CSV). Read from the ledger's aggregates and priced
 * by the cost model; a tenant's fixed share needs its cells' other tenants, so both read every
 * tenant's rows of the range (the ledger's by-period index, never a Scan).
 */
import * as z from 'zod/mini';
import * as Cell from '../cells/cell.js';
import { TenantNotFound, ValidationFailed } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import type { Placement, TierName } from '../tenancy/tiers.js';
import { getRecord } from '../tenants/tenant.js';
import { type CostSlice, type Economics, type SeriesPoint, type Summary, costModel, dimensionValue, fixedCostOver, summarize, tenantSeries } from './cost.js';
import { type Granularity, LEDGER_RETENTION_DAYS, type LedgerTable, type Range, type UsageRow, ledgerTable, tenantUsage, usageInRange } from './ledger.js';
import { PRICES_AS_OF, PRICES_REGION, type Micros, formatUsd } from './prices.js';
import { COUNTER_DIMENSIONS, DIMENSIONS, GAUGE_DIMENSIONS, type CounterDimension, type Dimension, type GaugeDimension } from './usage-event.js';

export const GROUP_BYS = ['tenant', 'tier', 'cell'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];
export const SORTS = [...DIMENSIONS, 'cost', 'margin'] as const;
export type Sort = Dimension | 'cost' | 'margin';
export const MAX_TOP = 100;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const Instant = z
  .string()
  .check(
    z.refine(
      (value) => (DATE.test(value) || DATE_TIME.test(value)) && !Number.isNaN(Date.parse(value)) && isCalendarDate(value.slice(0, 10)),
      'must be a date (2026-12-03) or a UTC date-time (2026-12-03T14:00:00Z)',
    ),
  );

/** `2026-02-30` parses (as 2 March): a date is one only if the calendar has it. */
function isCalendarDate(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const at = new Date(Date.UTC(year, month - 1, day));
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day;
}

const RangeFields = {
  from: z.optional(Instant),
  to: z.optional(Instant),
  granularity: z.optional(z.enum(['hour', 'day'], 'must be hour or day')),
};

export const TenantUsageInput = z.strictObject(RangeFields);

/** A range of whole hours (reconciliation compares hours). */
export const HourRangeInput = z.strictObject({ from: RangeFields.from, to: RangeFields.to });

export const UsageReportInput = z.strictObject({
  ...RangeFields,
  groupBy: z._default(z.enum(GROUP_BYS, `must be one of ${GROUP_BYS.join(', ')}`), 'tenant'),
  sort: z._default(z.enum(SORTS, `must be one of ${SORTS.join(', ')}`), 'cost'),
  top: z._default(z.coerce.number().check(z.int('must be a whole number'), z.minimum(1), z.maximum(MAX_TOP)), 10),
  format: z.optional(z.enum(['json', 'csv'], 'must be json or csv')),
});

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function floorTo(ms: number, granularity: Granularity): number {
  const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(ms / step) * step;
}

function ceilTo(ms: number, granularity: Granularity): number {
  const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
  return Math.ceil(ms / step) * step;
}

export interface ReportRange extends Range {
  granularity: Granularity;
}

/**
 * The range asked for, widened to whole periods: `to` (exclusive) defaults to the end of the current
 * period, `from` to a day (hours) or 30 days (days) before it. Refused: `from` not before `to`, a
 * range reaching further back than the ledger keeps rows of that granularity, and a `to` after the
 * current period (so no range is ever longer than the retention).
 */
export function reportRange(input: { from?: string | undefined; to?: string | undefined; granularity?: Granularity | undefined }, now: Date): ReportRange {
  const granularity = input.granularity ?? 'day';
  const to = ceilTo(input.to === undefined ? now.getTime() + 1 : Date.parse(input.to), granularity);
  const from = floorTo(input.from === undefined ? to - (granularity === 'hour' ? DAY_MS : 30 * DAY_MS) : Date.parse(input.from), granularity);
  const details: { path: string; message: string }[] = [];
  if (input.from !== undefined && input.to !== undefined && Date.parse(input.from) >= Date.parse(input.to)) details.push({ path: 'from', message: 'must be before to' });
  else if (from >= to) details.push({ path: 'from', message: 'must be before to' });
  const retention = LEDGER_RETENTION_DAYS[granularity];
  const oldest = floorTo(now.getTime(), granularity) - retention * DAY_MS;
  if (from < oldest) {
    details.push({
      path: 'from',
      message: `the ledger keeps ${granularity} rows ${retention} days: from must be on or after ${new Date(oldest).toISOString()}`,
    });
  }
  // Nothing is metered ahead of the current period; a `to` beyond it asks for a range no query should walk.
  const latest = ceilTo(now.getTime() + 1, granularity);
  if (to > latest) details.push({ path: 'to', message: `must not be after the end of the current ${granularity}, ${new Date(latest).toISOString()}` });
  if (details.length > 0) throw new ValidationFailed('The request is not valid.', { details });
  return { from: new Date(from), to: new Date(to), granularity };
}

export interface Money {
  usd: string;
  micros: Micros;
}

export function money(micros: Micros): Money {
  return { usd: formatUsd(micros), micros };
}

export interface EconomicsView {
  cost: Money;
  variableCost: Record<keyof Economics['variable'], Money>;
  fixedCostShare: Money;
  revenue: Money;
  margin: Money;
  marginPercent: number | null;
  costPerActiveCase: Money | null;
  costPer1000Calls: Money | null;
}

function economicsView(economics: Economics): EconomicsView {
  return {
    cost: money(economics.cost),
    variableCost: Object.fromEntries(Object.entries(economics.variable).map(([line, micros]) => [line, money(micros)])) as EconomicsView['variableCost'],
    fixedCostShare: money(economics.fixedShare),
    revenue: money(economics.revenue),
    margin: money(economics.margin),
    marginPercent: economics.marginPercent,
    costPerActiveCase: economics.costPerActiveCase === null ? null : money(economics.costPerActiveCase),
    costPer1000Calls: economics.costPer1000Calls === null ? null : money(economics.costPer1000Calls),
  };
}

function rangeView(range: ReportRange) {
  return { from: range.from.toISOString(), to: range.to.toISOString(), granularity: range.granularity };
}

const PRICES_VIEW = { region: PRICES_REGION, asOf: PRICES_AS_OF };

/** A deployed cell (one still being provisioned costs nothing yet). */
export interface DeployedCell {
  cellId: string;
  placement: Placement;
}

async function deployedCells(): Promise<DeployedCell[]> {
  return (await Cell.list()).filter((cell) => cell.status !== 'provisioning').map(({ cellId, placement }) => ({ cellId, placement }));
}

function placementIn(cells: readonly DeployedCell[]): (cellId: string) => Placement | undefined {
  const byId = new Map(cells.map((cell) => [cell.cellId, cell.placement]));
  return (cellId) => byId.get(cellId);
}

function requestsByRoute(rows: readonly UsageRow[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) for (const [route, count] of Object.entries(row.routes)) counts.set(route, (counts.get(route) ?? 0) + count);
  return Object.fromEntries([...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

function roundGauges(gauges: Record<GaugeDimension, number>): Record<GaugeDimension, number> {
  return Object.fromEntries(GAUGE_DIMENSIONS.map((dimension) => [dimension, Math.round(gauges[dimension])])) as Record<GaugeDimension, number>;
}

export interface TenantUsageReport {
  tenantId: string;
  tier: TierName;
  range: ReturnType<typeof rangeView>;
  /** One point per period with usage, its cells summed. */
  series: SeriesPoint[];
  /** `requestsByRoute`: its metered API requests by route, most first. */
  totals: { quantities: Record<CounterDimension, number>; gauges: Record<GaugeDimension, number>; requestsByRoute: Record<string, number> };
  economics: EconomicsView;
  /** The tenant's usage by cell and tier (more than one after a move or a tier change). */
  cells: { cellId: string; tier: TierName; hours: number; economics: EconomicsView }[];
  prices: typeof PRICES_VIEW;
}

/** GET /admin/tenants/{tenantId}/usage */
export async function tenantReport(tenantId: string, input: unknown, options: { now?: Date; ledger?: LedgerTable } = {}): Promise<TenantUsageReport> {
  const now = options.now ?? new Date();
  const range = reportRange(parse(TenantUsageInput, input ?? {}, '(query)'), now);
  const record = await getRecord(tenantId);
  if (!record) throw new TenantNotFound();
  const ledger = options.ledger ?? ledgerTable();
  const [own, all, placementOf] = await Promise.all([
    tenantUsage(ledger, record.tenantId, range, range.granularity),
    usageInRange(ledger, range, range.granularity),
    deployedCells().then(placementIn),
  ]);
  // The neighbours that share the tenant's cells' fixed costs; the tenant's own rows from its own query.
  const cells = new Set(own.map((row) => row.cellId));
  const rows = [...own, ...all.filter((row) => row.tenantId !== record.tenantId && cells.has(row.cellId))];
  const { slices } = costModel({ range, granularity: range.granularity, rows, placementOf });
  const mine = slices.filter((slice) => slice.tenantId === record.tenantId);
  const summary = summarize(mine);
  return {
    tenantId: record.tenantId,
    tier: record.tier,
    range: rangeView(range),
    series: tenantSeries(own),
    totals: { quantities: summary.quantities, gauges: roundGauges(summary.gauges), requestsByRoute: requestsByRoute(own) },
    economics: economicsView(summary.economics),
    cells: mine.map((slice) => ({ cellId: slice.cellId, tier: slice.tier, hours: slice.hours, economics: economicsView(summarize([slice]).economics) })),
    prices: PRICES_VIEW,
  };
}

export interface UsageGroup {
  key: string;
  tenants: number;
  quantities: Record<CounterDimension, number>;
  gauges: Record<GaugeDimension, number>;
  economics: EconomicsView;
}

export interface UsageReport {
  range: ReturnType<typeof rangeView>;
  groupBy: GroupBy;
  sort: Sort;
  top: number;
  /** How many groups had usage (the report lists the top `top`). */
  groups: number;
  items: UsageGroup[];
  /** Every tenant of the range: the whole bill, not just the top. */
  totals: Omit<UsageGroup, 'key'>;
  /** Deployed cells no tenant used in the range: their fixed cost is nobody's, so it is in no margin. */
  idleCells: { cellId: string; fixedCost: Money }[];
  prices: typeof PRICES_VIEW;
}

function groupKey(slice: CostSlice, groupBy: GroupBy): string {
  return groupBy === 'tenant' ? slice.tenantId : groupBy === 'tier' ? slice.tier : slice.cellId;
}

function sortValue(summary: Summary, sort: Sort): number {
  if (sort === 'cost') return summary.economics.cost;
  if (sort === 'margin') return summary.economics.margin;
  return dimensionValue(summary, sort);
}

/** Groups priced slices and keeps the top `top`: the largest first, but the lowest margin first. */
export function rankGroups(slices: readonly CostSlice[], groupBy: GroupBy, sort: Sort, top: number): { groups: number; items: UsageGroup[] } {
  const grouped = new Map<string, CostSlice[]>();
  for (const slice of slices) {
    const key = groupKey(slice, groupBy);
    grouped.set(key, [...(grouped.get(key) ?? []), slice]);
  }
  const ranked = [...grouped].map(([key, members]) => ({ key, summary: summarize(members) }));
  const direction = sort === 'margin' ? 1 : -1;
  ranked.sort((a, b) => direction * (sortValue(a.summary, sort) - sortValue(b.summary, sort)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    groups: ranked.length,
    items: ranked.slice(0, top).map(({ key, summary }) => ({
      key,
      tenants: summary.tenants,
      quantities: summary.quantities,
      gauges: roundGauges(summary.gauges),
      economics: economicsView(summary.economics),
    })),
  };
}

/** GET /admin/usage */
export async function usageReport(input: unknown, options: { now?: Date; ledger?: LedgerTable } = {}): Promise<UsageReport & { format: 'json' | 'csv' | undefined }> {
  const now = options.now ?? new Date();
  const query = parse(UsageReportInput, input ?? {}, '(query)');
  const range = reportRange(query, now);
  const ledger = options.ledger ?? ledgerTable();
  const [rows, cells] = await Promise.all([usageInRange(ledger, range, range.granularity), deployedCells()]);
  return { ...report(rows, range, query, cells), format: query.format };
}

/** The report of rows already read (pure: what `usageReport` answers). */
export function report(rows: readonly UsageRow[], range: ReportRange, query: { groupBy: GroupBy; sort: Sort; top: number }, cells: readonly DeployedCell[] = []): UsageReport {
  const { slices, cellFixed } = costModel({ range, granularity: range.granularity, rows, placementOf: placementIn(cells) });
  const hours = (range.to.getTime() - range.from.getTime()) / HOUR_MS;
  const { groups, items } = rankGroups(slices, query.groupBy, query.sort, query.top);
  const all = summarize(slices);
  return {
    range: rangeView(range),
    groupBy: query.groupBy,
    sort: query.sort,
    top: query.top,
    groups,
    items,
    totals: { tenants: all.tenants, quantities: all.quantities, gauges: roundGauges(all.gauges), economics: economicsView(all.economics) },
    idleCells: cells.filter((cell) => !cellFixed.has(cell.cellId)).map((cell) => ({ cellId: cell.cellId, fixedCost: money(fixedCostOver(cell.placement, hours)) })),
    prices: PRICES_VIEW,
  };
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  // A leading =, +, - or @ would be read as a formula by a spreadsheet (CSV injection); a negative amount is a number.
  const safe = /^[=+\-@]/.test(text) && !/^-\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_COLUMNS = [
  'group_by',
  'key',
  'tenants',
  ...COUNTER_DIMENSIONS,
  ...GAUGE_DIMENSIONS.map((dimension) => `${dimension}_mean`),
  'cost_usd',
  'variable_cost_usd',
  'fixed_cost_share_usd',
  'revenue_usd',
  'margin_usd',
  'margin_percent',
  'cost_per_active_case_usd',
  'cost_per_1000_calls_usd',
] as const;

/** The same rows as the JSON report's `items`, as CSV (RFC 4180, CRLF line ends, a header line). */
export function usageCsv(report: UsageReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const item of report.items) {
    const e = item.economics;
    lines.push(
      [
        report.groupBy,
        item.key,
        item.tenants,
        ...COUNTER_DIMENSIONS.map((dimension) => item.quantities[dimension]),
        ...GAUGE_DIMENSIONS.map((dimension) => item.gauges[dimension]),
        e.cost.usd,
        e.variableCost.total.usd,
        e.fixedCostShare.usd,
        e.revenue.usd,
        e.margin.usd,
        e.marginPercent,
        e.costPerActiveCase?.usd ?? null,
        e.costPer1000Calls?.usd ?? null,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
