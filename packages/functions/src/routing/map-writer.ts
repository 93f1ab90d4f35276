import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { EventName } from '@cellbook/core/events/catalog';
import { RoutingChangeDetail, syncTenantRoute } from '@cellbook/core/cells/routing-map';
import { logger } from '../observability.js';

/**
 * AWS only: keeps the router's KeyValueStore (tenant → cell) in step with the control plane. An
 * EventBridge rule on the deployment's bus delivers every `TenantRoutingChanged`; this makes the
 * tenant's entry say what the registry says now (core's `syncTenantRoute`), so deliveries out of
 * order or repeated converge on the current route. Locally the router reads the registry itself and only drops its
 * cached route on the same event, so nothing runs this there.
 *
 * A detail without a valid tenant (or with a malformed cell) is refused by throwing: the
 * invocation fails, is retried, and ends in the dead-letter queue rather than being dropped.
 */
export type RoutingChangedEvent = EventBridgeEvent<string, unknown>;

const ROUTING_CHANGED: EventName = 'TenantRoutingChanged';

export const handler = middy<RoutingChangedEvent, void, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const raw = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as { tenantId?: unknown };
    logger.appendKeys({
      event_id: event.id,
      detail_type: event['detail-type'],
      // Unverified until parsed, but a rejected event's log line still names whose it claims to be.
      tenant_id: typeof raw.tenantId === 'string' ? raw.tenantId : undefined,
    });
    if (event['detail-type'] !== ROUTING_CHANGED) {
      logger.error('routing map writer received an event it does not handle');
      throw new Error(`routing map writer: unexpected detail-type ${JSON.stringify(event['detail-type'])}`);
    }
    const parsed = RoutingChangeDetail.safeParse(event.detail);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(detail)'}: ${issue.message}`);
      logger.error('routing change refused: malformed detail', { issues });
      throw new Error(`routing map writer: malformed ${ROUTING_CHANGED} detail (${issues.join('; ')})`);
    }
    const change = parsed.data;
    logger.appendKeys({ tenant_id: change.tenantId, cell_id: change.cellId, previous_cell_id: change.data.previousCellId });
    const route = await syncTenantRoute(change);
    if (route.stale) logger.warn('routing change overtaken by a later one: the map follows the registry', { routed_cell_id: route.cellId });
    logger.info(route.cellId === null ? 'tenant removed from the routing map' : 'tenant routed to its cell', { routed_cell_id: route.cellId });
  });
