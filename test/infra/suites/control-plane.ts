import { beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_CACHE_TTL_SECONDS, Cell, Identity, Keys, TIER_NAMES } from '@cellbook/core';
import { CONTROL_PLANE_SOURCE, cellSource } from '@cellbook/core/events';
import { TENANT_ATTRIBUTE } from '@cellbook/functions/cognito/pre-token-generation';
import { GATEWAY_RESPONSES } from '@cellbook/functions/gateway-responses';
import { CONTROL_ROUTES } from '@cellbook/functions/routes';
import type { InfraFixture } from '../support/app.js';
import { decide, type AccessRequest, type RoleUnderTest } from '../support/iam.js';
import { restApiMethods } from '../support/rest-api.js';
import { matchesPattern } from '@cellbook/local/aws/eventbridge-pattern';

let infra: InfraFixture;

const control = () => infra.controlPlane;
const one = (type: string) => {
  const found = infra.resources(control(), type);
  expect(found, type).toHaveLength(1);
  return found[0]!.properties;
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

    describe('user directory', () => {
      it('admits no self sign-up and binds users to a tenant through an immutable attribute', () => {
        const pool = one('AWS::Cognito::UserPool');
        expect(pool).toMatchObject({
          AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
          UsernameConfiguration: { CaseSensitive: false },
          DeletionProtection: 'ACTIVE',
        });
        expect(pool.Schema).toContainEqual({ Name: TENANT_ATTRIBUTE.replace('custom:', ''), AttributeDataType: 'String', Mutable: false });
      });

      it("lets no user write an attribute through the app client (the tenant binding is the control plane's)", () => {
        const client = one('AWS::Cognito::UserPoolClient');
        expect(client.WriteAttributes ?? 'all attributes').toEqual([]);
        expect(client.ReadAttributes).toContain(TENANT_ATTRIBUTE);
      });

      it('signs in with username and password only: no client secret, no hosted OAuth flows', () => {
        const client = one('AWS::Cognito::UserPoolClient');
        expect(client.ExplicitAuthFlows).toEqual(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
        expect(client.GenerateSecret ?? false).toBe(false);
        expect(client.AllowedOAuthFlowsUserPoolClient ?? false).toBe(false);
        expect(client.PreventUserExistenceErrors).toBe('ENABLED');
      });

      it("has one group per role core knows: the tenant roles and the operator", () => {
        const groups = infra.resources(control(), 'AWS::Cognito::UserPoolGroup').map((group) => group.properties.GroupName);
        expect(groups.sort()).toEqual([...Identity.ROLES, Identity.OPERATOR_ROLE].sort());
      });

      it('puts tenant_id and roles into access tokens with a V2 pre-token-generation trigger (Essentials plan)', () => {
        const pool = one('AWS::Cognito::UserPool');
        expect(pool.UserPoolTier).toBe('ESSENTIALS');
        expect(pool.LambdaConfig).toEqual({
          PreTokenGenerationConfig: { LambdaArn: infra.arn(control(), 'TokenClaims'), LambdaVersion: 'V2_0' },
        });
      });
    });

    describe('operator API', () => {
      it('serves exactly the control route table: the operator authorizer on operator routes, sign-in public', () => {
        const methods = restApiMethods(infra.json(control()));
        expect(methods.map((method) => method.route).sort()).toEqual(CONTROL_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
        const authorizerId = infra.logicalId(infra.construct(control(), 'ControlApi/operator'));
        for (const route of CONTROL_ROUTES) {
          const method = methods.find((candidate) => candidate.route === `${route.method} ${route.path}`)!;
          expect(method, method.route).toMatchObject(
            route.auth === 'operator'
              ? { authorizationType: 'CUSTOM', authorizerLogicalId: authorizerId }
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
        expect(handlers).toHaveLength(CONTROL_ROUTES.length);
        for (const variables of handlers) {
          expect(variables).toMatchObject({
            TENANTS_TABLE: `${infra.stage}-cellbook-tenants`,
            CELLS_TABLE: `${infra.stage}-cellbook-cells`,
            USER_POOL_ID: infra.ref(control(), 'UserPool'),
            USER_POOL_CLIENT_ID: infra.ref(control(), 'UserPool/ApiClient'),
            JWT_ISSUER: `https://cognito-idp.${infra.region}.amazonaws.com/${infra.ref(control(), 'UserPool')}`,
            INVITATION_DELIVERY: 'email',
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

    it('lets only the two rules write to the dead-letter queue, and only over TLS', () => {
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
    const usagePlanIds = () =>
      [...infra.cells.entries()].flatMap(([id, stack]) => TIER_NAMES.map((tier) => infra.ref(stack, `Api-${id}/Api/UsagePlan-${tier}`)));
    const stageCaches = () =>
      [...infra.cells.entries()].map(([id, stack]) => apigw(`/restapis/${infra.ref(stack, `Api-${id}/Api`)}/stages/${infra.stage}/cache/authorizers`));
    const tenantKey = { 'dynamodb:LeadingKeys': [Keys.tenantMetaKey('t-1').PK] };

    const seeded = (tenantId: string) => [Keys.tenantMetaKey(tenantId).PK, Keys.tenantUsersPartition(tenantId)];

    it('the onboarding worker can create the tenant, its user and its API key, seed its cell — and undo each step', async () => {
      const role = infra.role(control(), 'OnboardingWorkerRole');
      expect(
        await allowed(role, [
          ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'].map((action) => ({ action: `dynamodb:${action}`, resource: tenants() })),
          { action: 'dynamodb:Scan', resource: cells() },
          { action: 'dynamodb:UpdateItem', resource: cells() },
          ...['AdminGetUser', 'AdminCreateUser', 'AdminAddUserToGroup', 'AdminDeleteUser'].map((action) => ({ action: `cognito-idp:${action}`, resource: pool() })),
          { action: 'apigateway:POST', resource: apigw('/apikeys') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          ...usagePlanIds().map((id) => ({ action: 'apigateway:POST', resource: apigw(`/usageplans/${id}/keys`) })),
          ...cellTables().flatMap((table) =>
            ['PutItem', 'DeleteItem'].flatMap((action) =>
              seeded('t-1').map((key) => ({ action: `dynamodb:${action}`, resource: table, context: { 'dynamodb:LeadingKeys': [key] } })),
            ),
          ),
        ]),
      ).toEqual([]);
    });

    it("the onboarding worker cannot read tenant data, touch a tenant's cases, rebind users, or alter plans", async () => {
      const role = infra.role(control(), 'OnboardingWorkerRole');
      const caseKey = { 'dynamodb:LeadingKeys': [Keys.caseKey('t-1', '01HZY3J7Q8X2M4N6P8R0S2T4V6').PK] };
      expect(
        await denied(role, [
          ...cellTables().flatMap((table) => [
            ...['GetItem', 'Query', 'Scan', 'UpdateItem', 'BatchGetItem', 'BatchWriteItem'].map((action) => ({ action: `dynamodb:${action}`, resource: table, context: tenantKey })),
            { action: 'dynamodb:DeleteItem', resource: table, context: caseKey },
            { action: 'dynamodb:PutItem', resource: table, context: caseKey },
            { action: 'dynamodb:DeleteItem', resource: table, context: { 'dynamodb:LeadingKeys': [...seeded('t-1'), Keys.caseKey('t-1', '01HZY3J7Q8X2M4N6P8R0S2T4V6').PK] } },
            { action: 'dynamodb:DeleteItem', resource: table },
          ]),
          { action: 'dynamodb:Query', resource: `${tenants()}/index/GSI1` },
          { action: 'dynamodb:DeleteTable', resource: tenants() },
          { action: 'cognito-idp:AdminUpdateUserAttributes', resource: pool() },
          { action: 'cognito-idp:AdminSetUserPassword', resource: pool() },
          { action: 'apigateway:POST', resource: apigw('/usageplans/someoneelse/keys') },
          { action: 'apigateway:PATCH', resource: apigw(`/usageplans/${usagePlanIds()[0]}`) },
          { action: 'apigateway:GET', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:PATCH', resource: apigw('/apikeys/k1a2b3c4d5') },
          ...stageCaches().map((resource) => ({ action: 'apigateway:DELETE', resource })),
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
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...['PutItem', 'UpdateItem', 'DeleteItem'].flatMap((action) => [tenants(), cells()].map((resource) => ({ action: `dynamodb:${action}`, resource }))),
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
        ]),
      ).toEqual([]);
    });

    it("suspend/reactivate may update and audit a registry record and flush the tenant's cell authorizer cache, nothing more", async () => {
      const role = infra.role(control(), 'TenantStatusRole');
      expect(
        await allowed(role, [
          ...['GetItem', 'UpdateItem', 'PutItem'].map((action) => ({ action: `dynamodb:${action}`, resource: tenants() })),
          { action: 'dynamodb:GetItem', resource: cells() },
          ...stageCaches().map((resource) => ({ action: 'apigateway:DELETE', resource })),
        ]),
      ).toEqual([]);
      expect(
        await denied(role, [
          ...['DeleteItem', 'Scan', 'Query'].map((action) => ({ action: `dynamodb:${action}`, resource: tenants() })),
          { action: 'dynamodb:UpdateItem', resource: cells() },
          ...cellTables().map((resource) => ({ action: 'dynamodb:GetItem', resource, context: tenantKey })),
          { action: 'apigateway:DELETE', resource: apigw('/restapis/someoneelse/stages/prod/cache/authorizers') },
          { action: 'apigateway:DELETE', resource: apigw('/apikeys/k1a2b3c4d5') },
          { action: 'apigateway:PATCH', resource: apigw(`/usageplans/${usagePlanIds()[0]}`) },
        ]),
      ).toEqual([]);
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
      expect(
        await denied(role, [
          ...['PutItem', 'UpdateItem', 'Query', 'Scan'].map((action) => ({ action: `dynamodb:${action}`, resource: tenants() })),
          { action: 'dynamodb:GetItem', resource: cells() },
        ]),
      ).toEqual([]);
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
  });
}
