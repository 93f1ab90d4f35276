import { ArnFormat, Aspects, CfnResource, Duration, RemovalPolicy, Tags, type IAspect } from 'aws-cdk-lib';
import * as apig from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { ApiGatewayV1Api, Function as SstFunction, Table, type ApiGatewayV1ApiFunctionRouteProps, type StackContext } from 'sst/constructs';
import {
  AUTHORIZER_CACHE_TTL_SECONDS,
  CONTROL_IDENTITY_NAMES,
  Events,
  Identity,
  Keys,
  ROUTER_PROBING_IDENTITIES,
  controlIdentityOf,
  controlIdentityStatements,
  type ControlIdentity,
} from '@cellbook/core';
import { TENANT_ATTRIBUTE_NAME } from '@cellbook/core/tenancy/tenant-attribute';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { addEventConsumer, addScheduledJob, rulePattern } from './constructs/event-consumer.js';
import { functionRole, handlerProps } from './constructs/functions.js';
import { addGatewayResponses } from './constructs/gateway-responses.js';
import { PINNED_RUNTIME, suppressSstInternals, XRAY_WILDCARD } from './constructs/nag.js';
import { anyPartition } from './constructs/partitions.js';
import { restApiSettings } from './constructs/rest-api.js';
import { addRoutingMapWriter } from './constructs/routing-map-writer.js';
import { routerUrlParameterArn, routerUrlParameterName } from './constructs/router-url.js';
import { isDevStage, resourceName } from './constructs/stage.js';

/**
 * The role of each control identity (core's CONTROL_IDENTITIES maps every handler to one; a
 * handler missing there fails the synth, so a new route or consumer cannot ship with a borrowed,
 * and therefore too broad, role). What each role may do is core's `controlIdentityStatements`.
 */
export const CONTROL_ROLES: Readonly<Record<ControlIdentity, { id: string; description: string }>> = {
  onboarding: { id: 'OnboardingWorkerRole', description: 'Tenant onboarding: registry, placement, admin user, API key, route' },
  'registry-read': { id: 'RegistryReaderRole', description: 'Operator reads of the tenant registry, audit trail and cell catalog' },
  'tenant-status': { id: 'TenantStatusRole', description: 'Suspends and reactivates tenants' },
  'tenant-plan': { id: 'TenantPlanRole', description: "Changes tenants' tiers and entitlement overrides" },
  'cell-admin': { id: 'CellAdminRole', description: "Changes cells' capacity, wave and draining status" },
  'sign-in': { id: 'SignInRole', description: 'POST /auth/token: no AWS access beyond its logs' },
  'move-request': { id: 'MoveRequestRole', description: 'Requests tenant moves and drains cells; the mover does the work' },
  'tenant-mover': { id: 'TenantMoverRole', description: "Moves one tenant's data between cells, through the cells' tenant access roles" },
  'tenant-offboarding': { id: 'TenantOffboardingRole', description: 'Offboards suspended tenants: key, users, cell data, slot, tombstone' },
  'tenant-export': { id: 'TenantExportRole', description: "Exports one tenant's items: reads only" },
  'identity-broker': { id: 'IdentityBrokerRole', description: "Identity broker: manages an active tenant's users for the cell it is placed in" },
};

/** In AWS, Cognito mails a new user's temporary password (local mode hands it back instead). */
const INVITATION_DELIVERY = 'email';

/** The one control route that is public: it is how an operator gets a token. */
const SIGN_IN_HANDLER = 'control/auth-token';

const retain: IAspect = {
  visit(node) {
    if (CfnResource.isCfnResource(node)) node.applyRemovalPolicy(RemovalPolicy.RETAIN);
  },
};

/** Events that cannot be delivered, and tenant events without a tenant, are kept this long. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * The shared control plane (DESIGN §1): tenant registry and cell catalog, the operator API, the
 * user directory, the event bus, the routing map the router reads, and the onboarding worker's
 * identity. It is never on a tenant user's request path.
 */
