import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Stack } from 'sst/constructs';
import { controlIdentityOf } from '@cellbook/core/access/control-identities';
import { CONTROL_EVENT_CONSUMERS } from '@cellbook/functions/routes';
import { addEventConsumer, cdkPattern } from '../constructs/event-consumer.js';
import { handlerProps } from '../constructs/functions.js';
import type { ControlIdentities } from './control-identities.js';

export interface ControlEventConsumersProps {
  bus: events.IEventBus;
  deadLetters: sqs.IQueue;
  identities: ControlIdentities;
}

/** The control plane's event consumers (the mover, …), each under its control identity's role. */
export function controlEventConsumers(stack: Stack, props: ControlEventConsumersProps) {
  return CONTROL_EVENT_CONSUMERS.map((definition) => {
    const identity = controlIdentityOf(definition.handler);
    const id = `Consumer-${definition.handler.replace(/^control\//, '')}`;
    return addEventConsumer(stack, id, {
      bus: props.bus,
      deadLetters: props.deadLetters,
      description: `${definition.eventPattern['detail-type'].join(', ')} → ${definition.handler}`,
      eventPattern: cdkPattern(definition.eventPattern),
      function: handlerProps(stack, id, {
        handler: definition.handler,
        role: props.identities.roles[identity],
        environment: props.identities.environmentOf(identity),
        timeout: definition.timeoutSeconds,
      }),
    });
  });
}
