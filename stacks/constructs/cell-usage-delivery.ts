import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { LOG_SUBSCRIBERS } from '@cellbook/functions/routes';

export interface CellUsageDeliveryProps {
  cellId: string;
  /** The cell's tenant-facing functions, whose logs carry one usage line per request. */
  tenantFunctions: readonly lambda.Function[];
  /** The cell API's access log group. */
  accessLog: logs.ILogGroup;
  /** The control plane's log subscribers, by handler (LOG_SUBSCRIBERS). */
  subscribers: Readonly<Record<string, lambda.IFunction>>;
}

/**
 * Delivers the cell's usage to the control plane (DESIGN §10): a subscription filter on each tenant
 * function's log group (usage lines only) and on the API's access log group (every record), named
 * `cellbook-usage-<cellId>` — the name the control plane takes the cell from, set here, not by the
 * cell's code.
 */
export function cellUsageDelivery(scope: Construct, props: CellUsageDeliveryProps): logs.CfnSubscriptionFilter[] {
  const filterName = usageSubscriptionName(props.cellId);
  return LOG_SUBSCRIBERS.flatMap((subscriber) => {
    const destination = props.subscribers[subscriber.handler];
    if (!destination) throw new Error(`no control-plane function for log subscriber ${subscriber.handler}`);
    const subscribe = (id: string, logGroup: logs.ILogGroup, filterPattern: string) =>
      new logs.CfnSubscriptionFilter(scope, id, { filterName, logGroupName: logGroup.logGroupName, filterPattern, destinationArn: destination.functionArn });
    return [
      ...props.tenantFunctions.map((fn) => subscribe(`UsageLines-${fn.node.id}`, fn.logGroup, subscriber.functionLogPattern)),
      subscribe('UsageAccessLog', props.accessLog, subscriber.accessLogPattern),
    ];
  });
}
