import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import { BURN_RATE_ALERTS, SLO_WINDOWS, burnRate, type BurnRateAlert, type SliName } from '@cellbook/core/metering/slo-policy';
import { LATENCY_SLO_PERCENT, TIERS, TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import { infraFixture, type InfraFixture } from './support/app.js';

/**
 * Tenant SLOs in AWS (DESIGN §10) on the synthesized app: Contributor Insights rules rank each cell's
 * tenants from its access log (tenant id as the contributor key, never a metric dimension), metric
 * filters count per tier, and the burn-rate alarms compute core's burn rate with core's tier table
 * and alert policy — the expressions are evaluated here on figures and compared with core's own math.
 */
let infra: InfraFixture;

beforeAll(async () => {
  infra = await infraFixture();
}, 180_000);

const cellIds = Cell.CELL_CATALOG.map((cell) => cell.cellId);
const SLIS: SliName[] = ['availability', 'latency'];

interface MetricQuery {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] }; Period: number; Stat: string };
}

/** Evaluates a CloudWatch metric-math expression of IF, FILL and arithmetic on given values. */
function evaluate(expression: string, values: Record<string, number | undefined>): number {
  const IF = (condition: boolean | number, whenTrue: number, whenFalse: number) => (condition ? whenTrue : whenFalse);
  const FILL = (value: number | undefined, fallback: number) => value ?? fallback;
  const names = Object.keys(values);
  expect(expression).toMatch(/^[\w\s().,+\-*/<>=]+$/);
  return new Function('IF', 'FILL', ...names, `return ${expression};`)(IF, FILL, ...names.map((name) => values[name])) as number;
}

