/**
 * The gateway's access log as usage (DESIGN §10): each record of a cell's API access log — the same
 * field names in AWS (stacks/constructs/rest-api.ts ACCESS_LOG_FIELDS) and locally — becomes a
 * `kind: 'gateway'` usage event, which reconciliation and tenant SLOs read from the ledger. API
 * Gateway writes `-` for a value it does not have; a record naming no tenant is no tenant's.
 */
import { isTenantId } from '../keys/keys.js';
import { deterministicId } from '../shared/ids.js';
import { TIER_NAMES, type TierName } from '../tenancy/tiers.js';
import { parseUsageEvent, type GatewayOutcome, type UsageData, type UsageEvent } from './usage-event.js';

export type GatewayUsageData = Extract<UsageData, { kind: 'gateway' }>;

/** The fields of an access log record this reads (the rest — source IP, user agent, trace — stay in the log). */
export interface AccessLogRecord {
  requestId: string;
  /** `03/Dec/2026:13:45:07 +0000` (CLF). */
  requestTime?: string;
  /** Epoch milliseconds; preferred to `requestTime`, which has whole seconds only. */
  requestTimeEpoch?: number | string;
  httpMethod: string;
  resourcePath: string;
  status: number | string;
  responseLatency: number | string;
  tenantId?: string;
  tier?: string;
  principalId?: string;
  /** API Gateway's `$context.error.responseType`: `THROTTLED`, `QUOTA_EXCEEDED`, `UNAUTHORIZED`, … */
  errorType?: string;
}

/** A value API Gateway had (it writes `-`, or nothing, for one it had not). */
function present(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' && value !== '-' ? value : undefined;
}

function wholeNumber(value: unknown): number | undefined {
  const text = present(value);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** 9999-12-31T23:59:59.999Z: the last moment an ISO date (and an event's `occurredAt`) can name. */
const LAST_MOMENT_MS = 253_402_300_799_999;

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** `03/Dec/2026:13:45:07 +0000` → epoch ms; undefined for anything else. */
export function parseRequestTime(value: string): number | undefined {
  const match = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [, day, month = '', year, hours, minutes, seconds, sign, offsetHours, offsetMinutes] = match;
  const monthIndex = Object.hasOwn(MONTHS, month) ? MONTHS[month] : undefined;
  if (monthIndex === undefined) return undefined;
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const epoch = Date.UTC(Number(year), monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds)) - offsetMs;
  return Number.isNaN(epoch) ? undefined : epoch;
}

/** How the gateway answered: a function (no error type), its throttle, its quota, or any other refusal of its own. */
export function gatewayOutcome(errorType: string | undefined): GatewayOutcome {
  if (errorType === undefined) return 'integration';
  if (errorType === 'THROTTLED') return 'throttled';
  if (errorType === 'QUOTA_EXCEEDED') return 'quota';
  return 'refused';
}

/** A request's gateway idempotency key: the access log's request id, as the usage line's `request:<id>`. */
export function gatewayIdempotencyKey(requestId: string): string {
  return `gateway:${requestId}`;
}

/**
 * The usage event of one access log record of cell `cellId`'s API (the cell the log belongs to, never
 * a field of the record), or null for a record that names no tenant (refused before the authorizer
 * knew one) or is not an access log record at all.
 */
export function gatewayUsageOf(record: unknown, cellId: string): UsageEvent<GatewayUsageData> | null {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return null;
  const fields = record as Record<string, unknown>;
  const requestId = present(fields.requestId);
  const tenantId = present(fields.tenantId);
  const tier = present(fields.tier);
  const method = present(fields.httpMethod);
  const status = wholeNumber(fields.status);
  if (!requestId || !tenantId || !isTenantId(tenantId) || !method || status === undefined) return null;
  if (!tier || !(TIER_NAMES as readonly string[]).includes(tier)) return null;
  const requestTime = present(fields.requestTime);
  const occurredAt = wholeNumber(fields.requestTimeEpoch) ?? (requestTime ? parseRequestTime(requestTime) : undefined);
  if (occurredAt === undefined || occurredAt > LAST_MOMENT_MS) return null;
  const event: UsageEvent<GatewayUsageData> = {
    tenantId,
    cellId,
    tier: tier as TierName,
    // The same id however often the record is delivered.
    eventId: deterministicId(occurredAt, requestId),
    idempotencyKey: gatewayIdempotencyKey(requestId),
    occurredAt: new Date(occurredAt).toISOString(),
    actor: present(fields.principalId) ?? 'gateway',
    data: {
      kind: 'gateway',
      route: `${method} ${present(fields.resourcePath) ?? '-'}`,
      status,
      latencyMs: wholeNumber(fields.responseLatency) ?? 0,
      outcome: gatewayOutcome(present(fields.errorType)),
    },
  };
  // Whatever else a record holds (a status outside HTTP's, a time outside the calendar, an oversized
  // route), the event is one the contract accepts, or none.
  return parseUsageEvent(event).ok ? event : null;
}
