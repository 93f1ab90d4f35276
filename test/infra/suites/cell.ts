import type { ApiGatewayV1Api } from 'sst/constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import { AUTHORIZER_CACHE_TTL_SECONDS, TIERS, TIER_NAMES } from '@cellbook/core/tenancy/tiers';
import { cellbookTable } from '@cellbook/local/aws/cellbook-table';
import { GATEWAY_RESPONSES } from '@cellbook/functions/gateway-responses';
import { CELL_ROUTES } from '@cellbook/functions/routes';
import { CELL_ALARM_THRESHOLDS } from '@cellbook/core/cells/alarms';
import { MAX_METRICS_PER_ALARM } from '../../../stacks/constructs/cell-monitoring.js';
import { LOG_RETENTION } from '../../../stacks/constructs/functions.js';
import type { InfraFixture } from '../support/app.js';
import { restApiMethods } from '../support/rest-api.js';

let infra: InfraFixture;

const cellIds = Cell.CELL_CATALOG.map((cell) => cell.cellId);
const routeKeys = CELL_ROUTES.map((route) => `${route.method} ${route.path}`);
const tenantRoutes = CELL_ROUTES.filter((route) => route.auth !== 'none');
const publicRoutes = CELL_ROUTES.filter((route) => route.auth === 'none');

