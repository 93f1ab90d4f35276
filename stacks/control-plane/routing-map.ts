import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { App, Stack } from 'sst/constructs';
import * as Keys from '@cellbook/core/keys/keys';
import { anyPartition } from '@cellbook/core/access/iam';
import { addRoutingMapWriter } from '../constructs/routing-map-writer.js';

export interface RoutingMapProps {
  bus: events.IEventBus;
  deadLetters: sqs.IQueue;
  /** The tenant registry, which says where each tenant is now. */
  tenantsTable: dynamodb.ITable;
}

/**
 * The routing map the router's CloudFront Function reads (tenant id → cell id, a KeyValueStore),
 * and its only writer, which follows the registry on every `TenantRoutingChanged`.
 */
export function addRoutingMap(stack: Stack, app: App, props: RoutingMapProps): cloudfront.KeyValueStore {
  const map = new cloudfront.KeyValueStore(stack, 'RoutingMap', {
    comment: `${app.stage}: tenant id → cell id`,
  });
  addRoutingMapWriter(stack, {
    bus: props.bus,
    routingMap: map,
    deadLetters: props.deadLetters,
    registry: { tableArn: props.tenantsTable.tableArn, tableName: props.tenantsTable.tableName },
    tenantPartitions: anyPartition((tenantId) => Keys.tenantRegistryPartition(tenantId)),
  });
  return map;
}
