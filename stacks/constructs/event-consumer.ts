import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Function as SstFunction, type FunctionProps, type Stack } from 'sst/constructs';
import type { EventConsumerDefinition } from '@cellbook/functions/routes';
import { PINNED_RUNTIME } from './nag.js';

/** How long, and how often, EventBridge keeps trying to hand an event to a consumer. */
export const EVENT_DELIVERY_RETRIES = { retryAttempts: 8, maxEventAge: Duration.hours(24) } as const;
/** How often Lambda runs an event again after the function itself failed on it. */
export const FUNCTION_RETRY_ATTEMPTS = 2;

export interface EventConsumerProps {
  bus: events.IEventBus;
  /** Where events that cannot be handled end up, after EventBridge's and Lambda's retries. */
  deadLetters: sqs.IQueue;
  eventPattern: events.EventPattern;
  description: string;
  /** The consumer function (see `handlerProps`). */
  function: FunctionProps;
}

/**
 * A function the deployment's bus invokes for the events of one rule. Nothing is dropped: an event
 * EventBridge cannot deliver is retried for a day and then dead-lettered; an event the function
 * fails on (it throws, or times out) is retried by Lambda and then sent to the same queue by an
 * on-failure destination, which records the error next to the event.
 *
 * Construct ids: the function is `id`, its rule `${id}Rule`.
 */
export function addEventConsumer(stack: Stack, id: string, props: EventConsumerProps) {
  const { fn: consumer, rule } = addRuleTarget(stack, id, props, { eventBus: props.bus, description: props.description, eventPattern: props.eventPattern });
  return { consumer, rule };
}

/** A function that a rule invokes, with the retries and dead-lettering both kinds of rule share. */
function addRuleTarget(stack: Stack, id: string, props: { deadLetters: sqs.IQueue; function: FunctionProps }, ruleProps: events.RuleProps) {
  const fn = new SstFunction(stack, id, {
    ...props.function,
    retryAttempts: FUNCTION_RETRY_ATTEMPTS,
    onFailure: new destinations.SqsDestination(props.deadLetters),
  });
  const rule = new events.Rule(stack, `${id}Rule`, ruleProps);
  rule.addTarget(new targets.LambdaFunction(fn, { deadLetterQueue: props.deadLetters, ...EVENT_DELIVERY_RETRIES }));
  NagSuppressions.addResourceSuppressions(fn, [PINNED_RUNTIME], true);
  return { fn, rule };
}

/**
 * Core's patterns are EventBridge's own JSON, content filters included (`prefix`, `exists`,
 * `anything-but`, `$or`). CDK's `Rule` and archive render a pattern's values as given, so such a
 * pattern is handed over unchanged; only its static type is CDK's.
 */
export function rawPattern(pattern: object): events.EventPattern {
  return pattern as events.EventPattern;
}

/**
 * A consumer's pattern from the route table (EventBridge's own JSON field names, as the local bus
 * takes it) in the shape CDK's `Rule` takes, which renders it back to exactly that JSON.
 */
export function cdkPattern(pattern: EventConsumerDefinition['eventPattern']): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, detailType };
}

export interface ScheduledJobProps {
  /** How often the rule invokes the function. */
  schedule: events.Schedule;
  /** Where invocations that cannot be handled end up, after EventBridge's and Lambda's retries. */
  deadLetters: sqs.IQueue;
  description: string;
  function: FunctionProps;
}

/**
 * A function run on a schedule (a rule on the account's default bus, as schedules are), with the
 * same delivery guarantees as an event consumer: EventBridge retries, Lambda's retries, then the
 * dead-letter queue with the error. Construct ids: the function is `id`, its rule `${id}Rule`.
 */
export function addScheduledJob(stack: Stack, id: string, props: ScheduledJobProps) {
  const { fn: job, rule } = addRuleTarget(stack, id, props, { description: props.description, schedule: props.schedule });
  return { job, rule };
}
