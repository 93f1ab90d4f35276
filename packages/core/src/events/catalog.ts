/**
 * Every event Cellbook publishes (DESIGN §6), declared once: its name (the `detail-type`), the
 * source that emits it, and the schema of its `data`. Publishers are typed by it and checked
 * against it before an event leaves; consumers parse what they receive with it; the rules that
 * deliver events (in the stacks and locally) are built from it (`rulePattern`).
 */
import * as z from 'zod/mini';
import { isCellId, isTenantId } from '../keys/keys.js';
import { isReleaseId } from '../releases/manifest.js';
import { EntitlementOverrides } from '../tenancy/entitlements.js';
import { PLACEMENTS, TIER_NAMES } from '../tenancy/tiers.js';
import { TENANT_STATUSES } from '../tenants/record.js';
import '../shared/zod-locale.js';

/** The control plane's source; a cell's would be `cellbook.cell.<cellId>`. */
export const CONTROL_PLANE_SOURCE = 'cellbook.control';

const TenantId = z.string().check(z.refine(isTenantId, 'not a tenant id'));
const CellId = z.string().check(z.refine(isCellId, 'not a cell id'));
const CellIdOrNull = z.nullable(CellId);
const Count = z.number().check(z.int(), z.minimum(0));
const Tier = z.enum(TIER_NAMES);
const Entitlements = z.object({ tier: Tier, overrides: EntitlementOverrides });
const StatusChange = z.object({ before: z.enum(TENANT_STATUSES), after: z.enum(TENANT_STATUSES), reason: z.optional(z.string()) });
const Move = { moveId: z.string().check(z.minLength(1)), fromCellId: CellId, toCellId: CellId };

function event<D extends z.ZodMiniType>(source: string, data: D): { source: string; data: D } {
  return { source, data };
}

export const EVENT_CATALOG = {
  /** Onboarding finished: the tenant is ACTIVE in its cell. */
  TenantActivated: event(CONTROL_PLANE_SOURCE, z.object({ name: z.string() })),
  TenantSuspended: event(CONTROL_PLANE_SOURCE, StatusChange),
  TenantReactivated: event(CONTROL_PLANE_SOURCE, StatusChange),
  /** A tier or override change that applied in place (one that needs another kind of cell is a move). */
  TenantEntitlementsChanged: event(CONTROL_PLANE_SOURCE, z.object({ before: Entitlements, after: Entitlements })),
  /** A move was recorded, or asked to go on: the mover runs it. */
  TenantMoveRequested: event(CONTROL_PLANE_SOURCE, z.object(Move)),
  TenantMoved: event(CONTROL_PLANE_SOURCE, z.object({ ...Move, items: Count })),
  TenantOffboarded: event(CONTROL_PLANE_SOURCE, z.object({ purgedItems: Count })),
  /** A tenant admin asked for an export of the tenant's data (the export broker checked the cell and the plan): the exporter builds it. */
  TenantExportRequested: event(CONTROL_PLANE_SOURCE, z.object({ exportId: z.string().check(z.minLength(1)) })),
  /** Where a tenant's requests go changed; `cellId: null` when the tenant leaves. */
  TenantRoutingChanged: event(CONTROL_PLANE_SOURCE, z.object({ cellId: CellIdOrNull, previousCellId: CellIdOrNull })),
  /** Placement promised a tenant a dedicated cell that is not deployed yet: create it. */
  CellRequested: event(
    CONTROL_PLANE_SOURCE,
    z.object({
      cellId: CellId,
      placement: z.enum(PLACEMENTS),
      wave: Count,
      region: z.string(),
      capacity: Count,
    }),
  ),
} as const;

export type EventName = keyof typeof EVENT_CATALOG;

const ReleaseId = z.string().check(z.refine(isReleaseId, 'not a release id'));
const Release = { releaseId: ReleaseId, commit: z.string().check(z.minLength(1)) };
const Wave = { ...Release, wave: Count, kind: z.enum(['canary', 'pooled', 'dedicated']), cellIds: z.array(CellId) };

/**
 * The events that concern no tenant (DESIGN §6: they say so with `scope: "system"`): the releases'
 * (DESIGN §9). A wave's events are published once per cell of the wave, with that cell in the
 * envelope, so a cell's consumers and its audit trail see every release that touched it.
 */
export const SYSTEM_EVENT_CATALOG = {
  ReleaseStarted: event(CONTROL_PLANE_SOURCE, z.object({ ...Release, waves: z.array(z.array(CellId)) })),
  WaveDeployed: event(CONTROL_PLANE_SOURCE, z.object(Wave)),
  WavePromoted: event(CONTROL_PLANE_SOURCE, z.object({ ...Wave, requests: Count })),
  WaveRolledBack: event(CONTROL_PLANE_SOURCE, z.object({ ...Wave, reason: z.string(), previousReleaseId: z.nullable(ReleaseId) })),
  ReleaseFinished: event(
    CONTROL_PLANE_SOURCE,
    z.object({ ...Release, outcome: z.enum(['finished', 'halted', 'aborted', 'rolled-back', 'rollback-failed']), reason: z.optional(z.string()) }),
  ),
} as const;