export function ControlPlane({ app, stack }: StackContext) {
  const dev = isDevStage(app);
  Tags.of(stack).add('app', app.name);
  Tags.of(stack).add('stage', app.stage);
  Tags.of(stack).add('plane', 'control');
  suppressSstInternals(stack);

  // ── registry tables ────────────────────────────────────────────────────────────────────────
  const tableSettings = {
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
  const tenants = new Table(stack, 'tenants', {
    fields: { PK: 'string', SK: 'string', GSI1PK: 'string', GSI1SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    globalIndexes: { GSI1: { partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'all' } },
    cdk: { table: tableSettings },
  });
  const cells = new Table(stack, 'cells', {
    fields: { PK: 'string', SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    cdk: { table: tableSettings },
  });
  const tenantsTable = tenants.cdk.table;
  const cellsTable = cells.cdk.table;

  // ── user directory ─────────────────────────────────────────────────────────────────────────
  const userPool = new cognito.UserPool(stack, 'UserPool', {
    userPoolName: resourceName(app, 'users'),
    // Access-token customization (the pre-token-generation V2 trigger) needs the Essentials plan.
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    // Nobody signs themselves up: operators onboard tenant admins, tenant admins invite users.
    selfSignUpEnabled: false,
    signInAliases: { username: true },
    signInCaseSensitive: false,
    standardAttributes: { email: { required: false, mutable: true } },
    // Immutable: once Cognito has bound a user to a tenant, nobody can rebind it.
    customAttributes: { [TENANT_ATTRIBUTE_NAME]: new cognito.StringAttribute({ mutable: false }) },
    passwordPolicy: {
      minLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(7),
    },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    mfa: cognito.Mfa.OFF,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  for (const group of Identity.ROLES) {
    new cognito.CfnUserPoolGroup(stack, `Group-${group}`, { userPoolId: userPool.userPoolId, groupName: group, description: `Tenant ${group}s` });
  }
  // Both directories' app clients: POST /auth/token is username + password (DESIGN §5), and the
  // client holds no secret.
  const signInClientSettings = {
    authFlows: { userPassword: true },
    generateSecret: false,
    disableOAuth: true,
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
  } satisfies cognito.UserPoolClientOptions;
  const userPoolClient = userPool.addClient('ApiClient', {
    userPoolClientName: resourceName(app, 'api'),
    ...signInClientSettings,
    refreshTokenValidity: Duration.days(30),
    readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes(TENANT_ATTRIBUTE_NAME),
    // Only the control plane (admin APIs) writes attributes; a user's own token can change none.
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes({}),
  });
  const identityEnvironment = {
    USER_POOL_ID: userPool.userPoolId,
    USER_POOL_CLIENT_ID: userPoolClient.userPoolClientId,
    JWT_ISSUER: userPool.userPoolProviderUrl,
  };

  // ── operator directory (DESIGN §13) ────────────────────────────────────────────────────────
  // Operators live in a pool of their own: no function role of the app holds any permission on
  // it (operators are created by the deployer), and the cells' authorizers accept only tokens of
  // the tenant pool, the operator authorizer only tokens of this one.
  const operatorPool = new cognito.UserPool(stack, 'OperatorPool', {
    userPoolName: resourceName(app, 'operators'),
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    selfSignUpEnabled: false,
    signInAliases: { username: true },
    signInCaseSensitive: false,
    standardAttributes: { email: { required: false, mutable: true } },
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(1),
    },
    accountRecovery: cognito.AccountRecovery.NONE,
    mfa: cognito.Mfa.OFF,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  new cognito.CfnUserPoolGroup(stack, `Group-${Identity.OPERATOR_ROLE}`, {
    userPoolId: operatorPool.userPoolId,
    groupName: Identity.OPERATOR_ROLE,
    description: 'Cellbook operators (control plane)',
  });
  const operatorPoolClient = operatorPool.addClient('OperatorClient', {
    userPoolClientName: resourceName(app, 'operator-api'),
    ...signInClientSettings,
    refreshTokenValidity: Duration.hours(12),
    readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }),
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes({}),
  });
  const operatorIdentityEnvironment = {
    OPERATOR_POOL_ID: operatorPool.userPoolId,
    OPERATOR_POOL_CLIENT_ID: operatorPoolClient.userPoolClientId,
    OPERATOR_JWT_ISSUER: operatorPool.userPoolProviderUrl,
  };

  const tokenClaimsRole = functionRole(stack, 'TokenClaimsRole', 'Cognito pre-token-generation trigger: no AWS access');
  const tokenClaims = new SstFunction(
    stack,
    'TokenClaims',
    handlerProps(stack, 'TokenClaims', { handler: 'cognito/pre-token-generation', role: tokenClaimsRole, environment: {} }),
  );
  userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, tokenClaims, cognito.LambdaVersion.V2_0);
  // The operator pool's tokens carry `roles` the same way (and never a tenant).
  operatorPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, tokenClaims, cognito.LambdaVersion.V2_0);

  // ── events ─────────────────────────────────────────────────────────────────────────────────
  const bus = new events.EventBus(stack, 'Bus', { eventBusName: resourceName(app, 'events') });
  bus.archive('Archive', {
    archiveName: resourceName(app, 'events'),
    eventPattern: { source: events.Match.prefix('cellbook.') },
    retention: Duration.days(30),
  });
  const deadLetters = new sqs.Queue(stack, 'DeadLetterQueue', {
    queueName: resourceName(app, 'events-dead-letters'),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });

  // Every Cellbook event lands in the audit log group; what cannot be delivered is dead-lettered.
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
    eventPattern: { source: events.Match.prefix('cellbook.') },
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
    eventPattern: Events.TENANTLESS_EVENTS_PATTERN as unknown as events.EventPattern,
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

  // ── routing map (read by the router's CloudFront Function) ─────────────────────────────────
  const routingMap = new cloudfront.KeyValueStore(stack, 'RoutingMap', {
    comment: `${app.stage}: tenant id → cell id`,
  });
  addRoutingMapWriter(stack, {
    bus,
    routingMap,
    deadLetters,
    registry: { tableArn: tenantsTable.tableArn, tableName: tenantsTable.tableName },
    tenantPartitions: anyPartition((tenantId) => Keys.tenantRegistryPartition(tenantId)),
  });

  // ── function identities ────────────────────────────────────────────────────────────────────
  // One role per control identity, holding exactly the statements core's function-permissions
  // gives it (the local platform renders the same ones); the Cell stacks add what each may do in
  // one cell (usage plans, authorizer cache, tenant access), again from core.
  const identityStatements = controlIdentityStatements({
    partition: stack.partition,
    region: stack.region,
    tenantsTableArn: tenantsTable.tableArn,
    cellsTableArn: cellsTable.tableArn,
    userPoolArn: userPool.userPoolArn,
    eventBusArn: bus.eventBusArn,
    routerUrlParameterArn: routerUrlParameterArn(stack, app),
    invitationDelivery: INVITATION_DELIVERY,
  });
  const roles = {} as Record<ControlIdentity, iam.Role>;
  for (const identity of CONTROL_IDENTITY_NAMES) {
    const { id, description } = CONTROL_ROLES[identity];
    const role = functionRole(stack, id, description);
    for (const statement of identityStatements[identity]) role.addToPolicy(iam.PolicyStatement.fromJson(statement));
    roles[identity] = role;
  }
  const tenantOffboardingRole = roles['tenant-offboarding'];
  const operatorAuthorizerRole = functionRole(stack, 'OperatorAuthorizerRole', 'Operator authorizer: verifies tokens, no AWS access');

  const controlEnvironment = {
    ...identityEnvironment,
    // Sign-in (POST /auth/token) tries the operator directory after the tenant one.
    ...operatorIdentityEnvironment,
    TENANTS_TABLE: tenantsTable.tableName,
    CELLS_TABLE: cellsTable.tableName,
    EVENT_BUS_NAME: bus.eventBusName,
    INVITATION_DELIVERY,
  };
  const environmentOf = (identity: ControlIdentity): Record<string, string> =>
    ROUTER_PROBING_IDENTITIES.has(identity) ? { ...controlEnvironment, ROUTER_URL_PARAMETER: routerUrlParameterName(app) } : controlEnvironment;

  // ── event consumers (the mover, …) ─────────────────────────────────────────────────────────
  const consumers = CONTROL_EVENT_CONSUMERS.map((definition) => {
    const identity = controlIdentityOf(definition.handler);
    const id = `Consumer-${definition.handler.replace(/^control\//, '')}`;
    return addEventConsumer(stack, id, {
      bus,
      deadLetters,
      description: `${definition.eventPattern['detail-type'].join(', ')} → ${definition.handler}`,
      eventPattern: rulePattern(definition.eventPattern),
      function: handlerProps(stack, id, {
        handler: definition.handler,
        role: roles[identity],
        environment: environmentOf(identity),
        timeout: definition.timeoutSeconds,
      }),
    });
  });

  // ── scheduled jobs (the reaper of abandoned onboardings, …) ────────────────────────────────
  const scheduledJobs = CONTROL_SCHEDULES.map((definition) => {
    const identity = controlIdentityOf(definition.handler);
    const id = `Schedule-${definition.handler.replace(/^control\//, '')}`;
    return addScheduledJob(stack, id, {
      schedule: events.Schedule.rate(Duration.minutes(definition.everyMinutes)),
      deadLetters,
      description: `every ${definition.everyMinutes} min → ${definition.handler}`,
      function: handlerProps(stack, id, { handler: definition.handler, role: roles[identity], environment: environmentOf(identity), timeout: definition.timeoutSeconds }),
    });
  });

  // ── operator API ───────────────────────────────────────────────────────────────────────────
  const operatorAuthorizer = new SstFunction(
    stack,
    'OperatorAuthorizer',
    handlerProps(stack, 'OperatorAuthorizer', {
      handler: OPERATOR_AUTHORIZER,
      role: operatorAuthorizerRole,
      // The operator directory only: a tenant pool token never verifies here.
      environment: operatorIdentityEnvironment,
    }),
  );
  const routes: Record<string, ApiGatewayV1ApiFunctionRouteProps<'operator'>> = {};
  for (const route of CONTROL_ROUTES) {
    const identity = controlIdentityOf(route.handler);
    const id = `Control-${route.handler.replace(/^control\//, '')}`;
    routes[`${route.method} ${route.path}`] = {
      function: handlerProps(stack, id, { handler: route.handler, role: roles[identity], environment: environmentOf(identity) }),
      // `iam`: the identity broker's routes, invoked by cells' tenant sessions (SigV4, execute-api:Invoke).
      authorizer: route.auth === 'operator' ? 'operator' : route.auth === 'iam' ? 'iam' : 'none',
    };
  }
  const settings = restApiSettings(resourceName(app, 'control'));
  const api = new ApiGatewayV1Api(stack, 'ControlApi', {
    cors: settings.cors,
    accessLog: settings.accessLog,
    authorizers: {
      operator: {
        type: 'lambda_request',
        function: operatorAuthorizer,
        identitySources: [apig.IdentitySource.header('Authorization')],
        resultsCacheTtl: `${AUTHORIZER_CACHE_TTL_SECONDS} seconds`,
      },
    },
    routes,
    cdk: { restApi: settings.restApi },
  });
  const restApi = api.cdk.restApi;
  addGatewayResponses(restApi);

  // API Gateway writes execution and access logs through one account-wide role per region.
  const apiGatewayLogsRole = new iam.Role(stack, 'ApiGatewayCloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
  });
  const apiGatewayAccount = new apig.CfnAccount(stack, 'ApiGatewayAccount', { cloudWatchRoleArn: apiGatewayLogsRole.roleArn });
  restApi.deploymentStage.node.addDependency(apiGatewayAccount);
  // The setting is account-wide: removing one stage, even a throwaway one, must not leave it
  // pointing at a deleted role for the others. An aspect runs after SST applies a dev stage's
  // default "destroy" policy, so these two stay retained on every stage.
  Aspects.of(apiGatewayLogsRole).add(retain);
  Aspects.of(apiGatewayAccount).add(retain);

  stack.addOutputs({
    ControlApiUrl: api.url,
    UserPoolId: userPool.userPoolId,
    UserPoolClientId: userPoolClient.userPoolClientId,
    OperatorPoolId: operatorPool.userPoolId,
    OperatorPoolClientId: operatorPoolClient.userPoolClientId,
    TenantsTable: tenantsTable.tableName,
    CellsTable: cellsTable.tableName,
    EventBusName: bus.eventBusName,
    RoutingMapArn: routingMap.keyValueStoreArn,
  });

  // ── cdk-nag: reviewed exceptions ───────────────────────────────────────────────────────────
  NagSuppressions.addResourceSuppressions(operatorPool, [
    {
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is off: POST /auth/token (DESIGN §5) answers only the NEW_PASSWORD_REQUIRED challenge, not SOFTWARE_TOKEN_MFA, so an enrolled second factor would lock operators out. MFA needs that challenge in the sign-in contract first.',
    },
    {
      id: 'AwsSolutions-COG3',
      reason:
        'Cognito threat protection needs the Plus feature plan; the pool runs on Essentials, which access-token customization requires. Enabling Plus is a per-deployment cost decision.',
    },
  ]);
  NagSuppressions.addResourceSuppressions(userPool, [
    {
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is off: POST /auth/token (DESIGN §5) answers only the NEW_PASSWORD_REQUIRED challenge, not SOFTWARE_TOKEN_MFA, so an enrolled second factor would lock users out. MFA needs that challenge in the sign-in contract first.',
    },
    {
      id: 'AwsSolutions-COG3',
      reason:
        'Cognito threat protection (formerly advanced security) needs the Plus feature plan; the pool runs on Essentials, which is what access-token customization requires. Enabling Plus is a per-deployment cost decision.',
    },
  ]);
  NagSuppressions.addResourceSuppressions(deadLetters, [
    {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the event bus targets; a dead-letter queue for it would add nothing.',
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    apiGatewayLogsRole,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for API Gateway's account-level logging role; a copy would have to track AWS's changes by hand.",
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    tenantOffboardingRole,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "DeleteApiKey revokes the offboarded tenant's own key, whose id is read from its registry record at run time, so the grant names /apikeys/* — DELETE only: no read or update of keys, no usage plan.",
        appliesTo: [`Resource::arn:<AWS::Partition>:apigateway:${stack.region}::/apikeys/*`],
      },
    ],
    true,
  );
  for (const role of [tokenClaimsRole, operatorAuthorizerRole, ...Object.values(roles)]) {
    NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);
  }
  for (const construct of [api, operatorAuthorizer, tokenClaims]) NagSuppressions.addResourceSuppressions(construct, [PINNED_RUNTIME], true);
  suppressApiFindings(
    restApi,
    CONTROL_ROUTES.filter((route) => route.auth === 'none' && route.handler === SIGN_IN_HANDLER).map((route) => {
      const key = `${route.method} ${route.path}`;
      return {
        route: key,
        reason: `${key} is the sign-in endpoint: it is how a caller obtains a token, so it cannot require one. Cognito rate-limits InitiateAuth, and unknown users and wrong passwords get the same answer.`,
      };
    }),
  );

  return {
    tenantsTable,
    cellsTable,
    userPool,
    userPoolClient,
    operatorPool,
    identityEnvironment,
    /** Each control identity's role: the Cell stacks grant them what they may do in each cell. */
    controlRoles: roles,
    bus,
    routingMap,
    api,
    consumers,
    scheduledJobs,
  };
}

