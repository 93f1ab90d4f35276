import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_PROBING_IDENTITIES, controlIdentityOf } from '@cellbook/core/access/control-identities';
import * as Cell from '@cellbook/core/cells/cell';
import * as Identity from '@cellbook/core/integrations/identity';
import * as Keys from '@cellbook/core/keys/keys';
import { AUTHORIZER_CACHE_TTL_SECONDS, TIER_NAMES } from '@cellbook/core/tenancy/tiers';
import { CONTROL_PLANE_SOURCE } from '@cellbook/core/events/catalog';
import { cellSource } from '@cellbook/core/events/events';
import { TENANT_ATTRIBUTE } from '@cellbook/core/tenancy/tenant-attribute';
import { GATEWAY_RESPONSES } from '@cellbook/functions/gateway-responses';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS } from '@cellbook/functions/routes';
import type { InfraFixture } from '../support/app.js';
import { ACCOUNT } from '../support/synth.js';
import { decide, type AccessRequest, type RoleUnderTest } from '../support/iam.js';
import { restApiMethods } from '../support/rest-api.js';
import { matchesPattern } from '@cellbook/local/aws/eventbridge-pattern';
import { ROUTING_MAP_WRITER, ROUTING_MAP_WRITER_ACTIONS } from '../../../stacks/constructs/routing-map-writer.js';

let infra: InfraFixture;

const control = () => infra.controlPlane;
const one = (type: string) => {
  const found = infra.resources(control(), type);
  expect(found, type).toHaveLength(1);
  return found[0]!.properties;
};

/** The resource created as construct `path` of the control plane, properties resolved. */
const at = (type: string, path: string) => {
  const id = infra.logicalId(infra.construct(control(), path));
  const found = infra.resources(control(), type).find((resource) => resource.logicalId === id);
  expect(found, `${type} ${path}`).toBeDefined();
  return found!.properties;
};

/**
 * A rule's only target is the function at `functionPath`, with EventBridge retrying delivery for a
 * day (8 attempts) and dead-lettering what it cannot deliver.
 */
const expectDeliveredWithRetries = (targets: unknown, functionPath: string) =>
  expect(targets).toEqual([
    expect.objectContaining({
      Arn: infra.arn(control(), functionPath),
      DeadLetterConfig: { Arn: infra.arn(control(), 'DeadLetterQueue') },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 24 * 3600 },
    }),
  ]);

/** A run the function fails on is retried twice by Lambda, then sent to the dead-letter queue with its error. */
const expectFailuresDeadLettered = (functionPath: string) => {
  const configs = infra.resources(control(), 'AWS::Lambda::EventInvokeConfig').filter((config) => config.properties.FunctionName === infra.ref(control(), functionPath));
  expect(configs.map((config) => config.properties)).toEqual([
    expect.objectContaining({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: infra.arn(control(), 'DeadLetterQueue') } } }),
  ]);
};