export type SystemEventName = keyof typeof SYSTEM_EVENT_CATALOG;

export type SystemEventData<N extends SystemEventName> = z.output<(typeof SYSTEM_EVENT_CATALOG)[N]['data']>;

const SystemEnvelope = {
  scope: z.literal('system'),
  cellId: CellIdOrNull,
  eventId: z.string().check(z.minLength(1)),
  idempotencyKey: z.string().check(z.minLength(1)),
  occurredAt: z.iso.datetime(),
  actor: z.string(),
};

export interface SystemEventDetail<T = unknown> {
  scope: 'system';
  cellId: string | null;
  eventId: string;
  idempotencyKey: string;
  occurredAt: string;
  actor: string;
  data: T;
}

const systemDetailSchemas = new Map<SystemEventName, z.ZodMiniType>();

/** The full `detail` of system event `name`, built once on first use. */
export function systemDetailSchema(name: SystemEventName): z.ZodMiniType<SystemEventDetail> {
  let schema = systemDetailSchemas.get(name);
  if (!schema) {
    schema = z.object({ ...SystemEnvelope, data: SYSTEM_EVENT_CATALOG[name].data });
    systemDetailSchemas.set(name, schema);
  }
  return schema as z.ZodMiniType<SystemEventDetail>;
}

/** The `data` of event `N` as its publisher gives it and its consumer reads it. */
export type EventData<N extends EventName> = z.output<(typeof EVENT_CATALOG)[N]['data']>;

/** The envelope every tenant event carries around its data (DESIGN §6). */
const TenantEnvelope = {
  tenantId: TenantId,
  cellId: CellIdOrNull,
  tier: Tier,
  eventId: z.string().check(z.minLength(1)),
  /** Consumers (metering, projections) deduplicate on this. */
  idempotencyKey: z.string().check(z.minLength(1)),
  occurredAt: z.iso.datetime(),
  actor: z.string(),
};

export interface TenantEventDetail<T = unknown> {
  tenantId: string;
  cellId: string | null;
  tier: (typeof TIER_NAMES)[number];
  eventId: string;
  idempotencyKey: string;
  occurredAt: string;
  actor: string;
  data: T;
}

/** The full `detail` of event `name`: the tenant envelope with the event's data. */
function buildDetailSchema<N extends EventName>(name: N) {
  return z.object({ ...TenantEnvelope, data: EVENT_CATALOG[name].data as (typeof EVENT_CATALOG)[N]['data'] });
}

/** Built once per event, on first use: every publish and every delivery checks against it. */
const detailSchemas = new Map<EventName, ReturnType<typeof buildDetailSchema>>();

export function detailSchema<N extends EventName>(name: N): ReturnType<typeof buildDetailSchema<N>> {
  let schema = detailSchemas.get(name);
  if (!schema) {
    schema = buildDetailSchema(name);
    detailSchemas.set(name, schema);
  }
  return schema as ReturnType<typeof buildDetailSchema<N>>;
}

/** An EventBridge rule's pattern that matches exactly the named events, from their declared sources. */
export function rulePattern(...names: readonly (EventName | SystemEventName)[]): { source: string[]; 'detail-type': string[] } {
  const sourceOf = (name: EventName | SystemEventName) =>
    (Object.hasOwn(EVENT_CATALOG, name) ? EVENT_CATALOG[name as EventName] : SYSTEM_EVENT_CATALOG[name as SystemEventName]).source;
  return { source: [...new Set(names.map(sourceOf))], 'detail-type': [...names] };
}

/** What a consumer receives from the bus (the fields of an EventBridge event it reads). */
export interface ReceivedEvent {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: unknown;
}

/**
 * Parses a delivered event as event `name`, or throws: a wrong source or detail-type, or a detail
 * that does not match the catalog, is refused (the consumer fails, the bus retries, then
 * dead-letters) rather than acted on. The message names the problems, never the detail's values.
 */
export function parseTenantEvent<N extends EventName>(name: N, event: ReceivedEvent): TenantEventDetail<EventData<N>> {
  if (event['detail-type'] !== name || event.source !== EVENT_CATALOG[name].source) {
    throw new Error(`expected ${name} from ${EVENT_CATALOG[name].source}, received ${JSON.stringify(event['detail-type'])} from ${JSON.stringify(event.source)}`);
  }
  const parsed = detailSchema(name).safeParse(event.detail);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(detail)'}: ${issue.message}`);
    throw new Error(`malformed ${name} detail (${issues.join('; ')})`);
  }
  return parsed.data as TenantEventDetail<EventData<N>>;
}
