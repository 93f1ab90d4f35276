/**
 * The release gate's eyes in AWS (DESIGN §9): one cell's own alarms, and its figures over the window
 * since its deploy, from CloudWatch.
 *
 * Alarms are the cell stack's (stacks/constructs/cell-monitoring.ts), found by the cell's name
 * prefix `<stage>-<app>-<cellId>-` — the trailing dash keeps `cell-1` from matching `cell-10`. The
 * figures are read from the very metrics those alarms watch (each alarm carries its metric, or for
 * the function alarms one metric per function of the cell), so the gate and the alarms can never
 * look at different things, and no SEARCH expression can mix in a neighbour cell's functions.
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type CompositeAlarm,
  type MetricAlarm,
  type MetricDataQuery,
  type MetricStat,
} from '@aws-sdk/client-cloudwatch';
import { CELL_ALARM_NAMES, type AlarmState, type AlarmStateValue } from '@cellbook/core/cells/alarms';
import type { CellObservation, CellTelemetry } from '@cellbook/core/releases/ports';

export interface CloudWatchTelemetryConfig {
  /** `<stage>-<app>`: the cells' alarms are named `<namePrefix>-<cellId>-<alarm>`. */
  namePrefix: string;
  client?: CloudWatchClient;
}

/** CloudWatch answers GetMetricData for at most 500 queries at once; a cell has a few dozen. */
const MAX_QUERIES = 500;

async function cellAlarms(client: CloudWatchClient, prefix: string): Promise<{ metric: MetricAlarm[]; composite: CompositeAlarm[] }> {
  const metric: MetricAlarm[] = [];
  const composite: CompositeAlarm[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], ...(NextToken ? { NextToken } : {}) }));
    metric.push(...(page.MetricAlarms ?? []).filter((alarm) => alarm.AlarmName?.startsWith(prefix)));
    composite.push(...(page.CompositeAlarms ?? []).filter((alarm) => alarm.AlarmName?.startsWith(prefix)));
    NextToken = page.NextToken;
  } while (NextToken);
  return { metric, composite };
}

function stateOf(value: string | undefined): AlarmStateValue {
  return value === 'ALARM' || value === 'OK' ? value : 'INSUFFICIENT_DATA';
}

/** The metric an alarm watches, as one MetricStat (a single-metric alarm) or one per metric of its math. */
function watched(alarm: MetricAlarm): MetricStat[] {
  if (alarm.MetricName && alarm.Namespace) {
    return [
      {
        Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions ?? [] },
        Period: alarm.Period ?? 60,
        Stat: alarm.Statistic ?? alarm.ExtendedStatistic ?? 'Sum',
      },
    ];
  }
  return (alarm.Metrics ?? []).flatMap((query) => (query.MetricStat ? [query.MetricStat] : []));
}

export function cloudwatchTelemetry(config: CloudWatchTelemetryConfig): CellTelemetry {
  const client = config.client ?? new CloudWatchClient({});
  return {
    async observe(cellId, window): Promise<CellObservation> {
      const prefix = `${config.namePrefix}-${cellId}-`;
      const { metric, composite } = await cellAlarms(client, prefix);
      const alarms: AlarmState[] = [...metric, ...composite].map((alarm) => {
        const state = stateOf(alarm.StateValue);
        return { name: (alarm.AlarmName ?? '').slice(prefix.length), state, ...(state === 'ALARM' && alarm.StateReason ? { reason: alarm.StateReason } : {}) };
      });

      const named = (name: string) => metric.filter((alarm) => alarm.AlarmName === `${prefix}${name}` || alarm.AlarmName?.startsWith(`${prefix}${name}-`));
      // The whole window as one period (whole minutes, CloudWatch's finest for these metrics).
      const period = Math.max(60, Math.ceil((window.toMs - window.fromMs) / 60_000) * 60);
      const queries: MetricDataQuery[] = [];
      const add = (id: string, stat: MetricStat | undefined, overrides: { metricName?: string; stat: string }) => {
        if (!stat?.Metric) return;
        queries.push({
          Id: id,
          MetricStat: { Metric: { ...stat.Metric, ...(overrides.metricName ? { MetricName: overrides.metricName } : {}) }, Period: period, Stat: overrides.stat },
          ReturnData: true,
        });
      };
      const api = watched(named(CELL_ALARM_NAMES.serverErrorRate)[0] ?? {})[0];
      add('requests', api, { metricName: 'Count', stat: 'Sum' });
      add('server_errors', api, { metricName: '5XXError', stat: 'Sum' });
      add('p99', watched(named(CELL_ALARM_NAMES.p99LatencyMs)[0] ?? {})[0], { stat: 'p99' });
      for (const [index, stat] of named(CELL_ALARM_NAMES.functionErrors).flatMap(watched).entries()) add(`errors_${index}`, stat, { stat: 'Sum' });
      for (const [index, stat] of named(CELL_ALARM_NAMES.functionThrottles).flatMap(watched).entries()) add(`throttles_${index}`, stat, { stat: 'Sum' });

      const values = new Map<string, number[]>();
      for (let start = 0; start < queries.length; start += MAX_QUERIES) {
        let NextToken: string | undefined;
        do {
          const page = await client.send(
            new GetMetricDataCommand({
              MetricDataQueries: queries.slice(start, start + MAX_QUERIES),
              StartTime: new Date(window.fromMs),
              EndTime: new Date(Math.max(window.toMs, window.fromMs + 60_000)),
              ...(NextToken ? { NextToken } : {}),
            }),
          );
          for (const result of page.MetricDataResults ?? []) {
            if (result.Id) values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
          }
          NextToken = page.NextToken;
        } while (NextToken);
      }
      const sum = (id: string) => (values.get(id) ?? []).reduce((total, value) => total + value, 0);
      const sumOf = (prefixId: string) => [...values.keys()].filter((id) => id.startsWith(prefixId)).reduce((total, id) => total + sum(id), 0);
      const p99 = values.get('p99') ?? [];
      return {
        requests: sum('requests'),
        serverErrors: sum('server_errors'),
        p99LatencyMs: p99.length > 0 ? Math.max(...p99) : null,
        functionErrors: sumOf('errors_'),
        functionThrottles: sumOf('throttles_'),
        alarms,
      };
    },
  };
}
