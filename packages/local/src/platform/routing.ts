/**
 * The router's view of where tenants live: the tenant registry read with the deployer's client and
 * cached for five seconds, the cached entry dropped at once when the routing map changes (the
 * `TenantRoutingChanged` rule, as the routing map writer's in AWS).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parseTenantEvent, rulePattern } from '@cellbook/core/events/catalog';
import * as Keys from '@cellbook/core/keys/keys';
import type { LocalEventBridge } from '../aws/eventbridge.js';
import type { RequestListener } from '../aws/types.js';
import { createRouter, type RouterOptions } from '../router.js';
import { PREFIX } from './naming.js';

export interface LocalRoutingInput {
  adminDocs: DynamoDBDocumentClient;
  tenantsTable: string;
  eventBridge: LocalEventBridge;
  eventBusName: string;
  controlPlaneUrl: string;
  cellUrls: ReadonlyMap<string, string>;
  defaultCellId: string;
  /** CORS and the web app: passed through to the router. */
  web?: Pick<RouterOptions, 'browserOrigins' | 'webRoot' | 'evidenceOrigins'>;
}

export function localRouting({ adminDocs, tenantsTable, eventBridge, eventBusName, controlPlaneUrl, cellUrls, defaultCellId, web }: LocalRoutingInput): RequestListener {
  const routingCache = new Map<string, { cellId: string; expiresAt: number }>();
  const resolveCell = async (tenantId: string): Promise<string | undefined> => {
    const cached = routingCache.get(tenantId);
    if (cached && cached.expiresAt > Date.now()) return cached.cellId;
    if (!Keys.isTenantId(tenantId)) return undefined;
    const { Item } = await adminDocs.send(new GetCommand({ TableName: tenantsTable, Key: Keys.tenantRecordKey(tenantId) }));
    const cellId = typeof Item?.cellId === 'string' ? Item.cellId : undefined;
    if (cellId) routingCache.set(tenantId, { cellId, expiresAt: Date.now() + 5_000 });
    return cellId;
  };
  // The routing map's local consumer: a route change drops the cached entry at once.
  eventBridge.putRule({
    name: `${PREFIX}-router-routing-changes`,
    eventBusName,
    eventPattern: rulePattern('TenantRoutingChanged'),
    targets: [
      {
        id: 'router-cache',
        deliver: async (event) => {
          routingCache.delete(parseTenantEvent('TenantRoutingChanged', event).tenantId);
        },
      },
    ],
  });
  return createRouter({ controlPlaneUrl, cellUrls, defaultCellId, resolveCell, ...web });
}
