import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BURN_RATE_ALERTS, objectivePercent, SLO_WINDOWS, type BurnRateAlert, type SliName, type SloWindow } from '@cellbook/core/metering/slo-policy';
import { TIERS, TIER_NAMES, type Placement, type TierName } from '@cellbook/core/tenancy/tiers';

/**
 * Tenant SLOs in AWS (DESIGN §10), from the cell API's access log, where the tenant id is a field of
 * each line and never a metric dimension (a dimension per tenant would multiply metrics by tenants,
 * and CloudWatch disables a metric filter at 1,000 dimension values):
 * - Contributor Insights rules rank the top tenants by requests, by 5xx and by latency (the sum of
 *   `responseLatency`): the tenant is the rule's contributor key.
 * - Metric filters count, per tier (the only dimension), requests, throttles, 5xx, requests a
 *   function answered and those slower than the tier's p99 target; burn-rate alarms per tier follow
 *   core's multiwindow policy, each alert a composite alarm of its long AND short window.
 * The SLIs are core's (metering/slo.ts): throttled requests (the tenant's own rate or burst) are not
 * valid events for availability; latency is judged over the requests a function answered, a request
 * within the target being good.
 */

/** Namespace of the SLO metrics: the cell's, so cells never blend; tier is the one dimension. */
export function sloNamespace(cellId: string): string {
  return `Cellbook/Slo/${cellId}`;
}

export const SLO_METRICS = {
  requests: 'Requests',
  throttled: 'Throttled',
  serverErrors: 'ServerErrors',
  answered: 'Answered',
  slowRequests: 'SlowRequests',
  latency: 'Latency',
} as const;

/** The Contributor Insights rules, by what they rank tenants on. */
export const TOP_TENANT_RULES = ['requests', 'server-errors', 'latency'] as const;
export type TopTenantRule = (typeof TOP_TENANT_RULES)[number];

/** The tiers a cell of this placement serves (pooled cells: basic to premium; dedicated: enterprise). */
export function tiersOf(placement: Placement): TierName[] {
  return TIER_NAMES.filter((tier) => TIERS[tier].placement === placement);
}

/**
 * The access log's filter patterns, per tier (JSON filter patterns on ACCESS_LOG_FORMAT's fields),
 * telling the gateway's answers apart as core's access-log.ts does: `errorType` THROTTLED is the
 * tenant's rate or burst; no error type (`-`) means a function answered.
 */
export function sloFilterPatterns(tier: TierName): Record<keyof typeof SLO_METRICS, string> {
  const ofTier = `$.tier = "${tier}"`;
  const answered = `${ofTier} && $.errorType = "-"`;
  return {
    requests: `{ ${ofTier} }`,
    throttled: `{ ${ofTier} && $.errorType = "THROTTLED" }`,
    serverErrors: `{ ${ofTier} && $.status >= 500 }`,
    answered: `{ ${answered} }`,
    slowRequests: `{ ${answered} && $.responseLatency > ${TIERS[tier].slo.p99LatencyMs} }`,
    latency: `{ ${answered} }`,
  };
}

/**
 * The burn rate of an SLI over one window as metric math, core's burnRate: bad / valid / (1 − objective);
 * 0 when the window had no valid request (silence is not an outage). Availability: 5xx among requests
 * not throttled; latency: slow among the requests a function answered. `ids` name the metrics.
 */
export function burnRateExpression(tier: TierName, sli: SliName, ids: { requests: string; throttled: string; answered: string; bad: string }): string {
  const valid = sli === 'availability' ? `FILL(${ids.requests}, 0) - FILL(${ids.throttled}, 0)` : `FILL(${ids.answered}, 0)`;
  return `IF(${valid} > 0, 100 * FILL(${ids.bad}, 0) / (${valid}) / (100 - ${objectivePercent(tier, sli)}), 0)`;
}

export interface CellSloProps {
  /** `<stage>-<app>-<cellId>`: prefixes rule, alarm and dashboard names. */
  namePrefix: string;
  cellId: string;
  placement: Placement;
  accessLogGroup: logs.ILogGroup;
  /** The cell's dashboard, which gets the SLO widgets. */
  dashboard: cloudwatch.Dashboard;
}