export function controlPlaneSuite(fixture: () => InfraFixture): void {
  beforeAll(() => {
    infra = fixture();
  });

  describe('ControlPlane stack', () => {
    it('keeps the tenant registry (with GSI1) and the cell catalog in protected, encrypted, recoverable tables', () => {
      const tables = new Map(infra.resources(control(), 'AWS::DynamoDB::Table').map((table) => [table.properties.TableName, table.properties]));
      const common = {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      };
      expect(tables.get(`${infra.stage}-cellbook-tenants`)).toMatchObject({
        ...common,
        GlobalSecondaryIndexes: [{ IndexName: 'GSI1', KeySchema: [{ AttributeName: 'GSI1PK' }, { AttributeName: 'GSI1SK' }] }],
      });
      expect(tables.get(`${infra.stage}-cellbook-cells`)).toMatchObject(common);
      expect(tables.get(`${infra.stage}-cellbook-cells`)).not.toHaveProperty('GlobalSecondaryIndexes');
    });

    it('keeps the usage ledger (GSI1 by period, deduplication items expiring by TTL) in a protected, encrypted, recoverable table', () => {
      const tables = new Map(infra.resources(control(), 'AWS::DynamoDB::Table').map((table) => [table.properties.TableName, table.properties]));
      expect(tables.get(`${infra.stage}-cellbook-usage`)).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [{ IndexName: 'GSI1', KeySchema: [{ AttributeName: 'GSI1PK' }, { AttributeName: 'GSI1SK' }], Projection: { ProjectionType: 'ALL' } }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('tells the usage ledger table to the functions that work on it — metering, usage reads, the usage snapshot and the export — and to no other', () => {
      const ledgerRoles = new Set(['MeteringRole', 'UsageReaderRole', 'UsageSnapshotRole', 'TenantExportRole'].map((role) => infra.arn(control(), role)));
      const functions = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => String(fn.properties.Handler).startsWith('packages/functions/src/control/'));
      for (const fn of functions) {
        const variables = (fn.properties.Environment as { Variables: Record<string, unknown> }).Variables;
        if (ledgerRoles.has(fn.properties.Role as string)) expect(variables.USAGE_TABLE, String(fn.properties.Handler)).toEqual(infra.ref(control(), 'usage/Table'));
        else expect(variables, String(fn.properties.Handler)).not.toHaveProperty('USAGE_TABLE');
      }
    });

    describe('user directory', () => {
      it('admits no self sign-up and binds users to a tenant through an immutable attribute', () => {
        const pool = at('AWS::Cognito::UserPool', 'UserPool');
        expect(pool).toMatchObject({
          AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
          UsernameConfiguration: { CaseSensitive: false },
          DeletionProtection: 'ACTIVE',
        });
        expect(pool.Schema).toContainEqual({ Name: TENANT_ATTRIBUTE.replace('custom:', ''), AttributeDataType: 'String', Mutable: false });
      });

      it("lets no user write an attribute through the app client (the tenant binding is the control plane's)", () => {
        const client = at('AWS::Cognito::UserPoolClient', 'UserPool/ApiClient');
        expect(client.WriteAttributes ?? 'all attributes').toEqual([]);
        expect(client.ReadAttributes).toContain(TENANT_ATTRIBUTE);
      });

      it('signs in with username and password only: no client secret, no hosted OAuth flows', () => {
        for (const path of ['UserPool/ApiClient', 'OperatorPool/OperatorClient']) {
          const client = at('AWS::Cognito::UserPoolClient', path);
          expect(client.ExplicitAuthFlows).toEqual(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
          expect(client.GenerateSecret ?? false).toBe(false);
          expect(client.AllowedOAuthFlowsUserPoolClient ?? false).toBe(false);
          expect(client.PreventUserExistenceErrors).toBe('ENABLED');
        }
      });

      it('issues refresh tokens that a global sign-out revokes: 30 days for tenant users, 12 hours for operators; access tokens for an hour', () => {
        const tenantClient = at('AWS::Cognito::UserPoolClient', 'UserPool/ApiClient');
        expect(tenantClient).toMatchObject({ EnableTokenRevocation: true, RefreshTokenValidity: 43_200, AccessTokenValidity: 60 });
        const operatorClient = at('AWS::Cognito::UserPoolClient', 'OperatorPool/OperatorClient');
        expect(operatorClient).toMatchObject({ EnableTokenRevocation: true, RefreshTokenValidity: 720, AccessTokenValidity: 60 });
      });

      it('keeps operators in a directory of their own: the tenant pool has only the tenant roles, the operator pool only the operator group and no tenant attribute', () => {
        const pools = infra.resources(control(), 'AWS::Cognito::UserPool');
        expect(pools).toHaveLength(2);
        const groupsOf = (poolPath: string) =>
          infra
            .resources(control(), 'AWS::Cognito::UserPoolGroup')
            .filter((group) => group.properties.UserPoolId === infra.ref(control(), poolPath))
            .map((group) => group.properties.GroupName)
            .sort();
        expect(groupsOf('UserPool')).toEqual([...Identity.ROLES].sort());
        expect(groupsOf('OperatorPool')).toEqual([Identity.OPERATOR_ROLE]);
        const operatorPool = at('AWS::Cognito::UserPool', 'OperatorPool');
        expect(operatorPool).toMatchObject({ AdminCreateUserConfig: { AllowAdminCreateUserOnly: true }, DeletionProtection: 'ACTIVE' });
        expect(JSON.stringify(operatorPool.Schema ?? [])).not.toContain(TENANT_ATTRIBUTE.replace('custom:', ''));
      });

      it('puts tenant_id and roles into access tokens with a V2 pre-token-generation trigger (Essentials plan)', () => {
        for (const path of ['UserPool', 'OperatorPool']) {
          const pool = at('AWS::Cognito::UserPool', path);
          expect(pool.UserPoolTier).toBe('ESSENTIALS');
          expect(pool.LambdaConfig).toEqual({
            PreTokenGenerationConfig: { LambdaArn: infra.arn(control(), 'TokenClaims'), LambdaVersion: 'V2_0' },
          });
        }
      });
    });

    describe('operator API', () => {
      it('serves exactly the control route table: the operator authorizer on operator routes, IAM on the identity broker, sign-in public', () => {
        const methods = restApiMethods(infra.json(control()));
        expect(methods.map((method) => method.route).sort()).toEqual(CONTROL_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
        const authorizerId = infra.logicalId(infra.construct(control(), 'ControlApi/operator'));
        for (const route of CONTROL_ROUTES) {
          const method = methods.find((candidate) => candidate.route === `${route.method} ${route.path}`)!;
          expect(method, method.route).toMatchObject(
            route.auth === 'operator'
              ? { authorizationType: 'CUSTOM', authorizerLogicalId: authorizerId }
              : route.auth === 'iam'
                ? { authorizationType: 'AWS_IAM', authorizerLogicalId: undefined }
                : { authorizationType: 'NONE', authorizerLogicalId: undefined },
          );
          expect(method.apiKeyRequired).toBe(false);
        }
        expect(one('AWS::ApiGateway::Authorizer')).toMatchObject({ Type: 'REQUEST', AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_TTL_SECONDS });
      });

      it("answers API Gateway's own errors with the local gateway's bodies", () => {
        const types = infra.resources(control(), 'AWS::ApiGateway::GatewayResponse').map((response) => response.properties.ResponseType);
        expect(types.sort()).toEqual(Object.keys(GATEWAY_RESPONSES).sort());
      });

      it("gives the control functions the local platform's environment names", () => {
        const handlers = infra
          .resources(control(), 'AWS::Lambda::Function')
          .map((fn) => (fn.properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {})
          .filter((variables) => 'CELLS_TABLE' in variables);
        // …and the release driver (AWS only, not in CONTROL_SCHEDULES).
        expect(handlers).toHaveLength(CONTROL_ROUTES.length + CONTROL_EVENT_CONSUMERS.length + CONTROL_SCHEDULES.length + LOG_SUBSCRIBERS.length + 1);
        for (const variables of handlers) {
          expect(variables).toMatchObject({
            TENANTS_TABLE: `${infra.stage}-cellbook-tenants`,
            CELLS_TABLE: `${infra.stage}-cellbook-cells`,
            USER_POOL_ID: infra.ref(control(), 'UserPool'),
            USER_POOL_CLIENT_ID: infra.ref(control(), 'UserPool/ApiClient'),
            JWT_ISSUER: `https://cognito-idp.${infra.region}.amazonaws.com/${infra.ref(control(), 'UserPool')}`,
            INVITATION_DELIVERY: 'email',
            OPERATOR_POOL_ID: infra.ref(control(), 'OperatorPool'),
            OPERATOR_POOL_CLIENT_ID: infra.ref(control(), 'OperatorPool/OperatorClient'),
            OPERATOR_JWT_ISSUER: `https://cognito-idp.${infra.region}.amazonaws.com/${infra.ref(control(), 'OperatorPool')}`,
          });
        }
      });

      it("sets the account's API Gateway logging role, which the stages' access logs need", () => {
        expect(one('AWS::ApiGateway::Account').CloudWatchRoleArn).toBe(infra.arn(control(), 'ApiGatewayCloudWatchRole'));
      });
    });

    describe('events', () => {
      it('has one bus, archived, whose events all reach an audit log group and otherwise a dead-letter queue', () => {
        const bus = one('AWS::Events::EventBus');
        expect(bus.Name).toBe(`${infra.stage}-cellbook-events`);
        expect(one('AWS::Events::Archive')).toMatchObject({ EventPattern: { source: [{ prefix: 'cellbook.' }] }, RetentionDays: 30 });
        const queue = one('AWS::SQS::Queue');
        expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
        const rules = infra.resources(control(), 'AWS::Events::Rule').map((rule) => rule.properties);
        const audit = rules.find((rule) => (rule.Targets as { Arn: string }[])[0]!.Arn.includes(':log-group:'))!;
        expect(audit.EventPattern).toEqual({ source: [{ prefix: 'cellbook.' }] });
        expect(audit.EventBusName).toBe(bus.Name);
        const deadLetterArn = infra.arn(control(), 'DeadLetterQueue');
        expect((audit.Targets as Record<string, unknown>[])[0]).toMatchObject({
          Arn: `arn:aws:logs:${infra.region}:${infra.resolver.env.account}:log-group:/aws/events/${infra.stage}-cellbook-events`,
          DeadLetterConfig: { Arn: deadLetterArn },
          RetryPolicy: { MaximumRetryAttempts: 8 },
        });
      });

      it('dead-letters events that carry no tenantId unless they declare scope "system" (DESIGN §6)', () => {
        const rules = infra.resources(control(), 'AWS::Events::Rule').map((rule) => rule.properties);
        const pattern = rules.find((rule) => (rule.Targets as { Arn: string }[])[0]!.Arn === infra.arn(control(), 'DeadLetterQueue'))!.EventPattern;
        const audit = rules.find((rule) => (rule.Targets as { Arn: string }[])[0]!.Arn.includes(':log-group:'))!.EventPattern;
        // Evaluated by the local event bus's EventBridge pattern matcher (packages/local).
        const event = (source: string, detail: Record<string, unknown>) => ({
          version: '0',
          id: 'e-1',
          'detail-type': 'TenantActivated',
          source,
          account: infra.resolver.env.account,
          time: '2026-01-01T00:00:00Z',
          region: infra.region,
          resources: [],
          detail,
        });
        const base = { eventId: 'e-1', idempotencyKey: 'e-1', occurredAt: '2026-01-01T00:00:00Z', actor: 'operator', data: {} };
        const tenantEvent = event(CONTROL_PLANE_SOURCE, { ...base, tenantId: 't-1', cellId: 'cell-1', tier: 'basic' });
        const systemEvent = event(cellSource('cell-1'), { ...base, scope: 'system' });
        const tenantless = [
          event(CONTROL_PLANE_SOURCE, { ...base, cellId: 'cell-1', tier: 'basic' }),
          event(cellSource('cell-1'), { ...base, scope: 'tenant' }),
          event(cellSource('cell-2'), { ...base, tenantId: null }),
          event(cellSource('cell-2'), { ...base, tenantId: '' }),
        ];
        for (const dead of tenantless) expect(matchesPattern(pattern, dead), JSON.stringify(dead.detail)).toBe(true);
        expect(matchesPattern(pattern, tenantEvent)).toBe(false);
        expect(matchesPattern(pattern, systemEvent)).toBe(false);
        expect(matchesPattern(pattern, event('other.app', { ...base }))).toBe(false);
        // Every Cellbook event reaches the audit log group; nothing from other sources does.
        for (const any of [tenantEvent, systemEvent, ...tenantless]) expect(matchesPattern(audit, any)).toBe(true);
        expect(matchesPattern(audit, event('other.app', base))).toBe(false);
      });

      it("lets only the bus's rules write to the dead-letter queue, and only over TLS", () => {
        // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
        const policy = one('AWS::SQS::QueuePolicy').PolicyDocument as { Statement: Record<string, any>[] };
        const ruleArns = infra.resources(control(), 'AWS::Events::Rule').map((rule) => infra.resolver.getAtt(control().stackName, rule.logicalId, 'Arn'));
        const sources = policy.Statement.filter((statement) => statement.Effect === 'Allow').map((statement) => statement.Condition.ArnEquals['aws:SourceArn']);
        expect(sources.sort()).toEqual(ruleArns.sort());
        expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      });
    });

    it('owns the routing map the router reads (tenant id → cell id)', () => {
      expect(infra.resources(control(), 'AWS::CloudFront::KeyValueStore')).toHaveLength(1);
    });

    describe.each(CONTROL_EVENT_CONSUMERS.map((consumer) => [consumer.handler, consumer] as const))('event consumer %s', (handler, consumer) => {
      /** The identity each consumer runs as (the stack's CONTROL_IDENTITIES, by role). */
      const ROLE_OF: Record<string, string> = { 'control/tenant-mover': 'TenantMoverRole', 'control/tenant-exporter': 'TenantExportRole' };
      const path = `Consumer-${handler.replace(/^control\//, '')}`;
      const rule = () => {
        const rules = infra
          .resources(control(), 'AWS::Events::Rule')
          .filter((candidate) => (candidate.properties.Targets as { Arn: string }[]).some((target) => target.Arn === infra.arn(control(), path)));
        expect(rules).toHaveLength(1);
        return rules[0]!;
      };

      it('is one function with the timeout the route table sets, on its own identity, told where to find the router if it goes through it', () => {
        const functions = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Handler === `packages/functions/src/${handler}.handler`);
        expect(functions).toHaveLength(1);
        expect(ROLE_OF[handler], `no role expected for ${handler} in this test`).toBeDefined();
        expect(functions[0]!.properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Timeout: consumer.timeoutSeconds,
          Role: infra.arn(control(), ROLE_OF[handler]!),
          Environment: { Variables: expect.objectContaining({ EVENT_BUS_NAME: `${infra.stage}-cellbook-events` }) },
        });
        const variables = (functions[0]!.properties.Environment as { Variables: Record<string, string> }).Variables;
        expect(variables.ROUTER_URL_PARAMETER).toBe(ROUTER_PROBING_IDENTITIES.has(controlIdentityOf(handler)) ? `/cellbook/${infra.stage}/router-url` : undefined);
      });

      it("is the target of a rule on the deployment's bus whose pattern is the route table's, with retries and the dead-letter queue", () => {
        const { properties } = rule();
        expect(properties.EventBusName).toBe(`${infra.stage}-cellbook-events`);
        expect(properties.EventPattern).toEqual(consumer.eventPattern);
        expectDeliveredWithRetries(properties.Targets, path);
        const event = (source: string, detailType: string) => ({
          version: '0',
          id: 'e-1',
          'detail-type': detailType,
          source,
          account: infra.resolver.env.account,
          time: '2026-01-01T00:00:00Z',
          region: infra.region,
          resources: [],
          detail: { tenantId: 't-1', cellId: 'cell-1', data: {} },
        });
        const [source] = consumer.eventPattern.source;
        for (const detailType of consumer.eventPattern['detail-type']) {
          expect(matchesPattern(properties.EventPattern, event(source!, detailType))).toBe(true);
          // Only the control plane starts this work: the same event from a cell is not obeyed.
          expect(matchesPattern(properties.EventPattern, event(cellSource('cell-1'), detailType))).toBe(false);
        }
        expect(matchesPattern(properties.EventPattern, event(source!, 'TenantActivated'))).toBe(false);
      });

      it('retries a failed run twice, then dead-letters the event with its error', () => {
        expectFailuresDeadLettered(path);
      });

      it('may be invoked by that rule only', () => {
        const permissions = infra.resources(control(), 'AWS::Lambda::Permission').filter((permission) => permission.properties.FunctionName === infra.arn(control(), path));
        expect(permissions.map((permission) => permission.properties)).toEqual([
          expect.objectContaining({
            Action: 'lambda:InvokeFunction',
            Principal: 'events.amazonaws.com',
            SourceArn: infra.resolver.getAtt(control().stackName, rule().logicalId, 'Arn'),
          }),
        ]);
      });
    });

    describe.each(CONTROL_SCHEDULES.map((job) => [job.handler, job] as const))('scheduled job %s', (handler, job) => {
      /** The identity each job runs as (the stack's CONTROL_IDENTITIES, by role). */
      const ROLE_OF: Record<string, string> = {
        'control/onboarding-reaper': 'TenantOffboardingRole',
        'control/usage-snapshot': 'UsageSnapshotRole',
        'control/usage-reconciler': 'UsageReaderRole',
      };
      const path = `Schedule-${handler.replace(/^control\//, '')}`;

      it('is one function with the timeout the schedule table sets, on its own identity', () => {
        const functions = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Handler === `packages/functions/src/${handler}.handler`);
        expect(functions).toHaveLength(1);
        expect(functions[0]!.properties).toMatchObject({ Timeout: job.timeoutSeconds, Role: infra.arn(control(), ROLE_OF[handler]!) });
      });

      it("runs on the schedule table's rate, with EventBridge's retries, Lambda's retries and the dead-letter queue", () => {
        const jobArn = infra.arn(control(), path);
        const rules = infra.resources(control(), 'AWS::Events::Rule').filter((rule) => (rule.properties.Targets as { Arn: string }[]).some((target) => target.Arn === jobArn));
        expect(rules).toHaveLength(1);
        const rule = rules[0]!.properties;
        expect(rule.ScheduleExpression).toBe(
          job.everyMinutes % 60 === 0 ? `rate(${job.everyMinutes / 60} hour${job.everyMinutes === 60 ? '' : 's'})` : `rate(${job.everyMinutes} minutes)`,
        );
        expect(rule).not.toHaveProperty('EventPattern');
        expectDeliveredWithRetries(rule.Targets, path);
        expectFailuresDeadLettered(path);
      });
    });

    describe.each(LOG_SUBSCRIBERS.map((subscriber) => [subscriber.handler, subscriber] as const))('log subscriber %s', (handler, subscriber) => {
      const ROLE_OF: Record<string, string> = { 'control/usage-ingest': 'MeteringRole' };
      const path = `LogSubscriber-${handler.replace(/^control\//, '')}`;

      it('is one function with the timeout the table sets, on its own identity, told the usage table', () => {
        const functions = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Handler === `packages/functions/src/${handler}.handler`);
        expect(functions).toHaveLength(1);
        expect(ROLE_OF[handler], `no role expected for ${handler} in this test`).toBeDefined();
        expect(functions[0]!.properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Timeout: subscriber.timeoutSeconds,
          Role: infra.arn(control(), ROLE_OF[handler]!),
          Environment: { Variables: expect.objectContaining({ USAGE_TABLE: infra.ref(control(), 'usage/Table') }) },
        });
      });

      it("may be invoked by CloudWatch Logs of this account only, and keeps a batch it failed on the dead-letter queue after Lambda's retries", () => {
        const fnArn = infra.arn(control(), path);
        const permissions = infra.resources(control(), 'AWS::Lambda::Permission').filter((permission) => permission.properties.FunctionName === fnArn);
        expect(permissions.map((permission) => permission.properties)).toEqual([
          {
            Action: 'lambda:InvokeFunction',
            FunctionName: fnArn,
            Principal: 'logs.amazonaws.com',
            SourceAccount: ACCOUNT,
            SourceArn: `arn:aws:logs:${infra.region}:${ACCOUNT}:log-group:*`,
          },
        ]);
        const configs = infra.resources(control(), 'AWS::Lambda::EventInvokeConfig').filter((config) => config.properties.FunctionName === infra.ref(control(), path));
        expect(configs.map((config) => config.properties)).toMatchObject([
          { MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: infra.arn(control(), 'DeadLetterQueue') } } },
        ]);
      });
    });

    it('tells the handlers that go through the router — onboarding, the mover and the release driver (its probe) — where its URL is published, and no other', () => {
      const probing = new Set(['control/tenants-create', 'control/release-driver', 'control/tenant-mover']);
      const functions = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => String(fn.properties.Handler).startsWith('packages/functions/src/control/'));
      // The operator authorizer, and the release driver (AWS only, not in CONTROL_SCHEDULES), besides the tables' handlers.
      expect(functions.length).toBe(CONTROL_ROUTES.length + CONTROL_EVENT_CONSUMERS.length + CONTROL_SCHEDULES.length + LOG_SUBSCRIBERS.length + 2);
      for (const fn of functions) {
        const module = String(fn.properties.Handler)
          .replace(/^packages\/functions\/src\//, '')
          .replace(/\.handler$/, '');
        const variables = (fn.properties.Environment as { Variables: Record<string, string> }).Variables;
        if (probing.has(module)) expect(variables.ROUTER_URL_PARAMETER, module).toBe(`/cellbook/${infra.stage}/router-url`);
        else expect(variables, module).not.toHaveProperty('ROUTER_URL_PARAMETER');
      }
    });

    describe('routing map writer', () => {
      const writerHandler = `packages/functions/src/${ROUTING_MAP_WRITER}.handler`;
      const routingMap = () => infra.arn(control(), 'RoutingMap');
      const writerRule = () => {
        const writerArn = infra.arn(control(), 'RoutingMapWriter');
        const rules = infra
          .resources(control(), 'AWS::Events::Rule')
          .filter((rule) => (rule.properties.Targets as { Arn: string }[]).some((target) => target.Arn === writerArn));
        expect(rules).toHaveLength(1);
        return rules[0]!.properties;
      };

      it('is one function, told which KeyValueStore to write, that dead-letters what it cannot write', async () => {
        const writers = infra.resources(control(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Handler === writerHandler);
        expect(writers).toHaveLength(1);
        expect(writers[0]!.properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Role: infra.arn(control(), 'RoutingMapWriterRole'),
          Environment: { Variables: { ROUTING_MAP_ARN: routingMap(), TENANTS_TABLE: infra.ref(control(), 'tenants/Table') } },
        });
        expectFailuresDeadLettered('RoutingMapWriter');
        expect(
          await decide(infra.resolver, infra.role(control(), 'RoutingMapWriterRole'), { action: 'sqs:SendMessage', resource: infra.arn(control(), 'DeadLetterQueue') }),
        ).toBe('Allowed');
      });

      it('is the target of the rule for TenantRoutingChanged from the control plane, with retries and the dead-letter queue', () => {
        const rule = writerRule();
        expect(rule.EventBusName).toBe(`${infra.stage}-cellbook-events`);
        expect(rule.EventPattern).toEqual({ source: [CONTROL_PLANE_SOURCE], 'detail-type': ['TenantRoutingChanged'] });
        expectDeliveredWithRetries(rule.Targets, 'RoutingMapWriter');
        const event = (source: string, detailType: string) => ({
          version: '0',
          id: 'e-1',
          'detail-type': detailType,
          source,
          account: infra.resolver.env.account,
          time: '2026-01-01T00:00:00Z',
          region: infra.region,
          resources: [],
          detail: { tenantId: 't-1', cellId: 'cell-2', data: { cellId: 'cell-2', previousCellId: 'cell-1' } },
        });
        expect(matchesPattern(rule.EventPattern, event(CONTROL_PLANE_SOURCE, 'TenantRoutingChanged'))).toBe(true);
        expect(matchesPattern(rule.EventPattern, event(CONTROL_PLANE_SOURCE, 'TenantActivated'))).toBe(false);
        // Only the control plane moves tenants: a cell claiming a routing change is not obeyed.
        expect(matchesPattern(rule.EventPattern, event(cellSource('cell-1'), 'TenantRoutingChanged'))).toBe(false);
      });

      it('may be invoked by that rule only', () => {
        const permissions = infra
          .resources(control(), 'AWS::Lambda::Permission')
          .filter((permission) => permission.properties.FunctionName === infra.arn(control(), 'RoutingMapWriter'));
        expect(permissions.map((permission) => permission.properties)).toEqual([
          expect.objectContaining({
            Action: 'lambda:InvokeFunction',
            Principal: 'events.amazonaws.com',
            SourceArn: infra.resolver.getAtt(control().stackName, infra.logicalId(infra.construct(control(), 'RoutingMapWriterRule')), 'Arn'),
          }),
        ]);
      });

      it('holds exactly DescribeKeyValueStore, PutKey and DeleteKey on that KeyValueStore', async () => {
        const role = infra.role(control(), 'RoutingMapWriterRole');
        const kvsStatements = role.policies
          .flatMap(({ policy }) => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]))
          .filter((statement) => [statement.Action].flat().some((action) => String(action).startsWith('cloudfront-keyvaluestore:')));
        expect(kvsStatements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: [...ROUTING_MAP_WRITER_ACTIONS], Resource: routingMap() })]);
        const otherStore = `arn:aws:cloudfront::${infra.resolver.env.account}:key-value-store/00000000-0000-4000-8000-000000000000`;
        for (const action of ROUTING_MAP_WRITER_ACTIONS) {
          expect(await decide(infra.resolver, role, { action, resource: routingMap() }), action).toBe('Allowed');
          expect(await decide(infra.resolver, role, { action, resource: otherStore }), `${action} on another store`).not.toBe('Allowed');
        }
        for (const request of [
          { action: 'cloudfront-keyvaluestore:UpdateKeys', resource: routingMap() },
          { action: 'cloudfront-keyvaluestore:GetKey', resource: routingMap() },
          { action: 'cloudfront-keyvaluestore:ListKeys', resource: routingMap() },
          { action: 'cloudfront:UpdateKeyValueStore', resource: routingMap() },
          { action: 'cloudfront:DeleteKeyValueStore', resource: routingMap() },
          { action: 'dynamodb:GetItem', resource: infra.arn(control(), 'tenants/Table') },
          { action: 'events:PutEvents', resource: infra.arn(control(), 'Bus') },
        ]) {
          expect(await decide(infra.resolver, role, request), `${request.action} ${request.resource}`).not.toBe('Allowed');
        }
      });

      it("reads tenants' registry records — where each is now — and nothing else of the registry", async () => {
        const role = infra.role(control(), 'RoutingMapWriterRole');
        const tenants = infra.arn(control(), 'tenants/Table');
        const at = (partition: string) => ({ 'dynamodb:LeadingKeys': [partition] });
        expect(await decide(infra.resolver, role, { action: 'dynamodb:GetItem', resource: tenants, context: at(Keys.tenantRegistryPartition('acme-7')) })).toBe('Allowed');
        for (const request of [
          { action: 'dynamodb:GetItem', resource: tenants, context: at(Keys.tenantNameKey('acme').PK) },
          { action: 'dynamodb:GetItem', resource: tenants, context: at(Keys.cellPartition('cell-1')) },
          { action: 'dynamodb:GetItem', resource: infra.arn(control(), 'cells/Table'), context: at(Keys.cellPartition('cell-1')) },
          ...['Query', 'PutItem', 'UpdateItem', 'DeleteItem'].map((action) => ({
            action: `dynamodb:${action}`,
            resource: tenants,
            context: at(Keys.tenantRegistryPartition('acme-7')),
          })),
          { action: 'dynamodb:Scan', resource: tenants },
        ]) {
          expect(await decide(infra.resolver, role, request), `${request.action} ${JSON.stringify(request.context ?? {})}`).not.toBe('Allowed');
        }
      });
    });
  });

  describe('who may touch the registry and the cells', () => {
    const allowed = async (role: RoleUnderTest, requests: AccessRequest[]) => {
      const refused: string[] = [];
      for (const request of requests) {
        const decision = await decide(infra.resolver, role, request);
        if (decision !== 'Allowed') refused.push(`${request.action} ${request.resource} → ${decision}`);
      }
      return refused;
    };
    const denied = async (role: RoleUnderTest, requests: AccessRequest[]) => {
      const admitted: string[] = [];
      for (const request of requests) {
        if ((await decide(infra.resolver, role, request)) === 'Allowed') admitted.push(`${request.action} ${request.resource}`);
      }
      return admitted;
    };
    const tenants = () => infra.arn(control(), 'tenants/Table');
    const cells = () => infra.arn(control(), 'cells/Table');
    const pool = () => infra.arn(control(), 'UserPool');
    const apigw = (path: string) => `arn:aws:apigateway:${infra.region}::${path}`;
    const cellTables = () => [...infra.cells.entries()].map(([id, stack]) => infra.arn(stack, `${id}/Table`));
    const usagePlanIds = () => [...infra.cells.entries()].flatMap(([id, stack]) => TIER_NAMES.map((tier) => infra.ref(stack, `Api-${id}/Api/UsagePlan-${tier}`)));
    const stageCaches = () => [...infra.cells.entries()].map(([id, stack]) => apigw(`/restapis/${infra.ref(stack, `Api-${id}/Api`)}/stages/${infra.stage}/cache/authorizers`));
    const tenantKey = { 'dynamodb:LeadingKeys': [Keys.tenantMetaKey('t-1').PK] };
    const bus = () => infra.arn(control(), 'Bus');
    const tenantRoles = () => [...infra.cells.values()].map((stack) => infra.arn(stack, 'TenantAccessRole'));
    const routerUrlParameter = () => `arn:aws:ssm:${infra.region}:${infra.resolver.env.account}:parameter/cellbook/${infra.stage}/router-url`;
    /** `dynamodb:<action>` on `resource` for each of `actions`, with the condition keys `context`. */
    const dynamo = (resource: string, actions: string[], context?: AccessRequest['context']): AccessRequest[] =>
      actions.map((action) => ({ action: `dynamodb:${action}`, resource, ...(context ? { context } : {}) }));
    const cognito = (actions: string[]): AccessRequest[] => actions.map((action) => ({ action: `cognito-idp:${action}`, resource: pool() }));
    /** `action` on each of `resources`. */
    const each = (action: string, resources: string[]): AccessRequest[] => resources.map((resource) => ({ action, resource }));

    const seeded = (tenantId: string) => [Keys.tenantMetaKey(tenantId).PK, Keys.tenantUsersPartition(tenantId)];

    it("the identity broker manages the tenant pool's users, writes only users' standing in the registry, and flushes the cells' authorizer caches", async () => {
      const role = infra.role(control(), 'IdentityBrokerRole');
      const standing = { 'dynamodb:LeadingKeys': [Keys.tenantUserStandingKey('t-1', 'a1b2c3').PK] };
      expect(
        await allowed(role, [
          { action: 'dynamodb:GetItem', resource: tenants() },
          { action: 'dynamodb:Scan', resource: cells() },
          ...dynamo(tenants(), ['UpdateItem'], standing),
          ...cognito([
            'AdminCreateUser',
            'AdminAddUserToGroup',
            'AdminGetUser',
            'AdminDeleteUser',
            'AdminRemoveUserFromGroup',
            'AdminUserGlobalSignOut',
            'AdminSetUserPassword',
          ]),
          ...each('apigateway:DELETE', stageCaches()),
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          // Not the tenant's record (status, tier, key), its audit trail, or anything else of the registry.
          ...dynamo(tenants(), ['UpdateItem', 'PutItem', 'DeleteItem'], { 'dynamodb:LeadingKeys': [Keys.tenantRecordKey('t-1').PK] }),
          ...dynamo(tenants(), ['PutItem', 'DeleteItem'], standing),
          ...dynamo(tenants(), ['UpdateItem']),
          ...cognito(['AdminDisableUser', 'AdminUpdateUserAttributes', 'CreateGroup', 'DeleteUserPool']),
          ...['AdminCreateUser', 'AdminAddUserToGroup', 'AdminDeleteUser', 'AdminSetUserPassword'].map((action) => ({
            action: `cognito-idp:${action}`,
            resource: infra.arn(control(), 'OperatorPool'),
          })),
          { action: 'apigateway:DELETE', resource: apigw('/restapis/someoneelse/stages/prod/cache/authorizers') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
        ]),
      ).toEqual([]);
    });

    it('the onboarding worker can register and place the tenant, issue its API key and admin user, seed its cell and announce it', async () => {
      const role = infra.role(control(), 'OnboardingWorkerRole');
      expect(
        await allowed(role, [
          // Idempotency claim, name lease, record, audit entry; refusing up front deletes the claim.
          ...dynamo(tenants(), ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']),
          // Placement: list the catalog, take a slot, or promise an undeployed dedicated cell (a put).
          ...dynamo(cells(), ['Scan', 'GetItem', 'UpdateItem', 'PutItem']),
          // A resumed onboarding re-sends the invitation with AdminCreateUser (RESEND).
          ...cognito(['AdminGetUser', 'AdminCreateUser', 'AdminAddUserToGroup']),
          { action: 'apigateway:POST', resource: apigw('/apikeys') },
          // A resumed onboarding finds its key by name and checks which plans hold it.
          { action: 'apigateway:GET', resource: apigw('/apikeys') },
          { action: 'apigateway:GET', resource: apigw('/usageplans') },
          ...usagePlanIds().map((id) => ({ action: 'apigateway:POST', resource: apigw(`/usageplans/${id}/keys`) })),
          ...cellTables().flatMap((table) => seeded('t-1').map((key) => ({ action: 'dynamodb:PutItem', resource: table, context: { 'dynamodb:LeadingKeys': [key] } }))),
          { action: 'events:PutEvents', resource: bus() },
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it("the onboarding worker cannot read tenant data, touch a tenant's cases, delete seeded items, rebind users, set passwords, or alter plans", async () => {
      const role = infra.role(control(), 'OnboardingWorkerRole');
      const caseKey = { 'dynamodb:LeadingKeys': [Keys.caseKey('t-1', '01HZY3J7Q8X2M4N6P8R0S2T4V6').PK] };
      expect(
        await denied(role, [
          ...cellTables().flatMap((table) => [
            ...['GetItem', 'Query', 'Scan', 'UpdateItem', 'DeleteItem', 'BatchGetItem', 'BatchWriteItem'].map((action) => ({
              action: `dynamodb:${action}`,
              resource: table,
              context: tenantKey,
            })),
            { action: 'dynamodb:PutItem', resource: table, context: caseKey },
            { action: 'dynamodb:PutItem', resource: table, context: { 'dynamodb:LeadingKeys': [...seeded('t-1'), Keys.caseKey('t-1', '01HZY3J7Q8X2M4N6P8R0S2T4V6').PK] } },
            { action: 'dynamodb:PutItem', resource: table },
          ]),
          ...each('sts:AssumeRole', tenantRoles()),
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'dynamodb:DeleteTable', resource: tenants() },
          { action: 'dynamodb:DeleteItem', resource: cells() },
          { action: 'cognito-idp:AdminUpdateUserAttributes', resource: pool() },
          // Core sets passwords only with INVITATION_DELIVERY=response (local mode); AWS mails them.
          { action: 'cognito-idp:AdminSetUserPassword', resource: pool() },
          { action: 'cognito-idp:AdminDeleteUser', resource: pool() },
          { action: 'apigateway:POST', resource: apigw('/usageplans/someoneelse/keys') },
          { action: 'apigateway:PATCH', resource: apigw(`/usageplans/${usagePlanIds()[0]}`) },
          { action: 'apigateway:GET', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:PATCH', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          ...each('apigateway:DELETE', stageCaches()),
        ]),
      ).toEqual([]);
    });

    it('operator reads may read the registry and catalog, and change nothing', async () => {
      const role = infra.role(control(), 'RegistryReaderRole');
      expect(
        await allowed(role, [
          { action: 'dynamodb:GetItem', resource: tenants() },
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          // A tenant's audit trail lives in its registry partition.
          { action: 'dynamodb:Query', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.tenantPartitionPrefix('t-1')] } },
          { action: 'dynamodb:Scan', resource: cells() },
          // A cell's audit trail: its partition of the registry, and a record still on its catalog entry.
          { action: 'dynamodb:Query', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.cellPartition('cell-1')] } },
          { action: 'dynamodb:GetItem', resource: cells() },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...['PutItem', 'UpdateItem', 'DeleteItem'].flatMap((action) => [tenants(), cells()].map((resource) => ({ action: `dynamodb:${action}`, resource }))),
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
        ]),
      ).toEqual([]);
    });

    it('metering may count usage in the ledger and read registry records — and touch nothing else', async () => {
      const role = infra.role(control(), 'MeteringRole');
      const usage = infra.arn(control(), 'usage/Table');
      expect(
        await allowed(role, [
          ...dynamo(usage, ['PutItem', 'UpdateItem', 'ConditionCheckItem'], tenantKey),
          { action: 'dynamodb:GetItem', resource: tenants(), context: tenantKey },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...dynamo(usage, ['GetItem', 'BatchGetItem', 'Query', 'DeleteItem', 'BatchWriteItem', 'Scan', 'DeleteTable', 'UpdateTable']),
          ...dynamo(tenants(), ['PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan']),
          ...dynamo(cells(), ['GetItem', 'Scan', 'UpdateItem']),
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
          ...each('sts:AssumeRole', tenantRoles()),
          { action: 'events:PutEvents', resource: bus() },
        ]),
      ).toEqual([]);
    });

    it('usage reads may read the ledger, registry and catalog, and change nothing', async () => {
      const role = infra.role(control(), 'UsageReaderRole');
      const usage = infra.arn(control(), 'usage/Table');
      expect(
        await allowed(role, [
          ...dynamo(usage, ['GetItem', 'Query'], tenantKey),
          { action: 'dynamodb:Query', resource: `${usage}/index/GSI1` },
          { action: 'dynamodb:GetItem', resource: tenants() },
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'dynamodb:Scan', resource: cells() },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'].flatMap((action) =>
            [usage, tenants(), cells()].map((resource) => ({ action: `dynamodb:${action}`, resource })),
          ),
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
        ]),
      ).toEqual([]);
    });

    it("suspend/reactivate may update and audit a registry record and flush the tenant's cell authorizer cache, nothing more", async () => {
      const role = infra.role(control(), 'TenantStatusRole');
      expect(
        await allowed(role, [
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'PutItem']),
          { action: 'dynamodb:GetItem', resource: cells() },
          ...each('apigateway:DELETE', stageCaches()),
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...dynamo(tenants(), ['DeleteItem', 'Scan', 'Query']),
          { action: 'dynamodb:UpdateItem', resource: cells() },
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
          { action: 'apigateway:DELETE', resource: apigw('/restapis/someoneelse/stages/prod/cache/authorizers') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:PATCH', resource: apigw(`/usageplans/${usagePlanIds()[0]}`) },
        ]),
      ).toEqual([]);
    });

    const DATA_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'ConditionCheckItem', 'PartiQLSelect'].map(
      (action) => `dynamodb:${action}`,
    );
    /** Every data action on every cell table: with a tenant's own keys, on GSI1, and without keys. */
    const directCellData = () =>
      cellTables().flatMap((table) =>
        DATA_ACTIONS.flatMap((action) => [
          { action, resource: table, context: { 'dynamodb:LeadingKeys': seeded('t-1') } },
          { action, resource: `${table}/index/GSI1`, context: { 'dynamodb:LeadingKeys': [Keys.caseListingPartition('t-1')] } },
          { action, resource: table },
        ]),
      );
    const assumeTenantRoles = () => tenantRoles().flatMap((resource) => ['sts:AssumeRole', 'sts:TagSession'].map((action) => ({ action, resource })));
    const planKeys = (keyId?: string) => usagePlanIds().map((id) => apigw(`/usageplans/${id}/keys${keyId ? `/${keyId}` : ''}`));

    it("tier changes may move a key between a cell's plans, flush its cache, and request a move to another kind of cell — no tenant data", async () => {
      const role = infra.role(control(), 'TenantPlanRole');
      expect(
        await allowed(role, [
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'PutItem']),
          // To or from enterprise: placement in a cell of the other kind, as a move request.
          ...dynamo(cells(), ['Scan', 'GetItem', 'UpdateItem', 'PutItem']),
          { action: 'apigateway:GET', resource: apigw('/usageplans') },
          ...each('apigateway:POST', planKeys()),
          ...each('apigateway:DELETE', planKeys('k1a2b3c4d5')),
          ...each('apigateway:DELETE', stageCaches()),
          { action: 'events:PutEvents', resource: bus() },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          ...assumeTenantRoles(),
          { action: 'dynamodb:DeleteItem', resource: tenants() },
          { action: 'dynamodb:DeleteItem', resource: cells() },
          { action: 'apigateway:POST', resource: apigw('/apikeys') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'cognito-idp:AdminDeleteUser', resource: pool() },
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it("cell settings may change catalog entries and write the cell's audit trail — no tenant's partition, no placement", async () => {
      const role = infra.role(control(), 'CellAdminRole');
      const cellTrail = { 'dynamodb:LeadingKeys': [Keys.cellPartition('cell-1')] };
      expect(await allowed(role, [...dynamo(cells(), ['GetItem', 'UpdateItem']), { action: 'dynamodb:PutItem', resource: tenants(), context: cellTrail }])).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          ...assumeTenantRoles(),
          // Not a tenant's record, audit trail or name; not a trail's other records.
          ...[Keys.tenantPartitionPrefix('t-1'), Keys.tenantNameKey('acme').PK].map((partition) => ({
            action: 'dynamodb:PutItem',
            resource: tenants(),
            context: { 'dynamodb:LeadingKeys': [partition] },
          })),
          { action: 'dynamodb:PutItem', resource: tenants() },
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'DeleteItem', 'Query'], cellTrail),
          ...dynamo(cells(), ['PutItem', 'DeleteItem', 'Scan']),
          { action: 'events:PutEvents', resource: bus() },
          ...each('apigateway:DELETE', stageCaches()),
        ]),
      ).toEqual([]);
    });

    it('move requests and cell drains may place the tenant, record and audit the move and announce it — no tenant data, no API Gateway', async () => {
      const role = infra.role(control(), 'MoveRequestRole');
      expect(
        await allowed(role, [
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'PutItem']),
          ...dynamo(cells(), ['Scan', 'GetItem', 'UpdateItem', 'PutItem']),
          { action: 'events:PutEvents', resource: bus() },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          ...assumeTenantRoles(),
          { action: 'dynamodb:DeleteItem', resource: tenants() },
          { action: 'dynamodb:Query', resource: tenants() },
          { action: 'dynamodb:DeleteItem', resource: cells() },
          ...each('apigateway:POST', planKeys()),
          ...each('apigateway:DELETE', stageCaches()),
          { action: 'apigateway:GET', resource: apigw('/usageplans') },
          { action: 'cognito-idp:AdminGetUser', resource: pool() },
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it("the mover may assume each cell's tenant access role, move the key onto a cell's plan, flush caches, switch the record and check the route", async () => {
      const role = infra.role(control(), 'TenantMoverRole');
      expect(
        await allowed(role, [
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'PutItem']),
          ...dynamo(cells(), ['GetItem', 'UpdateItem']),
          ...assumeTenantRoles(),
          { action: 'apigateway:GET', resource: apigw('/usageplans') },
          ...each('apigateway:POST', planKeys()),
          ...each('apigateway:DELETE', planKeys('k1a2b3c4d5')),
          ...each('apigateway:DELETE', stageCaches()),
          { action: 'events:PutEvents', resource: bus() },
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it('the mover reaches tenant data only through the tenant access roles: no direct data permission on any cell table', async () => {
      const role = infra.role(control(), 'TenantMoverRole');
      expect(
        await denied(role, [
          ...directCellData(),
          { action: 'dynamodb:DeleteItem', resource: tenants() },
          { action: 'dynamodb:Query', resource: tenants() },
          ...dynamo(cells(), ['Scan', 'PutItem', 'DeleteItem']),
          { action: 'apigateway:POST', resource: apigw('/apikeys') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:POST', resource: apigw('/usageplans/someoneelse/keys') },
          { action: 'apigateway:PATCH', resource: apigw(`/usageplans/${usagePlanIds()[0]}`) },
          { action: 'apigateway:DELETE', resource: apigw('/restapis/someoneelse/stages/prod/cache/authorizers') },
          ...cognito(['AdminGetUser', 'AdminCreateUser', 'AdminDeleteUser', 'AdminSetUserPassword']),
          { action: 'sts:AssumeRole', resource: infra.arn(control(), 'OnboardingWorkerRole') },
          { action: 'ssm:GetParameter', resource: routerUrlParameter().replace(`/${infra.stage}/`, '/prod/') },
        ]),
      ).toEqual([]);
    });

    it("offboarding (and the reaper of abandoned onboardings) may revoke the tenant's key, remove its users, purge its cell items through the tenant access role, release its slot, name and admin e-mail", async () => {
      const role = infra.role(control(), 'TenantOffboardingRole');
      expect(
        await allowed(role, [
          ...dynamo(tenants(), ['GetItem', 'UpdateItem', 'PutItem']),
          // The name reservation goes, so the name may be used again.
          { action: 'dynamodb:DeleteItem', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.tenantNameKey('acme corp').PK] } },
          // And the admin e-mail's reservation, so a new tenant may use the address.
          { action: 'dynamodb:DeleteItem', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.adminEmailKey('admin@acme.example').PK] } },
          // A cancelled onboarding's unrecorded slot (Scan) and key (GetApiKeys by name) are found too.
          ...dynamo(cells(), ['GetItem', 'UpdateItem', 'Scan']),
          ...cognito(['AdminGetUser', 'AdminUserGlobalSignOut', 'AdminDeleteUser']),
          { action: 'apigateway:GET', resource: apigw('/apikeys') },
          // The reaper lists PENDING tenants.
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          ...assumeTenantRoles(),
          ...each('apigateway:DELETE', stageCaches()),
          { action: 'events:PutEvents', resource: bus() },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          // The tombstone and the audit trail stay: no delete of the tenant's registry partition.
          { action: 'dynamodb:DeleteItem', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.tenantRecordKey('t-1').PK] } },
          { action: 'dynamodb:DeleteItem', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.idempotencyKey('operator', 'k').PK] } },
          { action: 'dynamodb:DeleteItem', resource: tenants() },
          { action: 'dynamodb:BatchWriteItem', resource: tenants(), context: { 'dynamodb:LeadingKeys': [Keys.tenantNameKey('acme corp').PK] } },
          ...dynamo(cells(), ['PutItem', 'DeleteItem']),
          { action: 'apigateway:POST', resource: apigw('/apikeys') },
          { action: 'apigateway:PATCH', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:GET', resource: apigw('/usageplans') },
          ...each('apigateway:POST', planKeys()),
          ...cognito(['AdminCreateUser', 'AdminSetUserPassword', 'AdminUpdateUserAttributes']),
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it("export may read the tenant's registry partition, its cell's catalog entry and its cell items through the tenant access role, count its bytes in the usage ledger — and write nothing else", async () => {
      const role = infra.role(control(), 'TenantExportRole');
      const partition = { 'dynamodb:LeadingKeys': [Keys.tenantRegistryPartition('t-1')] };
      const usage = infra.arn(control(), 'usage/Table');
      expect(
        await allowed(role, [
          { action: 'dynamodb:GetItem', resource: tenants(), context: partition },
          { action: 'dynamodb:Query', resource: tenants(), context: partition },
          { action: 'dynamodb:GetItem', resource: cells() },
          ...['PutItem', 'UpdateItem', 'ConditionCheckItem'].map((action) => ({ action: `dynamodb:${action}`, resource: usage })),
          ...assumeTenantRoles(),
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...['DeleteItem', 'Query', 'Scan', 'GetItem', 'BatchWriteItem'].map((action) => ({ action: `dynamodb:${action}`, resource: usage })),
          { action: 'dynamodb:Query', resource: `${usage}/index/GSI1` },
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...directCellData(),
          // Not the name reservations, idempotency records or the listing of all tenants.
          ...[Keys.tenantNameKey('acme corp').PK, Keys.idempotencyKey('operator', 'k').PK].map((key) => ({
            action: 'dynamodb:Query',
            resource: tenants(),
            context: { 'dynamodb:LeadingKeys': [key] },
          })),
          { action: 'dynamodb:Query', resource: tenants() },
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'dynamodb:Scan', resource: tenants() },
          ...['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].flatMap((action) => [
            { action: `dynamodb:${action}`, resource: tenants(), context: partition },
            { action: `dynamodb:${action}`, resource: cells() },
          ]),
          { action: 'dynamodb:Scan', resource: cells() },
          { action: 'events:PutEvents', resource: bus() },
          { action: 'apigateway:GET', resource: apigw('/apikeys') },
          // The reaper lists PENDING tenants.
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          ...each('apigateway:DELETE', stageCaches()),
          { action: 'cognito-idp:AdminGetUser', resource: pool() },
          { action: 'ssm:GetParameter', resource: routerUrlParameter() },
        ]),
      ).toEqual([]);
    });

    it("no control-plane role touches a cell table directly but onboarding's seeding puts (and the release driver's, for probe tenants only): tenant data goes through the tenant access roles", async () => {
      const direct: string[] = [];
      const keys = [...seeded('t-1'), Keys.caseKey('t-1', '01HZY3J7Q8X2M4N6P8R0S2T4V6').PK, Keys.caseListingPartition('t-1')];
      for (const role of infra.roles.filter((candidate) => candidate.stack === control().stackName)) {
        for (const table of cellTables()) {
          for (const action of DATA_ACTIONS) {
            for (const context of [...keys.map((key) => ({ 'dynamodb:LeadingKeys': [key] })), undefined]) {
              const request = { action, resource: table, ...(context ? { context } : {}) };
              if ((await decide(infra.resolver, role, request)) === 'Allowed')
                direct.push(`${role.logicalId} ${action} ${context?.['dynamodb:LeadingKeys'][0] ?? '(no key)'}`);
            }
          }
        }
      }
      const onboarding = infra.logicalId(infra.construct(control(), 'OnboardingWorkerRole'));
      expect([...new Set(direct)].sort()).toEqual(
        seeded('t-1')
          .map((key) => `${onboarding} dynamodb:PutItem ${key}`)
          .sort(),
      );
    });

    it('only onboarding, the mover and the release driver may read the router URL parameter', async () => {
      const readers: string[] = [];
      for (const role of infra.roles) {
        if ((await decide(infra.resolver, role, { action: 'ssm:GetParameter', resource: routerUrlParameter() })) === 'Allowed')
          readers.push(`${role.stack}/${role.logicalId}`);
      }
      expect(readers.sort()).toEqual(
        ['OnboardingWorkerRole', 'TenantMoverRole', 'ReleaseDriverRole'].map((path) => `${control().stackName}/${infra.logicalId(infra.construct(control(), path))}`).sort(),
      );
    });

    it('sign-in, the operator authorizer and the token trigger hold no data permission at all', async () => {
      for (const path of ['SignInRole', 'OperatorAuthorizerRole', 'TokenClaimsRole']) {
        const role = infra.role(control(), path);
        expect(
          await denied(role, [
            ...[tenants(), cells(), ...cellTables()].flatMap((resource) =>
              ['GetItem', 'PutItem', 'Query', 'Scan'].map((action) => ({ action: `dynamodb:${action}`, resource })),
            ),
            { action: 'cognito-idp:AdminCreateUser', resource: pool() },
            { action: 'apigateway:POST', resource: apigw('/apikeys') },
          ]),
          path,
        ).toEqual([]);
      }
    });

    it.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))("%s's authorizer reads registry records and nothing else", async (cellId) => {
      const role = infra.role(infra.cells.get(cellId)!, 'AuthorizerFunctionRole');
      expect(await allowed(role, [{ action: 'dynamodb:GetItem', resource: tenants() }])).toEqual([]);
      expect(await denied(role, [...dynamo(tenants(), ['PutItem', 'UpdateItem', 'Query', 'Scan']), { action: 'dynamodb:GetItem', resource: cells() }])).toEqual([]);
    });

    it.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))('%s can register itself in the catalog, and only itself', async (cellId) => {
      const role = infra.role(infra.cells.get(cellId)!, 'CellRegistrarRole');
      const own = { 'dynamodb:LeadingKeys': [Keys.cellRecordKey(cellId).PK] };
      expect(await allowed(role, [{ action: 'dynamodb:UpdateItem', resource: cells(), context: own }])).toEqual([]);
      const others = Cell.CELL_CATALOG.filter((cell) => cell.cellId !== cellId).map((cell) => Keys.cellRecordKey(cell.cellId).PK);
      expect(
        await denied(role, [
          ...[...others, Keys.cellRecordKey('cell-99').PK].map((key) => ({ action: 'dynamodb:UpdateItem', resource: cells(), context: { 'dynamodb:LeadingKeys': [key] } })),
          { action: 'dynamodb:UpdateItem', resource: cells() },
          { action: 'dynamodb:PutItem', resource: cells(), context: own },
          { action: 'dynamodb:DeleteItem', resource: cells(), context: own },
          { action: 'dynamodb:GetItem', resource: tenants() },
        ]),
      ).toEqual([]);
    });

    it.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))("%s's provider framework may invoke its own registrar, and nothing else", async (cellId) => {
      const stack = infra.cells.get(cellId)!;
      const role = infra.role(stack, 'CellRegistrationProviderRole');
      const registrar = infra.arn(stack, `CellRegistrar-${cellId}`);
      expect(await allowed(role, [{ action: 'lambda:InvokeFunction', resource: registrar }])).toEqual([]);
      const otherRegistrars = [...infra.cells.entries()].filter(([id]) => id !== cellId).map(([id, other]) => infra.arn(other, `CellRegistrar-${id}`));
      expect(
        await denied(role, [
          ...otherRegistrars.map((arn) => ({ action: 'lambda:InvokeFunction', resource: arn })),
          // Not a version or alias of it, not another function of the cell.
          { action: 'lambda:InvokeFunction', resource: `${registrar}:1` },
          { action: 'lambda:InvokeFunction', resource: infra.arn(stack, `Authorizer-${cellId}`) },
          { action: 'lambda:UpdateFunctionCode', resource: registrar },
          { action: 'dynamodb:UpdateItem', resource: cells(), context: { 'dynamodb:LeadingKeys': [Keys.cellRecordKey(cellId).PK] } },
        ]),
      ).toEqual([]);
    });
  });
}
