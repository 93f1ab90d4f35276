/**
 * Domain events (DESIGN §6): one bus per deployment; `source` names the plane that emitted the
 * event; every `detail` names its tenant, or says explicitly that it is system-scoped. What each event
 * is and carries is declared once, in catalog.ts; this module publishes them.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { requireEnv } from '../shared/config.js';
import type { TierName } from '../tenancy/tiers.js';
import {
  EVENT_CATALOG,
  SYSTEM_EVENT_CATALOG,
  detailSchema,
  systemDetailSchema,
  type EventData,
  type EventName,
  type SystemEventData,
  type SystemEventDetail,
  type SystemEventName,
  type TenantEventDetail,
} from './catalog.js';

/** Every Cellbook event, whichever plane emitted it. */
export const CELLBOOK_EVENTS_PATTERN = { source: [{ prefix: 'cellbook.' }] } as const;

/**
 * DESIGN §6: an event without a tenant (missing, null or empty) is dead-lettered unless it
 * declares itself system-scoped. One rule with this pattern, in AWS and locally, sends such events
 * to the dead-letter queue, so no consumer ever has to guess whose event it is.
 */
export const TENANTLESS_EVENTS_PATTERN = {
  source: [{ prefix: 'cellbook.' }],
  detail: {
    tenantId: [{ exists: false }, null, ''],
    $or: [{ scope: [{ exists: false }] }, { scope: [{ 'anything-but': 'system' }] }],
  },
} as const;

export function cellSource(cellId: string): string {
  return `cellbook.cell.${cellId}`;
}

let client: EventBridgeClient | undefined;
function eventBridge(): EventBridgeClient {
  client ??= new EventBridgeClient({});
  return client;
}

export interface TenantEventInput<N extends EventName> {
  tenantId: string;
  cellId: string | null;
  tier: TierName;
  actor: string;
  data: EventData<N>;
  /** Defaults to the event id: pass a business key when retries could publish the same fact twice. */
  idempotencyKey?: string;
}

/**
 * Publishes one tenant-scoped event of the catalog, from the source the catalog gives it; throws
 * if its detail does not match the catalog (a bug: nothing is sent) or the bus did not accept it.
 */
export async function publishTenantEvent<N extends EventName>(name: N, input: TenantEventInput<N>): Promise<TenantEventDetail<EventData<N>>> {
  const eventId = randomUUID();
  const detail: TenantEventDetail<EventData<N>> = {
    tenantId: input.tenantId,
    cellId: input.cellId,
    tier: input.tier,
    eventId,
    idempotencyKey: input.idempotencyKey ?? eventId,
    occurredAt: new Date().toISOString(),
    actor: input.actor,
    data: input.data,
  };
  const checked = detailSchema(name).safeParse(detail);
  if (!checked.success) throw new Error(`${name} does not match the event catalog: ${checked.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  await put(name, EVENT_CATALOG[name].source, detail);
  return detail;
}

async function put(name: string, source: string, detail: object): Promise<void> {
  const { FailedEntryCount, Entries } = await eventBridge().send(
    new PutEventsCommand({
      Entries: [{ EventBusName: requireEnv('EVENT_BUS_NAME'), Source: source, DetailType: name, Detail: JSON.stringify(detail) }],
    }),
  );
  if (FailedEntryCount) throw new Error(`event bus rejected ${name}: ${Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
}

export interface SystemEventInput<N extends SystemEventName> {
  cellId: string | null;
  actor: string;
  data: SystemEventData<N>;
  /** Consumers deduplicate on it: a step retried after a crash publishes the same fact under the same key. */
  idempotencyKey: string;
}

/** Publishes one system-scoped event of the catalog (`scope: "system"`, no tenant); throws like `publishTenantEvent`. */
export async function publishSystemEvent<N extends SystemEventName>(name: N, input: SystemEventInput<N>): Promise<SystemEventDetail<SystemEventData<N>>> {
  const eventId = randomUUID();
  const detail: SystemEventDetail<SystemEventData<N>> = {
    scope: 'system',
    cellId: input.cellId,
    eventId,
    idempotencyKey: input.idempotencyKey,
    occurredAt: new Date().toISOString(),
    actor: input.actor,
    data: input.data,
  };
  const checked = systemDetailSchema(name).safeParse(detail);
  if (!checked.success) throw new Error(`${name} does not match the event catalog: ${checked.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  await put(name, SYSTEM_EVENT_CATALOG[name].source, detail);
  return detail;
}