/** A method that is unauthenticated by design, and the reason a reviewer accepted. */
export interface PublicRoute {
  /** `METHOD /path`, as in the route tables. */
  route: string;
  reason: string;
}

/**
 * Findings every Cellbook REST API shares, and why each is accepted. `publicRoutes` are
 * unauthenticated by design, each with its own reason; any other method without an authorizer
 * stays a finding.
 */
export function suppressApiFindings(restApi: apig.RestApi, publicRoutes: readonly PublicRoute[] = []): void {
  NagSuppressions.addResourceSuppressions(
    restApi,
    [
      {
        id: 'AwsSolutions-APIG2',
        reason:
          "Requests are validated by the handlers with the zod schemas in core, so malformed input gets the application error contract (400/422, DESIGN §5) rather than API Gateway's generic body.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'The API is regional behind the CloudFront router; per-tenant rate and quota are enforced by usage plans. A WAF web ACL is an account-level choice (AWS Firewall Manager) left to the deployer.',
      },
    ],
    true,
  );
  for (const method of restApi.methods) {
    const route = `${method.httpMethod} ${method.resource.path}`;
    const authorizationType = (method.node.defaultChild as apig.CfnMethod).authorizationType;
    if (authorizationType === apig.AuthorizationType.CUSTOM) {
      NagSuppressions.addResourceSuppressions(method, [
        {
          id: 'AwsSolutions-COG4',
          reason:
            'A Lambda REQUEST authorizer verifies the Cognito access token (RS256, issuer, app client, token_use) and also resolves the tenant and its API key (usageIdentifierKey), which a COGNITO_USER_POOLS authorizer cannot return.',
        },
      ]);
    } else if (authorizationType === apig.AuthorizationType.IAM) {
      NagSuppressions.addResourceSuppressions(method, [
        {
          id: 'AwsSolutions-COG4',
          reason:
            "The identity broker's routes are called by the cells' tenant sessions, not by users: IAM authorizes them (SigV4, execute-api:Invoke fenced to the session's own tenant by aws:PrincipalTag/TenantId), and the broker checks the tenant's placement again.",
        },
      ]);
    } else {
      const reason = publicRoutes.find((candidate) => candidate.route === route)?.reason;
      if (reason === undefined) continue;
      NagSuppressions.addResourceSuppressions(method, [
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'AwsSolutions-COG4', reason },
      ]);
    }
  }
}
