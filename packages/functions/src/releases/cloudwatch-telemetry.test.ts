import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cloudwatchTelemetry } from './cloudwatch-telemetry.js';

/** The release gate in AWS reads one cell's own alarms and figures, never a neighbour's. */
const cloudwatch = mockClient(CloudWatchClient);
const PREFIX = 'prod-cellbook';
const WINDOW = { fromMs: Date.parse('2026-12-03T10:00:00Z'), toMs: Date.parse('2026-12-03T10:05:00Z') };

const apiMetric = (cellId: string) => ({
  Namespace: 'AWS/ApiGateway',
  Dimensions: [
    { Name: 'ApiName', Value: `${PREFIX}-${cellId}` },
    { Name: 'Stage', Value: 'prod' },
  ],
});
const fn = (name: string, metric: string) => ({
  Id: name,
  MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: name }] }, Period: 60, Stat: 'Sum' },
});

function alarmsOf(cellId: string, state: 'OK' | 'ALARM'): MetricAlarm[] {
  return [
    {
      AlarmName: `${PREFIX}-${cellId}-5xx-rate`,
      StateValue: state,
      StateReason: 'Threshold Crossed: 3 datapoints',
      ...apiMetric(cellId),
      MetricName: '5XXError',
      Statistic: 'Average',
      Period: 60,
    },
    { AlarmName: `${PREFIX}-${cellId}-latency-p99`, StateValue: 'OK', ...apiMetric(cellId), MetricName: 'Latency', ExtendedStatistic: 'p99', Period: 60 },
    {
      AlarmName: `${PREFIX}-${cellId}-function-errors`,
      StateValue: 'OK',
      Metrics: [fn(`${cellId}-a`, 'Errors'), fn(`${cellId}-b`, 'Errors'), { Id: 'e', Expression: 'SUM(METRICS())' }],
    },
    { AlarmName: `${PREFIX}-${cellId}-throttles`, StateValue: 'OK', Metrics: [fn(`${cellId}-a`, 'Throttles'), { Id: 'e', Expression: 'SUM(METRICS())' }] },
  ];
}

beforeEach(() => {
  cloudwatch.reset();
  // CloudWatch matches a prefix: `prod-cellbook-cell-1` also names cell-10's alarms. Both cells answer.
  cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [...alarmsOf('cell-1', 'OK'), ...alarmsOf('cell-10', 'ALARM')],
    CompositeAlarms: [
      { AlarmName: `${PREFIX}-cell-1-health`, StateValue: 'OK' },
      { AlarmName: `${PREFIX}-cell-10-health`, StateValue: 'ALARM' },
    ],
  });
  cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
    MetricDataResults: input.MetricDataQueries.map((query) => ({
      Id: query.Id,
      Values: ({ requests: [240], server_errors: [3], p99: [812] } as Record<string, number[]>)[query.Id] ?? [1],
    })),
  }));
});

describe('cloudwatchTelemetry', () => {
  it("reports only the cell's own alarms, named after the cell prefix", async () => {
    const observed = await cloudwatchTelemetry({ namePrefix: PREFIX, client: new CloudWatchClient({}) }).observe('cell-1', WINDOW);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input.AlarmNamePrefix).toBe(`${PREFIX}-cell-1-`);
    expect(observed.alarms).toEqual([
      { name: '5xx-rate', state: 'OK' },
      { name: 'latency-p99', state: 'OK' },
      { name: 'function-errors', state: 'OK' },
      { name: 'throttles', state: 'OK' },
      { name: 'health', state: 'OK' },
    ]);
  });

  it('an alarm in ALARM says why; a neighbour in ALARM is not counted', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarmsOf('cell-10', 'ALARM') });
    const telemetry = cloudwatchTelemetry({ namePrefix: PREFIX, client: new CloudWatchClient({}) });
    expect((await telemetry.observe('cell-10', WINDOW)).alarms[0]).toEqual({ name: '5xx-rate', state: 'ALARM', reason: 'Threshold Crossed: 3 datapoints' });
  });

  it("reads the figures from the metrics the cell's alarms watch, over the window as one period", async () => {
    const observed = await cloudwatchTelemetry({ namePrefix: PREFIX, client: new CloudWatchClient({}) }).observe('cell-1', WINDOW);
    expect(observed).toMatchObject({ requests: 240, serverErrors: 3, p99LatencyMs: 812, functionErrors: 2, functionThrottles: 1 });
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(new Date(WINDOW.fromMs));
    const functions = input.MetricDataQueries!.flatMap((query) => query.MetricStat?.Metric?.Dimensions?.filter((d) => d.Name === 'FunctionName').map((d) => d.Value) ?? []);
    expect(new Set(functions)).toEqual(new Set(['cell-1-a', 'cell-1-b']));
    const apis = input.MetricDataQueries!.flatMap((query) => query.MetricStat?.Metric?.Dimensions?.filter((d) => d.Name === 'ApiName').map((d) => d.Value) ?? []);
    expect(new Set(apis)).toEqual(new Set([`${PREFIX}-cell-1`]));
    expect(input.MetricDataQueries!.every((query) => query.MetricStat?.Period === 300)).toBe(true);
  });
});
