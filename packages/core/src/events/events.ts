import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { requireEnv } from '../shared/config.js';
import type { TierName } from '../tenancy/tiers.js';

/**
 * Domain events (DESIGN §6): one bus per deployment; `source` names the plane that emitted the
 * event; every `detail` names its tenant, or says explicitly that it is system-scoped.
 */
export const CONTROL_PLANE_SOURCE = 'cellbook.control';

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

export interface TenantEventDetail<T = unknown> {
  tenantId: string;
  cellId: string | null;
  tier: TierName;
  eventId: string;
  /** Consumers (metering, projections) deduplicate on this. */
  idempotencyKey: string;
  occurredAt: string;
  actor: string;
  data: T;
}

export interface SystemEventDetail<T = unknown> {
  scope: 'system';
  eventId: string;
  idempotencyKey: string;
  occurredAt: string;
  actor: string;
  data: T;
}

let client: EventBridgeClient | undefined;
function eventBridge(): EventBridgeClient {
  client ??= new EventBridgeClient({});
  return client;
}

export interface TenantEventInput<T> {
  source: string;
  detailType: string;
  tenantId: string;
  cellId: string | null;
  tier: TierName;
  actor: string;
  data: T;
  /** Defaults to the event id: pass a business key when retries could publish the same fact twice. */
  idempotencyKey?: string;
}

/** Publishes one tenant-scoped event; throws if the bus did not accept it. */
export async function publishTenantEvent<T>(input: TenantEventInput<T>): Promise<TenantEventDetail<T>> {
  const eventId = randomUUID();
  const detail: TenantEventDetail<T> = {
    tenantId: input.tenantId,
    cellId: input.cellId,
    tier: input.tier,
    eventId,
    idempotencyKey: input.idempotencyKey ?? eventId,
    occurredAt: new Date().toISOString(),
    actor: input.actor,
    data: input.data,
  };
  const { FailedEntryCount, Entries } = await eventBridge().send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: requireEnv('EVENT_BUS_NAME'),
          Source: input.source,
          DetailType: input.detailType,
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  if (FailedEntryCount) throw new Error(`event bus rejected ${input.detailType}: ${Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
  return detail;
}
