/**
 * What the control plane accepts from a cell's logs (DESIGN §10, §13). A log subscription named
 * `cellbook-usage-<cellId>` — set by the Cell stack, never by the cell's code — delivers the cell's
 * usage lines and its API's access log; each line becomes a usage event of that cell, or is refused.
 * A compromised cell can meter only its own tenants: an event naming another cell, or a tenant not
 * placed in this cell (now, or before its last move, for what happened before it), is refused; a
 * function's log may carry only what one request measures, within what one request can consume,
 * never the gateway's observations; the tier is the registry's.
 */
import { isCellId } from '../keys/keys.js';
import { readTenant } from '../tenants/repository.js';
import { gatewayUsageOf } from './access-log.js';
import { type CounterDimension, COUNTER_DIMENSIONS, parseUsageEvent, USAGE_LOG_TYPE, type UsageData, type UsageEvent } from './usage-event.js';
import type { TierName } from '../tenancy/tiers.js';

const SUBSCRIPTION_PREFIX = 'cellbook-usage-';

/** The name of the log subscription that delivers cell `cellId`'s usage: the one place that says which cell a delivery is from. */
export function usageSubscriptionName(cellId: string): string {
  if (!isCellId(cellId)) throw new Error(`not a cell id: ${JSON.stringify(cellId)}`);
  return `${SUBSCRIPTION_PREFIX}${cellId}`;
}

/** The cell a delivery's subscription filter names, or undefined for a subscription that is not a cell's usage subscription. */
export function cellOfUsageSubscription(filterName: string): string | undefined {
  if (!filterName.startsWith(SUBSCRIPTION_PREFIX)) return undefined;
  const cellId = filterName.slice(SUBSCRIPTION_PREFIX.length);
  return isCellId(cellId) ? cellId : undefined;
}

/**
 * The subscription filter pattern on each cell function's log group: usage lines only (a function's
 * other log lines never leave its log). The API's access log group is subscribed whole ('').
 */
export const USAGE_LINE_FILTER_PATTERN = `{ $.type = "${USAGE_LOG_TYPE}" }`;
export const ACCESS_LOG_FILTER_PATTERN = '';

/** The kinds a function's usage line may carry; the rest are the gateway's or the control plane's to say. */
const FUNCTION_KINDS: ReadonlySet<UsageData['kind']> = new Set(['request']);

/**
 * The most one request can consume, per dimension: one API call, at most one case or note, the
 * units and GB-ms a request can use before API Gateway's 29 s integration timeout (10 GB of memory
 * for 30 s; 10,000 read or write units is 40 MB read or 10 MB written). A line claiming more is
 * refused whole: a compromised cell cannot bill its tenants at will.
 */
export const MAX_PER_REQUEST: Readonly<Record<CounterDimension, number>> = {
  apiRequests: 1,
  casesCreated: 1,
  notesCreated: 1,
  readUnits: 10_000,
  writeUnits: 10_000,
  functionGbMs: 300_000,
  exportBytes: 0,
};
/** Idempotency keys of the gateway's observations (access-log.ts): a usage line may not take one, nor shadow one. */
const GATEWAY_KEY_PREFIX = 'gateway:';

export type IntakeLine =
  /** A usage event of this cell, still to be checked against the tenant's placement. */
  | { outcome: 'event'; event: UsageEvent }
  /** Nothing to meter: an access log record that names no tenant. */
  | { outcome: 'ignored'; reason: string }
  /** Not acceptable from this cell: logged, never counted. */
  | { outcome: 'refused'; reason: string; tenantId?: string; idempotencyKey?: string };

/**
 * One delivered log line of cell `cellId`: a usage line (`{type: "cellbook.usage", usage}`) or an
 * access log record. `routes` — the cell's route table (`GET /cases/{caseId}`…) — bounds the routes a
 * request line may name (the ledger counts requests by route: a cell cannot invent routes).
 */
