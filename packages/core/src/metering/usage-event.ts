/**
 * Usage events (DESIGN §6 envelope, §10): what a tenant consumed, as one idempotent fact. The data
 * plane writes one per request as a structured log line (never a call on the request path); a log
 * subscription carries it to the control plane's ledger, which counts each idempotency key once.
 */
import * as z from 'zod/mini';
import { isCellId, isTenantId } from '../keys/keys.js';
import { TIER_NAMES, type TierName } from '../tenancy/tiers.js';

/** Additive dimensions: summed per hour and day. */
export const COUNTER_DIMENSIONS = [
  /** Requests a tenant's function answered (billable API calls; gateway-refused ones are not). */
  'apiRequests',
  'casesCreated',
  'notesCreated',
  /** DynamoDB read and write request units consumed (ReturnConsumedCapacity on every tenant call). */
  'readUnits',
  'writeUnits',
  /** Function duration × configured memory, in GB-milliseconds. */
  'functionGbMs',
  'exportBytes',
] as const;
export type CounterDimension = (typeof COUNTER_DIMENSIONS)[number];

/** Point-in-time dimensions: the latest snapshot of an hour stands for the hour. */
export const GAUGE_DIMENSIONS = ['activeCases', 'users', 'storageBytes'] as const;
export type GaugeDimension = (typeof GAUGE_DIMENSIONS)[number];

export type Dimension = CounterDimension | GaugeDimension;
export const DIMENSIONS: readonly Dimension[] = [...COUNTER_DIMENSIONS, ...GAUGE_DIMENSIONS];

export type Quantities = Partial<Record<CounterDimension, number>>;
export type Gauges = Partial<Record<GaugeDimension, number>>;

/**
 * How the gateway answered a request it logged: `integration` (a function answered it: it must be
 * metered), `throttled` (rate or burst), `quota` (daily quota), `refused` (any other gateway answer:
 * authorizer denial, unknown route, oversized body…).
 */
export const GATEWAY_OUTCOMES = ['integration', 'throttled', 'quota', 'refused'] as const;
export type GatewayOutcome = (typeof GATEWAY_OUTCOMES)[number];

/** What a usage event says. */
export type UsageData =
  /** One request a tenant's function answered, with what it consumed. */
  | { kind: 'request'; route: string; status: number; quantities: Quantities }
  /** The hourly snapshot of a tenant's gauges (active cases, users, storage). */
  | { kind: 'snapshot'; gauges: Gauges }
  /** Consumption measured outside a request (an export's bytes). */
  | { kind: 'consumption'; quantities: Quantities }
  /** A signed adjustment of an earlier event's quantities: a new entry, never an edit. */
  | { kind: 'correction'; correctionOf: string; reason: string; quantities: Quantities }
  /** One request as the gateway's access log saw it (reconciliation and tenant SLOs). */
  | { kind: 'gateway'; route: string; status: number; latencyMs: number; outcome: GatewayOutcome };

export interface UsageEvent<D extends UsageData = UsageData> {
  tenantId: string;
  cellId: string;
  tier: TierName;
  eventId: string;
  /** The ledger counts each key once within USAGE_DEDUPLICATION_DAYS. */
  idempotencyKey: string;
  /** When the usage happened: the hour it is counted in, however late it arrives. */
  occurredAt: string;
  actor: string;
  data: D;
}

/** How long the ledger remembers an idempotency key; an older event is refused, not counted twice. */
export const USAGE_DEDUPLICATION_DAYS = 35;

/** The log line marker a subscription filter matches: `{ $.type = "cellbook.usage" }`. */
export const USAGE_LOG_TYPE = 'cellbook.usage';

/** The structured log line that carries a usage event out of a function. */
export function usageLogLine(event: UsageEvent): string {
  return JSON.stringify({ type: USAGE_LOG_TYPE, usage: event });
}

const Count = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const Signed = z.number().check(z.int(), z.minimum(-Number.MAX_SAFE_INTEGER), z.maximum(Number.MAX_SAFE_INTEGER));
const Key = z.string().check(z.minLength(1), z.maxLength(200), z.regex(/^[\x21-\x7e]+$/));
const counters = <S extends z.ZodMiniType>(value: S) => z.partialRecord(z.enum(COUNTER_DIMENSIONS), value);
const Route = z.string().check(z.minLength(1), z.maxLength(200));
const Status = z.number().check(z.int(), z.minimum(100), z.maximum(599));

const UsageDataSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('request'), route: Route, status: Status, quantities: counters(Count) }),
  z.strictObject({ kind: z.literal('snapshot'), gauges: z.partialRecord(z.enum(GAUGE_DIMENSIONS), Count) }),
  z.strictObject({ kind: z.literal('consumption'), quantities: counters(Count) }),
  z.strictObject({ kind: z.literal('correction'), correctionOf: Key, reason: z.string().check(z.minLength(1), z.maxLength(500)), quantities: counters(Signed) }),
  z.strictObject({ kind: z.literal('gateway'), route: Route, status: Status, latencyMs: Count, outcome: z.enum(GATEWAY_OUTCOMES) }),
]);

const UsageEventSchema = z.strictObject({
  tenantId: z.string().check(z.refine(isTenantId, 'not a tenant id')),
  cellId: z.string().check(z.refine(isCellId, 'not a cell id')),
  tier: z.enum(TIER_NAMES),
  eventId: Key,
  idempotencyKey: Key,
  occurredAt: z.iso.datetime(),
  actor: z.string().check(z.minLength(1), z.maxLength(200)),
  data: UsageDataSchema,
});

/** A usage event read from a log or a bus, or why it is not one (it is dead-lettered, never guessed at). */
export function parseUsageEvent(value: unknown): { ok: true; event: UsageEvent } | { ok: false; reason: string } {
  const result = UsageEventSchema.safeParse(value);
  if (result.success) return { ok: true, event: result.data as UsageEvent };
  const issue = result.error.issues[0];
  return { ok: false, reason: `${issue?.path.map(String).join('.') || '(event)'}: ${issue?.message ?? 'invalid'}` };
}
