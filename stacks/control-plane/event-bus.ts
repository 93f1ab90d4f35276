import { ArnFormat, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { App, Stack } from 'sst/constructs';
import * as Events from '@cellbook/core/events/events';
import { rawPattern } from '../constructs/event-consumer.js';
import { resourceName } from '../constructs/stage.js';

/** Events that cannot be delivered, and tenant events without a tenant, are kept this long. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * The deployment's one event bus (DESIGN §6) with a 30-day archive, and what keeps its events: every
 * Cellbook event lands in the audit log group; what cannot be delivered — and any tenant event that
 * names no tenant — is dead-lettered, and a dead letter raises an alarm.
 */
export function eventBus(stack: Stack, app: App) {
  const bus = new events.EventBus(stack, 'Bus', { eventBusName: resourceName(app, 'events') });
  bus.archive('Archive', {
    archiveName: resourceName(app, 'events'),
    eventPattern: rawPattern(Events.CELLBOOK_EVENTS_PATTERN),
    retention: Duration.days(30),
  });
  const deadLetters = new sqs.Queue(stack, 'DeadLetterQueue', {
    queueName: resourceName(app, 'events-dead-letters'),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });

  const eventLog = new logs.LogGroup(stack, 'EventLog', {
    logGroupName: `/aws/events/${resourceName(app, 'events')}`,
    retention: logs.RetentionDays.THREE_MONTHS,
  });
  const eventLogArn = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: eventLog.logGroupName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const auditRule = new events.Rule(stack, 'AuditTrailRule', {
    eventBus: bus,
    description: 'Every Cellbook event, kept in CloudWatch Logs',
    eventPattern: rawPattern(Events.CELLBOOK_EVENTS_PATTERN),
  });
  auditRule.addTarget({
    bind: () => ({
      arn: eventLogArn,
      deadLetterConfig: { arn: deadLetters.queueArn },
      retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
    }),
  });
  eventLog.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('events.amazonaws.com'), new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [eventLog.logGroupArn],
    }),
  );
  // DESIGN §6: an event without a tenant is dead-lettered unless it declares itself system-scoped;
  // core owns the pattern, and the local platform installs the same rule.
  const tenantlessRule = new events.Rule(stack, 'TenantlessEventRule', {
    eventBus: bus,
    description: 'Cellbook events with neither a detail.tenantId nor detail.scope = "system" are dead-lettered',
    eventPattern: rawPattern(Events.TENANTLESS_EVENTS_PATTERN),
  });
  tenantlessRule.addTarget(new targets.SqsQueue(deadLetters));
  deadLetters.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'EventBridgeDeadLetters',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [deadLetters.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': auditRule.ruleArn } },
    }),
  );
  new cloudwatch.Alarm(stack, 'DeadLettersAlarm', {
    alarmName: resourceName(app, 'events-dead-letters'),
    alarmDescription: 'Events were dead-lettered: undeliverable, or published without a tenant',
    metric: deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  NagSuppressions.addResourceSuppressions(deadLetters, [
    {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the event bus targets; a dead-letter queue for it would add nothing.',
    },
  ]);
  return { bus, deadLetters };
}