export function readUsageLine(message: string, cellId: string, routes?: ReadonlySet<string>): IntakeLine {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return { outcome: 'refused', reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { outcome: 'refused', reason: 'not a JSON object' };
  const line = value as Record<string, unknown>;
  if (line.type !== USAGE_LOG_TYPE) {
    const event = gatewayUsageOf(line, cellId);
    return event ? { outcome: 'event', event } : { outcome: 'ignored', reason: 'access log record without a tenant' };
  }
  const parsed = parseUsageEvent(line.usage);
  if (!parsed.ok) return { outcome: 'refused', reason: `not a usage event: ${parsed.reason}` };
  const { event } = parsed;
  const about = { tenantId: event.tenantId, idempotencyKey: event.idempotencyKey };
  if (event.cellId !== cellId) return { outcome: 'refused', reason: `names cell ${event.cellId}, delivered by cell ${cellId}`, ...about };
  if (!FUNCTION_KINDS.has(event.data.kind)) return { outcome: 'refused', reason: `a function may not report ${event.data.kind} usage`, ...about };
  if (event.idempotencyKey.startsWith(GATEWAY_KEY_PREFIX)) return { outcome: 'refused', reason: "a function may not take a gateway record's key", ...about };
  if (event.data.kind === 'request') {
    const { quantities } = event.data;
    if (routes && !routes.has(event.data.route)) return { outcome: 'refused', reason: `names route ${event.data.route}, not one of the cell's`, ...about };
    const excess = COUNTER_DIMENSIONS.find((dimension) => (quantities[dimension] ?? 0) > MAX_PER_REQUEST[dimension]);
    if (excess) return { outcome: 'refused', reason: `claims ${quantities[excess]} ${excess}, more than one request can use (${MAX_PER_REQUEST[excess]})`, ...about };
    if (quantities.apiRequests !== 1) return { outcome: 'refused', reason: 'a request line counts exactly one API request', ...about };
  }
  return { outcome: 'event', event };
}

/** Where the registry says a tenant is (tenants/record.ts), as much as placement checks need. */
export interface TenantPlacement {
  cellId: string | null;
  /** Its tier now: the ledger counts admitted usage under it, whatever tier a line claims. */
  tier: TierName;
  /** The cell it last moved away from, and when it left (the move's switch). */
  previousCellId?: string;
  previousCellUntil?: string;
  /** A cell's synthetic probe tenant: metering leaves it out. */
  synthetic?: true;
}

/**
 * How long after a move's switch the cell a tenant left may still report its usage: requests in
 * flight there end within API Gateway's 29 s timeout, and their lines are delivered within minutes.
 * Usage it reports as happening later is refused.
 */
export const PREVIOUS_CELL_GRACE_MS = 5 * 60_000;

export interface Admission {
  admitted: UsageEvent[];
  refused: { tenantId: string; idempotencyKey: string; reason: string }[];
  /** Events of synthetic probe tenants, left out of the ledger. */
  synthetic: number;
}

/**
 * Whether `cellId` may report usage of a tenant placed as `placement`, that happened at `occurredAt`:
 * the cell it is placed in, or the cell it left, for what happened before it left (and a grace).
 */
export function mayMeter(placement: TenantPlacement, cellId: string, occurredAt: string): boolean {
  if (placement.cellId === cellId) return true;
  if (placement.previousCellId !== cellId || placement.previousCellUntil === undefined) return false;
  return Date.parse(occurredAt) <= Date.parse(placement.previousCellUntil) + PREVIOUS_CELL_GRACE_MS;
}

/**
 * Keeps the events of tenants placed in cell `cellId` (now, or before their latest move) and refuses
 * the others; each tenant's placement is read once per call.
 */
export async function admitUsage(cellId: string, events: readonly UsageEvent[], placementOf: (tenantId: string) => Promise<TenantPlacement | undefined>): Promise<Admission> {
  const placements = new Map<string, Promise<TenantPlacement | undefined>>();
  const admission: Admission = { admitted: [], refused: [], synthetic: 0 };
  for (const event of events) {
    let placement = placements.get(event.tenantId);
    if (!placement) {
      placement = placementOf(event.tenantId);
      placements.set(event.tenantId, placement);
    }
    const placed = await placement;
    const about = { tenantId: event.tenantId, idempotencyKey: event.idempotencyKey };
    if (!placed) admission.refused.push({ ...about, reason: 'no such tenant' });
    else if (!mayMeter(placed, cellId, event.occurredAt)) admission.refused.push({ ...about, reason: `tenant is not placed in cell ${cellId}` });
    else if (placed.synthetic) admission.synthetic += 1;
    // The tier is the registry's, never the line's: a cell cannot move its tenant's usage to a dearer plan.
    else admission.admitted.push({ ...event, tier: placed.tier });
  }
  return admission;
}

/**
 * A tenant's placement as the tenant registry records it (the function's `TENANTS_TABLE`), read
 * strongly consistent: usage refused on a stale read just after a move's switch would be lost.
 */
export async function registryPlacement(tenantId: string): Promise<TenantPlacement | undefined> {
  const record = await readTenant(tenantId, { consistent: true });
  if (!record) return undefined;
  return {
    cellId: record.cellId,
    tier: record.tier,
    ...(record.previousCellId ? { previousCellId: record.previousCellId } : {}),
    ...(record.previousCellUntil ? { previousCellUntil: record.previousCellUntil } : {}),
    ...(record.synthetic ? { synthetic: true as const } : {}),
  };
}