export function cellSuite(fixture: () => InfraFixture): void {
  beforeAll(() => {
    infra = fixture();
  });

  describe('the SST app', () => {
    it('has one Cell stack per catalogued cell, plus the control plane and the router', () => {
      expect(infra.stacks.map((stack) => stack.stackName).sort()).toEqual(['ControlPlane', 'Router', ...cellIds].map((id) => `${infra.stage}-cellbook-${id}`).sort());
    });

    it('deploys the dedicated cells up front, like the pooled ones: each registers with its own placement and capacity', () => {
      const dedicated = Cell.CELL_CATALOG.filter((cell) => cell.placement === 'dedicated');
      expect(dedicated.length).toBeGreaterThan(0);
      for (const definition of dedicated) {
        const [registration] = infra.resources(infra.cells.get(definition.cellId)!, 'Custom::CellRegistration');
        expect(JSON.parse(registration!.properties.Record as string)).toMatchObject({
          cellId: definition.cellId,
          placement: 'dedicated',
          capacity: definition.capacity,
          status: 'active',
        });
      }
    });

    it('gives no two cells the same table, API, tenant role or usage plan', () => {
      const owned = cellIds.flatMap((cellId) => {
        const stack = infra.cells.get(cellId)!;
        return [
          infra.ref(stack, `${cellId}/Table`),
          infra.ref(stack, `Api-${cellId}/Api`),
          infra.arn(stack, 'TenantAccessRole'),
          ...TIER_NAMES.map((tier) => infra.ref(stack, `Api-${cellId}/Api/UsagePlan-${tier}`)),
        ];
      });
      expect(new Set(owned).size).toBe(owned.length);
    });
  });

  describe.each(cellIds)('Cell stack %s', (cellId) => {
    const definition = Cell.CELL_CATALOG.find((cell) => cell.cellId === cellId)!;
    const stack = () => infra.cells.get(cellId)!;
    const one = (type: string) => {
      const found = infra.resources(stack(), type);
      expect(found, type).toHaveLength(1);
      return found[0]!.properties;
    };

    it('owns a DynamoDB table keyed as the local platform keys it (PK/SK with GSI1), on demand, point-in-time recovery, KMS-encrypted, deletion-protected', () => {
      const table = one('AWS::DynamoDB::Table');
      const { TableName, BillingMode, KeySchema, GlobalSecondaryIndexes } = cellbookTable(`${infra.stage}-cellbook-${cellId}`);
      expect(table).toMatchObject({
        TableName,
        BillingMode,
        KeySchema,
        GlobalSecondaryIndexes,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        // SSEEnabled: KMS with the AWS managed key (aws/dynamodb) rather than an AWS owned key.
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      });
    });

    it('owns a regional REST API whose usage plans read the API key from the authorizer', () => {
      expect(one('AWS::ApiGateway::RestApi')).toMatchObject({
        Name: `${infra.stage}-cellbook-${cellId}`,
        ApiKeySourceType: 'AUTHORIZER',
        EndpointConfiguration: { Types: ['REGIONAL'] },
      });
    });

    it("authorizes with a Lambda REQUEST authorizer cached as long as the local gateway's", () => {
      const authorizer = one('AWS::ApiGateway::Authorizer');
      expect(authorizer).toMatchObject({
        Type: 'REQUEST',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_TTL_SECONDS,
      });
      expect(authorizer.AuthorizerUri).toContain(`:function:${infra.ref(stack(), `Authorizer-${cellId}`)}/invocations`);
    });

    it('serves exactly the route table: every tenant route behind the tenant authorizer and an API key, the health check public', () => {
      expect(publicRoutes.map((route) => `${route.method} ${route.path}`)).toEqual(['GET /health']);
      const methods = restApiMethods(infra.json(stack()));
      expect(methods.map((method) => method.route).sort()).toEqual([...routeKeys].sort());
      const authorizerId = infra.logicalId(infra.construct(stack(), `Api-${cellId}/tenant`));
      for (const method of methods) {
        const isPublic = publicRoutes.some((route) => `${route.method} ${route.path}` === method.route);
        expect(method, method.route).toMatchObject(
          isPublic
            ? { authorizationType: 'NONE', authorizerLogicalId: undefined, apiKeyRequired: false }
            : { authorizationType: 'CUSTOM', authorizerLogicalId: authorizerId, apiKeyRequired: true },
        );
        expect(method.functionLogicalId, method.route).toBeDefined();
      }
      // One function per route.
      expect(new Set(methods.map((method) => method.functionLogicalId)).size).toBe(methods.length);
    });

    it('has one usage plan per tier, equal to the tier table number for number', () => {
      const apiId = infra.ref(stack(), `Api-${cellId}/Api`);
      const plans = infra.resources(stack(), 'AWS::ApiGateway::UsagePlan').map((plan) => plan.properties);
      expect(plans).toHaveLength(TIER_NAMES.length);
      for (const tier of TIER_NAMES) {
        const plan = plans.find((candidate) => candidate.UsagePlanName === `${infra.stage}-cellbook-${cellId}-${tier}`);
        expect(plan, tier).toBeDefined();
        const { throttle, quota } = TIERS[tier];
        expect(plan!.Throttle).toEqual({ RateLimit: throttle.rateLimit, BurstLimit: throttle.burstLimit });
        expect(plan!.Quota ?? null).toEqual(quota ? { Limit: quota.limit, Period: quota.period } : null);
        expect(plan!.ApiStages).toEqual([{ ApiId: apiId, Stage: infra.stage, Throttle: {} }]);
      }
    });

    it("answers API Gateway's own errors with the local gateway's status codes and bodies", () => {
      const responses = infra.resources(stack(), 'AWS::ApiGateway::GatewayResponse').map((response) => response.properties);
      expect(
        Object.fromEntries(
          responses.map((response) => [
            response.ResponseType,
            { statusCode: Number(response.StatusCode), body: JSON.parse((response.ResponseTemplates as Record<string, string>)['application/json']!) },
          ]),
        ),
      ).toEqual(GATEWAY_RESPONSES);
    });

    it('writes JSON access logs with the tenant, and execution errors, for the stage', () => {
      const stage = one('AWS::ApiGateway::Stage');
      expect(stage).toMatchObject({ StageName: infra.stage, TracingEnabled: true });
      // Every method logs errors; the public health check also gets a throttle of its own, since no
      // usage plan meters a call without an API key.
      expect(stage.MethodSettings).toEqual([
        { HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false },
        ...publicRoutes.map((route) => ({
          HttpMethod: route.method,
          // API Gateway's form: `/`, then the resource path with each `/` escaped as `~1`.
          ResourcePath: `/${route.path.replace(/\//g, '~1')}`,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        })),
      ]);
      const format = JSON.parse((stage.AccessLogSetting as { Format: string }).Format.replace(/\$context\.(status|responseLatency|requestTimeEpoch)/g, '0')) as Record<
        string,
        string
      >;
      expect(format).toMatchObject({ tenantId: '$context.authorizer.tenantId', apiKeyId: '$context.identity.apiKeyId', requestId: '$context.requestId' });
      // What metering reads of each record (core's metering/access-log.ts), under the names the local gateway writes too.
      expect(format).toMatchObject({
        requestTime: '$context.requestTime',
        httpMethod: '$context.httpMethod',
        resourcePath: '$context.resourcePath',
        tier: '$context.authorizer.tier',
        principalId: '$context.authorizer.principalId',
        errorType: '$context.error.responseType',
      });
      expect((stage.AccessLogSetting as { Format: string }).Format).toContain('"requestTimeEpoch":$context.requestTimeEpoch,');
    });

    it("gives the API functions the local platform's environment, pointing at this cell only", () => {
      const control = infra.controlPlane;
      const poolId = infra.ref(control, 'UserPool');
      const expected = {
        CELL_ID: cellId,
        TABLE_NAME: infra.ref(stack(), `${cellId}/Table`),
        TENANTS_TABLE: infra.ref(control, 'tenants/Table'),
        TENANT_ROLE_ARN: infra.arn(stack(), 'TenantAccessRole'),
        USER_POOL_ID: poolId,
        USER_POOL_CLIENT_ID: infra.ref(control, 'UserPool/ApiClient'),
        JWT_ISSUER: `https://cognito-idp.${infra.region}.amazonaws.com/${poolId}`,
        // The control plane's API, where the identity broker serves the cells' tenant sessions.
        IDENTITY_BROKER_URL: expect.stringMatching(/^https:\/\/[^/]+\.execute-api\.[^/]+\.amazonaws\.com\/[^/]+\/?$/),
        POWERTOOLS_SERVICE_NAME: 'cellbook',
        POWERTOOLS_METRICS_NAMESPACE: 'Cellbook',
      };
      const apiRole = infra.arn(stack(), 'ApiFunctionRole');
      const routeFunctions = infra
        .resources(stack(), 'AWS::Lambda::Function')
        .filter((fn) => fn.properties.Role === apiRole)
        .map((fn) => fn.properties);
      expect(routeFunctions).toHaveLength(tenantRoutes.length);
      for (const fn of routeFunctions) {
        expect((fn.Environment as { Variables: Record<string, string> }).Variables).toMatchObject(expected);
        expect(fn.Architectures).toEqual(['arm64']);
        expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      }
      const authorizer = infra.resources(stack(), 'AWS::Lambda::Function').find((fn) => fn.properties.Role === infra.arn(stack(), 'AuthorizerFunctionRole'))!;
      const { TENANT_ROLE_ARN: _noTenantRole, IDENTITY_BROKER_URL: _noBroker, ...authorizerExpected } = expected;
      expect((authorizer.properties.Environment as { Variables: Record<string, string> }).Variables).toMatchObject(authorizerExpected);
      expect((authorizer.properties.Environment as { Variables: Record<string, string> }).Variables).not.toHaveProperty('TENANT_ROLE_ARN');
    });

    it('runs the public health check with its own role, which holds nothing, and knows only its cell id', async () => {
      const publicRole = infra.role(stack(), 'PublicRouteFunctionRole');
      const publicFunctions = infra.resources(stack(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Role === publicRole.arn);
      expect(publicFunctions.map((fn) => fn.properties.Handler)).toEqual(publicRoutes.map((route) => `packages/functions/src/${route.handler}.handler`));
      for (const fn of publicFunctions) {
        const variables = (fn.properties.Environment as { Variables: Record<string, string> }).Variables;
        expect(variables.CELL_ID).toBe(cellId);
        for (const name of ['TABLE_NAME', 'TENANT_ROLE_ARN', 'TENANTS_TABLE', 'USER_POOL_ID']) expect(variables).not.toHaveProperty(name);
      }
      // Its own logs and X-Ray traces, nothing else of the app.
      const actions = publicRole.policies
        .flatMap(({ policy }) => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]))
        .flatMap((statement) => [statement.Action].flat() as string[]);
      expect([...new Set(actions)].sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    });

    it('sends every function log to a log group of its own with bounded retention', () => {
      const groups = new Map(infra.resources(stack(), 'AWS::Logs::LogGroup').map((group) => [group.logicalId, group.properties]));
      const functions = infra.resources(stack(), 'AWS::Lambda::Function').filter((fn) => fn.properties.LoggingConfig);
      // Routes (the health check included), authorizer, registrar and the provider framework's
      // function that relays to it (SST's own deploy-time handler logs to Lambda's default group).
      expect(functions).toHaveLength(CELL_ROUTES.length + 3);
      const template = infra.json(stack());
      const seen = new Set<string>();
      for (const fn of functions) {
        const ref = (template.Resources[fn.logicalId]!.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(groups.get(ref)?.RetentionInDays, fn.logicalId).toBe(LOG_RETENTION);
        seen.add(ref);
      }
      expect(seen.size).toBe(functions.length);
    });

    it("delivers its usage to the control plane's intake: usage lines of each tenant function's log, and every access log record, under a subscription named after the cell", () => {
      const api = infra.construct(stack(), `Api-${cellId}`) as unknown as ApiGatewayV1Api;
      const template = infra.json(stack());
      const logGroupOf = (logicalId: string) => (template.Resources[logicalId]!.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const expected = [
        ...tenantRoutes.map((route) => ({
          LogGroupName: infra.resolver.ref(stack().stackName, logGroupOf(infra.logicalId(api.getFunction(`${route.method} ${route.path}`)!))),
          FilterPattern: '{ $.type = "cellbook.usage" }',
        })),
        { LogGroupName: infra.resolver.ref(stack().stackName, infra.logicalId(api.cdk.accessLogGroup!)), FilterPattern: '' },
      ];
      const filters = infra.resources(stack(), 'AWS::Logs::SubscriptionFilter').map((filter) => filter.properties);
      expect(filters.map(({ LogGroupName, FilterPattern }) => ({ LogGroupName, FilterPattern }))).toEqual(expect.arrayContaining(expected));
      expect(filters).toHaveLength(expected.length);
      for (const filter of filters) {
        expect(filter).toMatchObject({ FilterName: `cellbook-usage-${cellId}`, DestinationArn: infra.arn(infra.controlPlane, 'LogSubscriber-usage-ingest') });
      }
    });

    it('raises alarms a deploy gate can read: 5xx rate, p99 latency, throttles, function errors, and a composite health alarm', () => {
      const prefix = `${infra.stage}-cellbook-${cellId}`;
      // The tenant SLO burn-rate alarms (`-slo-`) are not the deploy gate's: tenant-slo.test.ts proves them.
      const alarms = new Map(
        infra
          .resources(stack(), 'AWS::CloudWatch::Alarm')
          .filter((alarm) => !(alarm.properties.AlarmName as string).startsWith(`${prefix}-slo-`))
          .map((alarm) => [alarm.properties.AlarmName as string, alarm.properties]),
      );
      // The authorizer and every route (the health check included) are on the request path; past
      // CloudWatch's 10 metrics per alarm, throttles and errors are split over numbered alarms.
      const requestPathSize = CELL_ROUTES.length + 1;
      const parts = Math.ceil(requestPathSize / MAX_METRICS_PER_ALARM);
      const numbered = (name: string) => (parts === 1 ? [name] : Array.from({ length: parts }, (_, i) => `${name}-${i + 1}`));
      const functionAlarms = { throttles: numbered('throttles'), 'function-errors': numbered('function-errors') };
      expect([...alarms.keys()].sort()).toEqual(
        ['5xx-rate', 'latency-p99', ...functionAlarms.throttles, ...functionAlarms['function-errors']].map((name) => `${prefix}-${name}`).sort(),
      );
      const apiDimensions = [
        { Name: 'ApiName', Value: `${prefix}` },
        { Name: 'Stage', Value: infra.stage },
      ];
      expect(alarms.get(`${prefix}-5xx-rate`)).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Statistic: 'Average',
        Threshold: CELL_ALARM_THRESHOLDS.serverErrorRate,
      });
      expect(alarms.get(`${prefix}-5xx-rate`)!.Dimensions).toEqual(expect.arrayContaining(apiDimensions));
      expect(alarms.get(`${prefix}-latency-p99`)).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Latency',
        ExtendedStatistic: 'p99',
        Threshold: CELL_ALARM_THRESHOLDS.p99LatencyMs,
      });

      // Throttles and errors cover every function on the request path: the authorizer and each route.
      const requestPathRoles = ['ApiFunctionRole', 'AuthorizerFunctionRole', 'PublicRouteFunctionRole'].map((path) => infra.arn(stack(), path));
      const requestPath = new Set(
        infra
          .resources(stack(), 'AWS::Lambda::Function')
          .filter((fn) => requestPathRoles.includes(fn.properties.Role as string))
          .map((fn) => infra.resolver.ref(stack().stackName, fn.logicalId)),
      );
      expect(requestPath.size).toBe(requestPathSize);
      for (const [name, metricName, threshold] of [
        ['throttles', 'Throttles', CELL_ALARM_THRESHOLDS.functionThrottles],
        ['function-errors', 'Errors', CELL_ALARM_THRESHOLDS.functionErrors],
      ] as const) {
        const measuredFunctions: string[] = [];
        for (const alarmName of functionAlarms[name]) {
          const alarm = alarms.get(`${prefix}-${alarmName}`)!;
          expect(alarm.Threshold).toBe(threshold);
          const metrics = alarm.Metrics as { Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Value: string }[] } } }[];
          expect(metrics.find((metric) => metric.Expression)?.Expression).toBe('SUM(METRICS())');
          const measured = metrics.filter((metric) => metric.MetricStat);
          expect(measured.length).toBeLessThanOrEqual(MAX_METRICS_PER_ALARM);
          expect(new Set(measured.map((metric) => metric.MetricStat!.Metric.MetricName))).toEqual(new Set([metricName]));
          measuredFunctions.push(...measured.map((metric) => metric.MetricStat!.Metric.Dimensions[0]!.Value));
        }
        // Each function in exactly one of the alarms.
        expect(measuredFunctions.sort()).toEqual([...requestPath].sort());
      }

      const composites = infra.resources(stack(), 'AWS::CloudWatch::CompositeAlarm').filter((alarm) => !(alarm.properties.AlarmName as string).startsWith(`${prefix}-slo-`));
      expect(composites).toHaveLength(1);
      const health = composites[0]!.properties;
      expect(health.AlarmName).toBe(`${prefix}-health`);
      for (const name of alarms.keys()) expect(health.AlarmRule).toContain(`:alarm:${name}")`);
    });

    it('has a dashboard of its own API, functions and table', () => {
      const dashboard = one('AWS::CloudWatch::Dashboard');
      expect(dashboard.DashboardName).toBe(`${infra.stage}-cellbook-${cellId}`);
      const body = dashboard.DashboardBody as string;
      expect(body).toContain(`"ApiName","${infra.stage}-cellbook-${cellId}"`);
      expect(body).toContain(`"TableName","${infra.ref(stack(), `${cellId}/Table`)}"`);
      for (const other of cellIds.filter((id) => id !== cellId)) expect(body).not.toContain(`-cellbook-${other}`);
    });

    it('tags every taggable resource with app, cell and stage', () => {
      const expected = { app: 'cellbook', cell: cellId, stage: infra.stage };
      let tagged = 0;
      for (const [logicalId, resource] of Object.entries(infra.json(stack()).Resources)) {
        const tags = resource.Properties?.Tags as { Key: string; Value: string }[] | Record<string, string> | undefined;
        if (!tags) continue;
        tagged += 1;
        const map = Array.isArray(tags) ? Object.fromEntries(tags.map((tag) => [tag.Key, tag.Value])) : tags;
        expect(map, logicalId).toMatchObject(expected);
      }
      expect(tagged).toBeGreaterThan(20);
    });

    it("registers itself in the control plane's cell catalog with its table, API, stage, tenant access role and plans", () => {
      const registration = one('Custom::CellRegistration');
      expect(JSON.parse(registration.Record as string)).toEqual({
        ...definition,
        status: 'active',
        tableName: infra.ref(stack(), `${cellId}/Table`),
        apiId: infra.ref(stack(), `Api-${cellId}/Api`),
        stage: infra.stage,
        // Control-plane work on one tenant's data here (move, export, offboarding) assumes it, tagged.
        tenantRoleArn: infra.arn(stack(), 'TenantAccessRole'),
        // Tenant sessions of that role reach their own prefix of it (DESIGN §11).
        evidenceBucket: infra.ref(stack(), `${cellId}-evidence`),
        usagePlans: Object.fromEntries(TIER_NAMES.map((tier) => [tier, infra.ref(stack(), `Api-${cellId}/Api/UsagePlan-${tier}`)])),
      });
      // CDK's provider framework answers CloudFormation and invokes the registrar.
      const framework = infra.ref(stack(), 'CellRegistrationProvider/framework-onEvent');
      expect(registration.ServiceToken).toBe(`arn:aws:lambda:${infra.region}:${infra.resolver.env.account}:function:${framework}`);
      const relay = infra
        .resources(stack(), 'AWS::Lambda::Function')
        .find((fn) => fn.logicalId === infra.logicalId(infra.construct(stack(), 'CellRegistrationProvider/framework-onEvent')));
      expect((relay!.properties.Environment as { Variables: Record<string, string> }).Variables.USER_ON_EVENT_FUNCTION_ARN).toBe(
        `arn:aws:lambda:${infra.region}:${infra.resolver.env.account}:function:${infra.ref(stack(), `CellRegistrar-${cellId}`)}`,
      );
    });
  });
}
