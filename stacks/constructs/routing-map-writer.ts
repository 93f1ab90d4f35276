import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Stack } from 'sst/constructs';
import { rulePattern } from '@cellbook/core/events/catalog';
import { addEventConsumer, cdkPattern } from './event-consumer.js';
import { functionRole, handlerProps } from './functions.js';
import { partitionItems } from './partitions.js';
import { XRAY_WILDCARD } from './nag.js';

/** The handler module (under packages/functions/src) that writes the routing map. */
export const ROUTING_MAP_WRITER = 'routing/map-writer';

/** What the writer may do to the routing map: read its version, put and delete entries. Nothing else. */
export const ROUTING_MAP_WRITER_ACTIONS = ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey', 'cloudfront-keyvaluestore:DeleteKey'] as const;

export interface RoutingMapWriterProps {
  bus: events.IEventBus;
  routingMap: cloudfront.IKeyValueStore;
  /** The tenant registry: the writer reads each tenant's record to learn where it is now. */
  registry: { tableArn: string; tableName: string };
  /** `dynamodb:LeadingKeys` pattern of the tenants' record partitions (`TENANT#*`). */
  tenantPartitions: string;
  /** Where events that cannot be written end up, after EventBridge's and Lambda's retries. */
  deadLetters: sqs.IQueue;
}

/**
 * The routing map's only writer (DESIGN §1: "written by the control plane"): every
 * `TenantRoutingChanged` on the deployment's bus invokes a function that makes the tenant's entry
 * in the KeyValueStore say what the tenant's registry record says now (its cell, or no entry) —
 * so deliveries out of order converge on the current route. Lives in the stack that owns the store, the bus and
 * the dead-letter queue.
 */
export function addRoutingMapWriter(stack: Stack, props: RoutingMapWriterProps) {
  const role = functionRole(stack, 'RoutingMapWriterRole', 'Writes tenant → cell into the routing map (KeyValueStore)');
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RoutingMapWrites',
      actions: [...ROUTING_MAP_WRITER_ACTIONS],
      resources: [props.routingMap.keyValueStoreArn],
    }),
  );
  role.addToPolicy(partitionItems('ReadTenantPlacement', ['GetItem'], props.registry.tableArn, props.tenantPartitions));

  const { consumer: writer, rule } = addEventConsumer(stack, 'RoutingMapWriter', {
    bus: props.bus,
    deadLetters: props.deadLetters,
    description: 'TenantRoutingChanged → the routing map writer (CloudFront KeyValueStore)',
    eventPattern: cdkPattern(rulePattern('TenantRoutingChanged')),
    function: handlerProps(stack, 'RoutingMapWriter', {
      handler: ROUTING_MAP_WRITER,
      role,
      environment: { ROUTING_MAP_ARN: props.routingMap.keyValueStoreArn, TENANTS_TABLE: props.registry.tableName },
      // A few KeyValueStore round trips, retried on a stale ETag with back-off.
      timeout: 30,
    }),
  });

  NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);
  return { role, writer, rule };
}
