import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Stack } from 'sst/constructs';
import { controlIdentityOf } from '@cellbook/core/access/control-identities';
import { CONTROL_SCHEDULES } from '@cellbook/functions/routes';
import { addScheduledJob } from '../constructs/event-consumer.js';
import { handlerProps } from '../constructs/functions.js';
import type { ControlIdentities } from './control-identities.js';

export interface ControlScheduledJobsProps {
  deadLetters: sqs.IQueue;
  identities: ControlIdentities;
}

/** The control plane's scheduled jobs (the reaper of abandoned onboardings, …), each under its control identity's role. */
export function controlScheduledJobs(stack: Stack, props: ControlScheduledJobsProps) {
  return CONTROL_SCHEDULES.map((definition) => {
    const identity = controlIdentityOf(definition.handler);
    const id = `Schedule-${definition.handler.replace(/^control\//, '')}`;
    return addScheduledJob(stack, id, {
      schedule: events.Schedule.rate(Duration.minutes(definition.everyMinutes)),
      deadLetters: props.deadLetters,
      description: `every ${definition.everyMinutes} min → ${definition.handler}`,
      function: handlerProps(stack, id, {
        handler: definition.handler,
        role: props.identities.roles[identity],
        environment: props.identities.environmentOf(identity),
        timeout: definition.timeoutSeconds,
      }),
    });
  });
}
