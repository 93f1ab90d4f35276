import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as apig from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import { ApiGatewayV1Api, Function as SstFunction, Table, use, type ApiGatewayV1ApiFunctionRouteProps, type StackContext } from 'sst/constructs';
import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { AUTHORIZER_CACHE_TTL_SECONDS, TIERS, TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, TENANT_ACCESS_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { TENANT_TAG_KEY, tenantAccessPolicy, tenantSessionConditions } from '@cellbook/core/access/tenant-access-policy';
import type { CellDefinition, CellRegistration } from '@cellbook/core/cells/cell';
import { CELL_AUTHORIZER, CELL_ROUTES } from '@cellbook/functions/routes';
import { ControlPlane } from './ControlPlane.js';
import { cellMonitoring } from './constructs/cell-monitoring.js';
import { addCellRegistration } from './constructs/cell-registration.js';
import { functionRole, handlerProps } from './constructs/functions.js';
import { addGatewayResponses } from './constructs/gateway-responses.js';
import { PINNED_RUNTIME, suppressSstInternals, XRAY_WILDCARD } from './constructs/nag.js';
import { restApiSettings } from './constructs/rest-api.js';
import { suppressApiFindings } from './constructs/rest-api-findings.js';
import { isDevStage, resourceName } from './constructs/stage.js';

/**
 * The stand-alone policy through which this cell grants each control identity what it may do here
 * (core's `cellControlGrants`); identities that need nothing in a cell have none.
 */
const CELL_GRANT_POLICIES: Readonly<Partial<Record<ControlIdentity, string>>> = {
  onboarding: 'OnboardingWorkerAccess',
  'tenant-status': 'TenantStatusAccess',
  'tenant-plan': 'TenantPlanAccess',
  'tenant-mover': 'TenantMoverAccess',
  'tenant-offboarding': 'TenantOffboardingAccess',
  'tenant-export': 'TenantExportAccess',
};

/**
 * What API Gateway lets through to a public route per second (stage method throttling). The health
 * check is called by the control plane's routing probe — a few calls per onboarding or move — and
 * by monitoring; usage plans cannot meter it, as it carries no API key.
 */
const PUBLIC_ROUTE_THROTTLE = { throttlingRateLimit: 50, throttlingBurstLimit: 100 };

/**
 * One data-plane cell (DESIGN §1): a complete, independent copy of the product — its own table,
 * REST API with usage plans, functions, tenant access role, alarms and dashboard. The app
 * instantiates one per entry of core's cell catalog. Cells share nothing with each other; from the
 * control plane they use the user directory (tenant admins invite users) and the registry (read by
 * the authorizer only).
 */
export function Cell(definition: CellDefinition) {
  const { cellId } = definition;

  function CellStack({ app, stack }: StackContext) {
    const control = use(ControlPlane);
    const dev = isDevStage(app);
    Tags.of(stack).add('app', app.name);
    Tags.of(stack).add('cell', cellId);
    Tags.of(stack).add('stage', app.stage);
    suppressSstInternals(stack);

    // ── the cell's table: every key leads with the tenant (DESIGN §3) ─────────────────────
    const data = new Table(stack, cellId, {
      fields: { PK: 'string', SK: 'string', GSI1PK: 'string', GSI1SK: 'string' },
      primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
      globalIndexes: { GSI1: { partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'all' } },
      cdk: {
        table: {
          encryption: dynamodb.TableEncryption.AWS_MANAGED,
          deletionProtection: !dev,
          removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
        },
      },
    });
    const table = data.cdk.table;

    // ── identities ─────────────────────────────────────────────────────────────────────────
    // The API handlers hold no table permission at all: tenant data is reachable only through
    // the tenant access role, assumed per request with the caller's tenant as session tag.
    const apiRole = functionRole(stack, 'ApiFunctionRole', `Cell ${cellId} API handlers: no table access of their own`);
    const authorizerRole = functionRole(stack, 'AuthorizerFunctionRole', `Cell ${cellId} authorizer: reads the tenant registry`);
    // The public routes (the health check) answer without a tenant: their role holds nothing.
    const publicRouteRole = functionRole(stack, 'PublicRouteFunctionRole', `Cell ${cellId} public routes (health check): no AWS access beyond its logs`);
    // Who may act on one tenant's items here, and only as that tenant (exactly one session tag, the
    // tenant id): this cell's API functions, and the control plane's mover, offboarding and export,
    // which work on one tenant's data at a time through this same role.
    // One builder in core, which the local platform's trust policy uses too.
    const tenantSession: Record<string, unknown> = { ...tenantSessionConditions() };
    // The control plane's API, where the identity broker serves the cells (DESIGN §13).
    const controlRestApi = control.api.cdk.restApi;
    const controlApiStageArn = `arn:${stack.partition}:execute-api:${stack.region}:${stack.account}:${controlRestApi.restApiId}/${controlRestApi.deploymentStage.stageName}`;
    const tenantAccessRole = new iam.Role(stack, 'TenantAccessRole', {
      description: `Cell ${cellId}: the items and users of the tenant named by session tag ${TENANT_TAG_KEY}, nothing else`,
      assumedBy: new iam.ArnPrincipal(apiRole.roleArn).withSessionTags().withConditions(tenantSession),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        'tenant-items-only': iam.PolicyDocument.fromJson(tenantAccessPolicy({ tableArn: table.tableArn })),
        // The tenant's users, only through the identity broker and only on its own tenant's paths.
        'own-tenant-users-through-broker': iam.PolicyDocument.fromJson(IdentityBroker.identityBrokerInvokePolicy({ apiStageArn: controlApiStageArn })),
      },
    });
    // biome-ignore lint/style/noNonNullAssertion: a Role built with `assumedBy` always has its trust policy.
    tenantAccessRole.assumeRolePolicy!.addStatements(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        principals: TENANT_ACCESS_IDENTITIES.map((identity) => new iam.ArnPrincipal(control.controlRoles[identity].roleArn)),
        conditions: tenantSession,
      }),
    );
    // Core's statements for both (the local cells render the same): the API handlers may only
    // assume the tenant access role; no user-directory permission here, as tenant admins'
    // invitations go through the control plane's identity broker (DESIGN §13).
    for (const statement of cellApiStatements({ tenantAccessRoleArn: tenantAccessRole.roleArn })) apiRole.addToPolicy(iam.PolicyStatement.fromJson(statement));
    for (const statement of cellAuthorizerStatements({ tenantsTableArn: control.tenantsTable.tableArn })) {
      authorizerRole.addToPolicy(iam.PolicyStatement.fromJson(statement));
    }

    // ── functions and REST API ─────────────────────────────────────────────────────────────
    const cellEnvironment = {
      ...control.identityEnvironment,
      CELL_ID: cellId,
      TABLE_NAME: table.tableName,
      TENANTS_TABLE: control.tenantsTable.tableName,
    };
    // SST wants construct ids unique across the whole app (they name SSM bindings): suffix the cell.
    const authorizer = new SstFunction(
      stack,
      `Authorizer-${cellId}`,
      handlerProps(stack, 'Authorizer', { handler: CELL_AUTHORIZER, role: authorizerRole, environment: cellEnvironment }),
    );
    const routes: Record<string, ApiGatewayV1ApiFunctionRouteProps<'tenant'>> = {};
    for (const route of CELL_ROUTES) {
      const id = `Route-${route.handler.replace(/\//g, '-')}`;
      routes[`${route.method} ${route.path}`] =
        route.auth === 'none'
          ? {
              // Public: no authorizer and no API key, so no tenant — and nothing of the cell but its id.
              function: handlerProps(stack, id, { handler: route.handler, role: publicRouteRole, environment: { CELL_ID: cellId } }),
              authorizer: 'none',
            }
          : {
              function: handlerProps(stack, id, {
                handler: route.handler,
                role: apiRole,
                environment: { ...cellEnvironment, TENANT_ROLE_ARN: tenantAccessRole.roleArn, IDENTITY_BROKER_URL: control.api.url },
              }),
              authorizer: 'tenant',
              // Every tenant call needs the tenant's API key, which the authorizer supplies (usageIdentifierKey).
              cdk: { method: { apiKeyRequired: true } },
            };
    }
    const publicRoutes = CELL_ROUTES.filter((route) => route.auth === 'none');
    const settings = restApiSettings(resourceName(app, cellId));
    const api = new ApiGatewayV1Api(stack, `Api-${cellId}`, {
      cors: settings.cors,
      accessLog: settings.accessLog,
      authorizers: {
        tenant: {
          type: 'lambda_request',
          function: authorizer,
          identitySources: [apig.IdentitySource.header('Authorization')],
          // Same TTL as the local gateway's cache, so a suspension takes effect equally fast.
          resultsCacheTtl: `${AUTHORIZER_CACHE_TTL_SECONDS} seconds`,
        },
      },
      routes,
      cdk: {
        restApi: {
          ...settings.restApi,
          apiKeySourceType: apig.ApiKeySourceType.AUTHORIZER,
          deployOptions: {
            ...settings.restApi.deployOptions,
            // Usage plans meter only keyed calls: the public routes get a stage throttle of their own.
            methodOptions: Object.fromEntries(
              publicRoutes.map((route) => [`${route.path}/${route.method}`, { ...PUBLIC_ROUTE_THROTTLE, loggingLevel: settings.restApi.deployOptions.loggingLevel }]),
            ),
          },
        },
      },
    });
    const restApi = api.cdk.restApi;
    addGatewayResponses(restApi);

    // One usage plan per tier, straight from core's tier table; each tenant's own API key is
    // attached to its tier's plan at onboarding, so throttling and quotas are per tenant.
    const usagePlans = {} as Record<TierName, apig.UsagePlan>;
    for (const tier of TIER_NAMES) {
      const { throttle, quota } = TIERS[tier];
      usagePlans[tier] = restApi.addUsagePlan(`UsagePlan-${tier}`, {
        name: resourceName(app, cellId, tier),
        description: `Tier ${tier} on cell ${cellId}`,
        throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
        ...(quota ? { quota: { limit: quota.limit, period: apig.Period[quota.period] } } : {}),
        apiStages: [{ api: restApi, stage: restApi.deploymentStage }],
      });
    }

    // ── what the control plane may do in this cell, and nothing more ───────────────────────
    const grants = cellControlGrants({
      partition: stack.partition,
      region: stack.region,
      cellTableArn: table.tableArn,
      tenantAccessRoleArn: tenantAccessRole.roleArn,
      restApiId: restApi.restApiId,
      stageName: restApi.deploymentStage.stageName,
      usagePlanIds: Object.fromEntries(TIER_NAMES.map((tier) => [tier, usagePlans[tier].usagePlanId])) as Record<TierName, string>,
    });
    const grantPolicies: Partial<Record<ControlIdentity, iam.Policy>> = {};
    for (const identity of CONTROL_IDENTITY_NAMES) {
      const statements = grants[identity];
      if (statements.length === 0) continue;
      const id = CELL_GRANT_POLICIES[identity];
      if (!id) throw new Error(`Cell ${cellId}: core grants ${identity} access to the cell, but the stack names no policy for it`);
      grantPolicies[identity] = new iam.Policy(stack, id, {
        roles: [control.controlRoles[identity]],
        statements: statements.map((statement) => iam.PolicyStatement.fromJson(statement)),
      });
    }
    // biome-ignore lint/style/noNonNullAssertion: the loop above makes a policy for every control identity.
    const tenantPlanAccess = grantPolicies['tenant-plan']!;
    // biome-ignore lint/style/noNonNullAssertion: as above.
    const tenantMoverAccess = grantPolicies['tenant-mover']!;

    // ── registration in the control plane's cell catalog ───────────────────────────────────
    const registration: CellRegistration = {
      ...definition,
      status: 'active',
      tableName: table.tableName,
      apiId: restApi.restApiId,
      stage: restApi.deploymentStage.stageName,
      tenantRoleArn: tenantAccessRole.roleArn,
      usagePlans: Object.fromEntries(TIER_NAMES.map((tier) => [tier, usagePlans[tier].usagePlanId])) as Record<TierName, string>,
    };
    addCellRegistration(stack, { registration, cellsTable: control.cellsTable });

    // ── health ─────────────────────────────────────────────────────────────────────────────
    const monitoring = cellMonitoring(stack, {
      namePrefix: resourceName(app, cellId),
      stage: restApi.deploymentStage,
      // biome-ignore lint/style/noNonNullAssertion: the API above was built with a function for every CELL_ROUTES route.
      functions: [authorizer, ...CELL_ROUTES.map((route) => api.getFunction(`${route.method} ${route.path}`)!)],
      table,
    });

    stack.addOutputs({
      ApiUrl: api.url,
      TableName: table.tableName,
      TenantAccessRoleArn: tenantAccessRole.roleArn,
      HealthAlarm: monitoring.health.alarmName,
    });

    // ── cdk-nag: reviewed exceptions ─────────────────────────────────────────────────────────
    suppressApiFindings(
      restApi,
      publicRoutes.map((route) => {
        const key = `${route.method} ${route.path}`;
        return {
          route: key,
          reason: `${key} is the cell's health check: it returns only the cell's id, reads nothing (its function's role has no AWS permission) and takes no tenant input. The control plane's routing probe calls it through the router (${route.path}?tenant=<id>) to see which cell a tenant's requests reach, with no tenant token; a stage throttle bounds it.`,
        };
      }),
    );
    for (const construct of [api, authorizer]) NagSuppressions.addResourceSuppressions(construct, [PINNED_RUNTIME], true);
    for (const role of [apiRole, authorizerRole, publicRouteRole]) NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);
    const tableLogicalId = stack.getLogicalId(table.node.defaultChild as dynamodb.CfnTable);
    NagSuppressions.addResourceSuppressions(tenantAccessRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The tenant access policy (core tenantAccessPolicy) covers the table and its indexes so GSI1 listing works; every action is fenced by the dynamodb:LeadingKeys condition to the session tenant’s own partitions, which the offline IAM proofs verify.',
        appliesTo: [`Resource::<${tableLogicalId}.Arn>/index/*`],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "Removing a tenant's user names the user in the broker's path (DELETE …/broker/tenants/<own tenant>/users/<username>): the tenant segment is fixed to the session's TenantId tag, and the broker checks that the user belongs to that tenant.",
        appliesTo: [{ regex: '/^Resource::.*\\/DELETE\\/broker\\/tenants\\/.*\\/users\\/\\*$/' }],
      },
    ]);
    const planKeyWildcards = TIER_NAMES.map((tier) => {
      const planLogicalId = stack.getLogicalId(usagePlans[tier].node.defaultChild as apig.CfnUsagePlan);
      return `Resource::arn:<AWS::Partition>:apigateway:${stack.region}::/usageplans/<${planLogicalId}>/keys/*`;
    });
    NagSuppressions.addResourceSuppressions(tenantPlanAccess, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "DeleteUsagePlanKey takes the tenant's key id, known only at run time; the grant is limited to this cell's own usage plans' key collections and only detaches keys from them (a tier change moves the key to another of these plans).",
        appliesTo: planKeyWildcards,
      },
    ]);
    NagSuppressions.addResourceSuppressions(tenantMoverAccess, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "DeleteUsagePlanKey takes the tenant's key id, known only at run time; the grant is limited to this cell's own usage plans' key collections and only detaches keys from them (a tenant that moved on from this cell leaves its plan).",
        appliesTo: planKeyWildcards,
      },
    ]);

    return { definition, api, restApi, table, tenantAccessRole, usagePlans, monitoring };
  }

  return CellStack;
}

export type CellStack = ReturnType<typeof Cell>;