describe.each(cellIds)('tenant SLOs of cell stack %s', (cellId) => {
  const definition = Cell.CELL_CATALOG.find((cell) => cell.cellId === cellId)!;
  const tiers = TIER_NAMES.filter((tier) => TIERS[tier].placement === definition.placement);
  const prefix = () => `${infra.stage}-cellbook-${cellId}`;
  const stack = () => infra.cells.get(cellId)!;
  const accessLogGroup = () => infra.ref(stack(), `Api-${cellId}/LogGroup`);

  it("ranks the top tenants by requests, 5xx and latency with Contributor Insights rules on the API's access log, the tenant id as the contributor key", () => {
    const rules = new Map(infra.resources(stack(), 'AWS::CloudWatch::InsightRule').map((rule) => [rule.properties.RuleName as string, rule.properties]));
    expect([...rules.keys()].sort()).toEqual(['latency', 'requests', 'server-errors'].map((name) => `${prefix()}-top-tenants-${name}`));
    const body = (name: string) => {
      const rule = rules.get(`${prefix()}-top-tenants-${name}`)!;
      expect(rule.RuleState).toBe('ENABLED');
      return JSON.parse(rule.RuleBody as string) as Record<string, unknown>;
    };
    const withTenant = { Match: '$.tenantId', NotIn: ['-', ''] };
    const common = { Schema: { Name: 'CloudWatchLogRule', Version: 1 }, LogGroupNames: [accessLogGroup()], LogFormat: 'JSON' };
    expect(body('requests')).toEqual({ ...common, Contribution: { Keys: ['$.tenantId'], Filters: [withTenant] }, AggregateOn: 'Count' });
    expect(body('server-errors')).toEqual({
      ...common,
      Contribution: { Keys: ['$.tenantId'], Filters: [withTenant, { Match: '$.status', GreaterThan: 499 }] },
      AggregateOn: 'Count',
    });
    expect(body('latency')).toEqual({ ...common, Contribution: { Keys: ['$.tenantId'], Filters: [withTenant], ValueOf: '$.responseLatency' }, AggregateOn: 'Sum' });
  });

  it("counts requests, throttles, 5xx and requests slower than the tier's p99 target with metric filters whose only dimension is the tier", () => {
    const filters = infra.resources(stack(), 'AWS::Logs::MetricFilter').map((filter) => filter.properties);
    expect(filters).toHaveLength(tiers.length * 6);
    for (const filter of filters) {
      expect(filter.LogGroupName).toBe(accessLogGroup());
      const [transformation] = filter.MetricTransformations as { MetricNamespace: string; Dimensions: { Key: string; Value: string }[]; DefaultValue?: number }[];
      expect(transformation!.MetricNamespace).toBe(`Cellbook/Slo/${cellId}`);
      expect(transformation!.Dimensions).toEqual([{ Key: 'tier', Value: '$.tier' }]);
    }
    for (const tier of tiers) {
      const byMetric = new Map(
        filters
          .filter((filter) => (filter.FilterPattern as string).includes(`$.tier = "${tier}"`))
          .map((filter) => [(filter.MetricTransformations as { MetricName: string; MetricValue: string }[])[0]!, filter.FilterPattern as string] as const)
          .map(([transformation, pattern]) => [transformation.MetricName, { pattern, value: transformation.MetricValue }]),
      );
      // As core's access-log.ts reads a record: error type THROTTLED is the tenant's rate or burst,
      // none (`-`) means a function answered.
      const answered = `$.tier = "${tier}" && $.errorType = "-"`;
      expect(Object.fromEntries(byMetric)).toEqual({
        Requests: { pattern: `{ $.tier = "${tier}" }`, value: '1' },
        Throttled: { pattern: `{ $.tier = "${tier}" && $.errorType = "THROTTLED" }`, value: '1' },
        ServerErrors: { pattern: `{ $.tier = "${tier}" && $.status >= 500 }`, value: '1' },
        Answered: { pattern: `{ ${answered} }`, value: '1' },
        SlowRequests: { pattern: `{ ${answered} && $.responseLatency > ${TIERS[tier].slo.p99LatencyMs} }`, value: '1' },
        Latency: { pattern: `{ ${answered} }`, value: '$.responseLatency' },
      });
    }
  });

  it("alarms per tier on core's burn rate, over each alert's windows, at core's thresholds: the long AND the short window make the alert", () => {
    const alarms = new Map(
      infra
        .resources(stack(), 'AWS::CloudWatch::Alarm')
        .filter((alarm) => (alarm.properties.AlarmName as string).includes('-slo-'))
        .map((alarm) => [alarm.properties.AlarmName as string, alarm.properties]),
    );
    const composites = new Map(
      infra
        .resources(stack(), 'AWS::CloudWatch::CompositeAlarm')
        .filter((alarm) => (alarm.properties.AlarmName as string).includes('-slo-'))
        .map((alarm) => [alarm.properties.AlarmName as string, alarm.properties]),
    );
    const alerts = Object.keys(BURN_RATE_ALERTS) as BurnRateAlert[];
    expect(alarms.size).toBe(tiers.length * SLIS.length * Object.keys(SLO_WINDOWS).length);
    expect(composites.size).toBe(tiers.length * SLIS.length * alerts.length);

    for (const tier of tiers) {
      for (const sli of SLIS) {
        const objective = sli === 'availability' ? TIERS[tier].slo.availabilityPercent : LATENCY_SLO_PERCENT;
        for (const alert of alerts) {
          const { burnRate: threshold, long, short } = BURN_RATE_ALERTS[alert];
          for (const window of [long, short]) {
            const alarm = alarms.get(`${prefix()}-slo-${tier}-${sli}-${window}`)!;
            expect(alarm, `${tier} ${sli} ${window}`).toBeDefined();
            expect(alarm).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
            const queries = alarm.Metrics as MetricQuery[];
            const expression = queries.find((query) => query.Expression)!;
            const stats = queries.filter((query) => query.MetricStat);
            // Each metric summed over the whole window, from the cell's SLO namespace, by tier only.
            const metricOf = Object.fromEntries(stats.map((query) => [query.MetricStat!.Metric.MetricName, query.Id]));
            expect(Object.keys(metricOf).sort()).toEqual(sli === 'availability' ? ['Requests', 'ServerErrors', 'Throttled'] : ['Answered', 'SlowRequests']);
            for (const query of stats) {
              expect(query.MetricStat).toMatchObject({ Period: SLO_WINDOWS[window] * 60, Stat: 'Sum' });
              expect(query.MetricStat!.Metric).toMatchObject({ Namespace: `Cellbook/Slo/${cellId}`, Dimensions: [{ Name: 'tier', Value: tier }] });
            }
            // The expression is core's burn rate on core's SLI: availability = 5xx among requests not
            // throttled, latency = slow among answered requests; no valid request burns nothing.
            const figures = (valid: number, bad: number, throttled = 0): Record<string, number | undefined> =>
              sli === 'availability'
                ? { [metricOf.Requests!]: valid + throttled, [metricOf.Throttled!]: throttled, [metricOf.ServerErrors!]: bad }
                : { [metricOf.Answered!]: valid, [metricOf.SlowRequests!]: bad };
            for (const [valid, bad, throttled] of [
              [1_000, 2, 0],
              [1_000, 15, 9_000],
              [400, 400, 100],
              [37, 0, 0],
            ] as const) {
              expect(evaluate(expression.Expression!, figures(valid, bad, throttled))).toBeCloseTo(burnRate({ valid, bad }, objective), 9);
            }
            expect(evaluate(expression.Expression!, Object.fromEntries(stats.map((query) => [query.Id, undefined])))).toBe(0);
            expect(evaluate(expression.Expression!, figures(0, 0, 50))).toBe(0);
          }
          const composite = composites.get(`${prefix()}-slo-${tier}-${sli}-${alert}`)!;
          expect(composite.AlarmRule).toMatch(
            new RegExp(`^\\(ALARM\\("[^"]*:alarm:${prefix()}-slo-${tier}-${sli}-${long}"\\) AND ALARM\\("[^"]*:alarm:${prefix()}-slo-${tier}-${sli}-${short}"\\)\\)$`),
          );
        }
      }
    }
  });

  it('keeps the SLO alarms out of the health alarm that gates deploys', () => {
    const health = infra.resources(stack(), 'AWS::CloudWatch::CompositeAlarm').find((alarm) => alarm.properties.AlarmName === `${prefix()}-health`)!;
    expect(health.properties.AlarmRule).not.toContain('-slo-');
  });

  it("shows requests, 5xx, throttles, p99 and burn rates by tier, and the top tenants, on the cell's dashboard", () => {
    const [dashboard] = infra.resources(stack(), 'AWS::CloudWatch::Dashboard');
    const body = JSON.parse(dashboard!.properties.DashboardBody as string) as { widgets: { properties: Record<string, unknown> }[] };
    const titles = body.widgets.map((widget) => widget.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Requests by tier',
        '5xx by tier',
        'Throttles by tier',
        'p99 latency by tier (ms)',
        'Availability burn rate (1 h, 5 min)',
        'Latency burn rate (1 h, 5 min)',
        'Tenant SLO alerts (per tier)',
      ]),
    );
    const insightRules = body.widgets.flatMap((widget) => (widget.properties.insightRule ? [(widget.properties.insightRule as { ruleName: string }).ruleName] : []));
    expect(insightRules.sort()).toEqual(['latency', 'requests', 'server-errors'].map((name) => `${prefix()}-top-tenants-${name}`));
    const p99 = body.widgets.find((widget) => widget.properties.title === 'p99 latency by tier (ms)')!;
    expect(JSON.stringify(p99.properties.metrics)).toContain(`"Cellbook/Slo/${cellId}","Latency","tier"`);
  });
});

describe('the SLO metrics of every stack', () => {
  it('never carry a tenant dimension (tenants are contributors and log fields, not metrics)', () => {
    for (const stack of infra.stacks) {
      const template = JSON.stringify(infra.json(stack).Resources);
      expect(template).not.toMatch(/"(Name|Key)":\s*"tenant(Id)?"/i);
    }
  });

  it('cover each tier in the cells of its placement: pooled cells basic to premium, dedicated cells enterprise', () => {
    const tiersOf = (cellId: string) =>
      TIER_NAMES.filter((tier: TierName) =>
        infra.resources(infra.cells.get(cellId)!, 'AWS::CloudWatch::CompositeAlarm').some((alarm) => (alarm.properties.AlarmName as string).includes(`-slo-${tier}-`)),
      );
    for (const cell of Cell.CELL_CATALOG) {
      expect(tiersOf(cell.cellId)).toEqual(cell.placement === 'dedicated' ? ['enterprise'] : ['basic', 'standard', 'premium']);
    }
  });
});