export interface CellSlo {
  rules: Record<TopTenantRule, cloudwatch.CfnInsightRule>;
  burnRateAlarms: cloudwatch.Alarm[];
  alerts: cloudwatch.CompositeAlarm[];
}

/** A Contributor Insights rule's graph on a dashboard (CDK has no widget for it). */
class TopContributorsWidget extends cloudwatch.ConcreteWidget {
  constructor(
    private readonly title: string,
    private readonly ruleName: string,
    private readonly region: string,
  ) {
    super(8, 6);
  }

  toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.title,
          region: this.region,
          view: 'timeSeries',
          stacked: false,
          insightRule: { ruleName: this.ruleName, maxContributorCount: 10, orderBy: 'Sum' },
        },
      },
    ];
  }
}

export function cellSlo(scope: Construct, props: CellSloProps): CellSlo {
  const { namePrefix, cellId, placement, accessLogGroup, dashboard } = props;
  const stack = Stack.of(scope);
  const namespace = sloNamespace(cellId);

  // Top-N tenants: each log line with a tenant (API Gateway logs `-` for a missing context value).
  const withTenant = { Match: '$.tenantId', NotIn: ['-', ''] };
  const ruleBody = (filters: object[], aggregateOn: 'Count' | 'Sum', summedField?: string) =>
    stack.toJsonString({
      Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      LogGroupNames: [accessLogGroup.logGroupName],
      LogFormat: 'JSON',
      Contribution: { Keys: ['$.tenantId'], Filters: [withTenant, ...filters], ...(summedField ? { ValueOf: summedField } : {}) },
      AggregateOn: aggregateOn,
    });
  const ruleBodies: Record<TopTenantRule, string> = {
    requests: ruleBody([], 'Count'),
    'server-errors': ruleBody([{ Match: '$.status', GreaterThan: 499 }], 'Count'),
    latency: ruleBody([], 'Sum', '$.responseLatency'),
  };
  const rules = Object.fromEntries(
    TOP_TENANT_RULES.map((name) => [
      name,
      new cloudwatch.CfnInsightRule(scope, `TopTenants-${name}`, { ruleName: `${namePrefix}-top-tenants-${name}`, ruleState: 'ENABLED', ruleBody: ruleBodies[name] }),
    ]),
  ) as Record<TopTenantRule, cloudwatch.CfnInsightRule>;

  const tiers = tiersOf(placement);
  const metric = (tier: TierName, name: keyof typeof SLO_METRICS, window: Duration, statistic: string = cloudwatch.Stats.SUM) =>
    new cloudwatch.Metric({ namespace, metricName: SLO_METRICS[name], dimensionsMap: { tier }, statistic, period: window });
  for (const tier of tiers) {
    const patterns = sloFilterPatterns(tier);
    for (const name of Object.keys(SLO_METRICS) as (keyof typeof SLO_METRICS)[]) {
      new logs.MetricFilter(scope, `SloFilter-${tier}-${name}`, {
        logGroup: accessLogGroup,
        filterPattern: logs.FilterPattern.literal(patterns[name]),
        metricNamespace: namespace,
        metricName: SLO_METRICS[name],
        metricValue: name === 'latency' ? '$.responseLatency' : '1',
        dimensions: { tier: '$.tier' },
        unit: name === 'latency' ? cloudwatch.Unit.MILLISECONDS : cloudwatch.Unit.COUNT,
      });
    }
  }

  // Metric ids are unique per tier and window, as one dashboard graph shows several of them.
  const burnRate = (tier: TierName, sli: SliName, window: SloWindow) => {
    const period = Duration.minutes(SLO_WINDOWS[window]);
    const suffix = `${tier}_${sli}_w${window}`;
    const ids = { requests: `requests_${suffix}`, throttled: `throttled_${suffix}`, answered: `answered_${suffix}`, bad: `bad_${suffix}` };
    const valid =
      sli === 'availability'
        ? { [ids.requests]: metric(tier, 'requests', period), [ids.throttled]: metric(tier, 'throttled', period) }
        : { [ids.answered]: metric(tier, 'answered', period) };
    return new cloudwatch.MathExpression({
      expression: burnRateExpression(tier, sli, ids),
      usingMetrics: { ...valid, [ids.bad]: metric(tier, sli === 'availability' ? 'serverErrors' : 'slowRequests', period) },
      label: `${tier} ${sli} burn rate (${window})`,
      period,
    });
  };

  const burnRateAlarms: cloudwatch.Alarm[] = [];
  const alerts: cloudwatch.CompositeAlarm[] = [];
  const slis: SliName[] = ['availability', 'latency'];
  for (const tier of tiers) {
    for (const sli of slis) {
      // One alarm per window and alert: the long and short windows of an alert share a threshold.
      for (const alert of Object.keys(BURN_RATE_ALERTS) as BurnRateAlert[]) {
        const { burnRate: threshold, long, short } = BURN_RATE_ALERTS[alert];
        const windowAlarms = [long, short].map((window) => {
          const alarm = new cloudwatch.Alarm(scope, `BurnRate-${tier}-${sli}-${window}`, {
            alarmName: `${namePrefix}-slo-${tier}-${sli}-${window}`,
            alarmDescription: `${tier} ${sli} SLO (${objectivePercent(tier, sli)} %): burn rate over ${window} at least ${threshold}× (the ${alert} alert's ${window === long ? 'long' : 'short'} window)`,
            metric: burnRate(tier, sli, window),
            threshold,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            // The period is the window: one datapoint is the burn rate over the whole window.
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          });
          burnRateAlarms.push(alarm);
          return alarm;
        });
        alerts.push(
          new cloudwatch.CompositeAlarm(scope, `BurnRateAlert-${tier}-${sli}-${alert}`, {
            compositeAlarmName: `${namePrefix}-slo-${tier}-${sli}-${alert}`,
            alarmDescription: `${tier} tenants of ${cellId} burn their ${sli} error budget ${threshold}× too fast over ${long} and ${short}`,
            alarmRule: cloudwatch.AlarmRule.allOf(...windowAlarms.map((alarm) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM))),
          }),
        );
      }
    }
  }

  const minute = Duration.minutes(1);
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Tenant SLO alerts (per tier)', alarms: alerts, width: 24, height: 3 }));
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Requests by tier', width: 6, left: tiers.map((tier) => metric(tier, 'requests', minute)) }),
    new cloudwatch.GraphWidget({ title: '5xx by tier', width: 6, left: tiers.map((tier) => metric(tier, 'serverErrors', minute)) }),
    new cloudwatch.GraphWidget({ title: 'Throttles by tier', width: 6, left: tiers.map((tier) => metric(tier, 'throttled', minute)) }),
    new cloudwatch.GraphWidget({ title: 'p99 latency by tier (ms)', width: 6, left: tiers.map((tier) => metric(tier, 'latency', minute, cloudwatch.Stats.p(99))) }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Availability burn rate (1 h, 5 min)',
      width: 12,
      left: tiers.flatMap((tier) => [burnRate(tier, 'availability', '1h'), burnRate(tier, 'availability', '5m')]),
    }),
    new cloudwatch.GraphWidget({
      title: 'Latency burn rate (1 h, 5 min)',
      width: 12,
      left: tiers.flatMap((tier) => [burnRate(tier, 'latency', '1h'), burnRate(tier, 'latency', '5m')]),
    }),
  );
  dashboard.addWidgets(
    new TopContributorsWidget('Top tenants by requests', `${namePrefix}-top-tenants-requests`, stack.region),
    new TopContributorsWidget('Top tenants by 5xx', `${namePrefix}-top-tenants-server-errors`, stack.region),
    new TopContributorsWidget('Top tenants by latency (sum, ms)', `${namePrefix}-top-tenants-latency`, stack.region),
  );
  return { rules, burnRateAlarms, alerts };
}
