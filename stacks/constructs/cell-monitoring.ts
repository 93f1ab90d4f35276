import { Duration } from 'aws-cdk-lib';
import type * as apig from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { CELL_ALARM_NAMES, CELL_ALARM_THRESHOLDS, CELL_HEALTH_ALARM } from '@cellbook/core/cells/alarms';

const PERIOD = Duration.minutes(1);
/** Three bad minutes out of five: fast enough for a bake window, deaf to a single blip. */
const EVALUATION_PERIODS = 5;
const DATAPOINTS_TO_ALARM = 3;
/** CloudWatch accepts at most 10 metrics in one metric-math alarm. */
export const MAX_METRICS_PER_ALARM = 10;

export interface CellMonitoringProps {
  /** `<stage>-<app>-<cellId>`: prefixes alarm and dashboard names, so a gate can find them. */
  namePrefix: string;
  stage: apig.Stage;
  functions: readonly lambda.IFunction[];
  table: dynamodb.ITable;
}

export interface CellMonitoring {
  alarms: cloudwatch.Alarm[];
  health: cloudwatch.CompositeAlarm;
  dashboard: cloudwatch.Dashboard;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** Sums one Lambda metric over many functions, split so no alarm exceeds CloudWatch's limit. */
function sumAcrossFunctions(functions: readonly lambda.IFunction[], metric: (fn: lambda.IFunction) => cloudwatch.IMetric, label: string): cloudwatch.MathExpression[] {
  return chunks(functions, MAX_METRICS_PER_ALARM).map(
    (group) =>
      new cloudwatch.MathExpression({
        expression: 'SUM(METRICS())',
        usingMetrics: Object.fromEntries(group.map((fn, index) => [`m${index}`, metric(fn)])),
        label,
        period: PERIOD,
      }),
  );
}

export function cellMonitoring(scope: Construct, props: CellMonitoringProps): CellMonitoring {
  const { namePrefix, stage, functions, table } = props;
  const alarm = (id: string, name: string, description: string, metric: cloudwatch.IMetric, threshold: number) =>
    new cloudwatch.Alarm(scope, id, {
      alarmName: `${namePrefix}-${name}`,
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: EVALUATION_PERIODS,
      datapointsToAlarm: DATAPOINTS_TO_ALARM,
      // No traffic is not an outage; the synthetic probe of the deploy gate covers silence.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

  const serverErrorRate = stage.metricServerError({ statistic: cloudwatch.Stats.AVERAGE, period: PERIOD });
  const p99Latency = stage.metricLatency({ statistic: cloudwatch.Stats.p(99), period: PERIOD });
  const errors = sumAcrossFunctions(functions, (fn) => fn.metricErrors({ period: PERIOD }), 'Function errors');
  const throttles = sumAcrossFunctions(functions, (fn) => fn.metricThrottles({ period: PERIOD }), 'Function throttles');
  const suffix = (index: number, total: number) => (total > 1 ? `-${index + 1}` : '');

  const alarms = [
    alarm('ServerErrorRateAlarm', CELL_ALARM_NAMES.serverErrorRate, 'Share of API requests answered 5xx', serverErrorRate, CELL_ALARM_THRESHOLDS.serverErrorRate),
    alarm('LatencyP99Alarm', CELL_ALARM_NAMES.p99LatencyMs, 'API p99 latency (ms)', p99Latency, CELL_ALARM_THRESHOLDS.p99LatencyMs),
    ...throttles.map((metric, i) =>
      alarm(
        `ThrottlesAlarm${suffix(i, throttles.length)}`,
        `${CELL_ALARM_NAMES.functionThrottles}${suffix(i, throttles.length)}`,
        'Lambda throttles in the cell',
        metric,
        CELL_ALARM_THRESHOLDS.functionThrottles,
      ),
    ),
    ...errors.map((metric, i) =>
      alarm(
        `FunctionErrorsAlarm${suffix(i, errors.length)}`,
        `${CELL_ALARM_NAMES.functionErrors}${suffix(i, errors.length)}`,
        'Failed Lambda invocations in the cell',
        metric,
        CELL_ALARM_THRESHOLDS.functionErrors,
      ),
    ),
  ];

  const health = new cloudwatch.CompositeAlarm(scope, 'HealthAlarm', {
    compositeAlarmName: `${namePrefix}-${CELL_HEALTH_ALARM}`,
    alarmDescription: 'Any of the cell alarms: the signal a deploy wave is gated on',
    alarmRule: cloudwatch.AlarmRule.anyOf(...alarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
  });

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: namePrefix,
    defaultInterval: Duration.hours(3),
  });
  const width = 8;
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Cell health', alarms: [health, ...alarms], width: 24, height: 3 }));
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Requests', width, left: [stage.metricCount({ period: PERIOD })] }),
    new cloudwatch.GraphWidget({
      title: '4xx / 5xx',
      width,
      left: [stage.metricClientError({ period: PERIOD }), stage.metricServerError({ period: PERIOD })],
    }),
    new cloudwatch.GraphWidget({
      title: 'Latency (ms)',
      width,
      left: [stage.metricLatency({ statistic: cloudwatch.Stats.p(50), period: PERIOD }), p99Latency],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Function errors', width, left: functions.map((fn) => fn.metricErrors({ period: PERIOD })) }),
    new cloudwatch.GraphWidget({ title: 'Function throttles', width, left: functions.map((fn) => fn.metricThrottles({ period: PERIOD })) }),
    new cloudwatch.GraphWidget({
      title: 'Function duration p99 (ms)',
      width,
      left: functions.map((fn) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99), period: PERIOD })),
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Table capacity consumed',
      width: 12,
      left: [table.metricConsumedReadCapacityUnits({ period: PERIOD }), table.metricConsumedWriteCapacityUnits({ period: PERIOD })],
    }),
    new cloudwatch.GraphWidget({
      title: 'Table throttle events',
      width: 12,
      left: [
        table.metric('ReadThrottleEvents', { statistic: cloudwatch.Stats.SUM, period: PERIOD }),
        table.metric('WriteThrottleEvents', { statistic: cloudwatch.Stats.SUM, period: PERIOD }),
      ],
    }),
  );
  return { alarms, health, dashboard };
}
