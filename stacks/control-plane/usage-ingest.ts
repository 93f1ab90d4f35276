import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Function as SstFunction, type Stack } from 'sst/constructs';
import { controlIdentityOf } from '@cellbook/core/access/control-identities';
import { LOG_SUBSCRIBERS } from '@cellbook/functions/routes';
import { handlerProps } from '../constructs/functions.js';
import { PINNED_RUNTIME } from '../constructs/nag.js';
import type { ControlIdentities } from './control-identities.js';

export interface LogSubscribersProps {
  deadLetters: sqs.IQueue;
  identities: ControlIdentities;
}

/**
 * The functions the cells' logs are delivered to (routes.ts LOG_SUBSCRIBERS: the metering intake,
 * control/usage-ingest), each under its identity's role. Each Cell stack subscribes its own log groups
 * to them (constructs/cell-usage-delivery.ts), naming the subscription after itself; here, CloudWatch
 * Logs of this account and region may invoke them. CloudWatch Logs invokes asynchronously: a batch
 * whose ledger write fails is retried twice, then kept on the dead-letter queue (and in the log).
 */
export function logSubscribers(stack: Stack, props: LogSubscribersProps): Record<string, SstFunction> {
  const functions: Record<string, SstFunction> = {};
  for (const definition of LOG_SUBSCRIBERS) {
    const identity = controlIdentityOf(definition.handler);
    const id = `LogSubscriber-${definition.handler.replace(/^control\//, '')}`;
    const fn = new SstFunction(stack, id, {
      ...handlerProps(stack, id, {
        handler: definition.handler,
        role: props.identities.roles[identity],
        environment: props.identities.environmentOf(identity),
        timeout: definition.timeoutSeconds,
      }),
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(props.deadLetters),
    });
    // The cells' log groups get generated names, so the grant covers this account's log groups in this
    // region; which cell a delivery is from is said by the subscription's name, which only a Cell stack
    // sets (no function of the app may put a subscription filter).
    fn.addPermission('CellLogDeliveries', {
      principal: new iam.ServicePrincipal('logs.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
      sourceAccount: stack.account,
    });
    NagSuppressions.addResourceSuppressions(fn, [PINNED_RUNTIME], true);
    functions[definition.handler] = fn;
  }
  return functions;
}
