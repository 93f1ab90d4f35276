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
import { ApiGatewayV1Api, Function, Table, type ApiGatewayV1ApiFunctionRouteProps, type StackContext } from 'sst/constructs';
import { AUTHORIZER_CACHE_TTL_SECONDS, Events, Identity } from '@cellbook/core';
import { CONTROL_ROUTES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { TENANT_ATTRIBUTE } from '@cellbook/functions/cognito/pre-token-generation';
import { functionRole, handlerProps } from './constructs/functions.js';
import { addGatewayResponses } from './constructs/gateway-responses.js';
import { PINNED_RUNTIME, suppressSstInternals, XRAY_WILDCARD } from './constructs/nag.js';
import { restApiSettings } from './constructs/rest-api.js';
import { isDevStage, resourceName } from './constructs/stage.js';

/**
 * What each control-plane handler may touch. A handler missing here fails the synth, so a new
 * route cannot ship with a borrowed (and therefore too broad) role.
 */
type ControlIdentity = 'onboarding' | 'registry-read' | 'tenant-status' | 'tenant-plan' | 'cell-admin' | 'sign-in';

const CONTROL_IDENTITIES: Readonly<Record<string, ControlIdentity>> = {
  'control/auth-token': 'sign-in',
  'control/tenants-create': 'onboarding',
  'control/tenants-list': 'registry-read',
  'control/tenants-get': 'registry-read',
  'control/tenants-update': 'tenant-plan',
  'control/tenants-suspend': 'tenant-status',
  'control/tenants-reactivate': 'tenant-status',
  'control/tenants-audit': 'registry-read',
  'control/cells-list': 'registry-read',
  'control/cells-update': 'cell-admin',
};

/** The part of `custom:tenant_id` after `custom:` — how Cognito's schema names it. */
const TENANT_ATTRIBUTE_NAME = TENANT_ATTRIBUTE.slice('custom:'.length);

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
  for (const group of [...Identity.ROLES, Identity.OPERATOR_ROLE]) {
    new cognito.CfnUserPoolGroup(stack, `Group-${group}`, {
      userPoolId: userPool.userPoolId,
      groupName: group,
      description: group === Identity.OPERATOR_ROLE ? 'Cellbook operators (control plane)' : `Tenant ${group}s`,
    });
  }
  const userPoolClient = userPool.addClient('ApiClient', {
    userPoolClientName: resourceName(app, 'api'),
    // POST /auth/token is username + password (DESIGN §5); the client holds no secret.
    authFlows: { userPassword: true },
    generateSecret: false,
    disableOAuth: true,
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.days(30),
    readAttributes: new cognito.ClientAttributes()
      .withStandardAttributes({ email: true, emailVerified: true })
      .withCustomAttributes(TENANT_ATTRIBUTE_NAME),
    // Only the control plane (admin APIs) writes attributes; a user's own token can change none.
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes({}),
  });
  const identityEnvironment = {
    USER_POOL_ID: userPool.userPoolId,
    USER_POOL_CLIENT_ID: userPoolClient.userPoolClientId,
    JWT_ISSUER: userPool.userPoolProviderUrl,
  };

  const tokenClaimsRole = functionRole(stack, 'TokenClaimsRole', 'Cognito pre-token-generation trigger: no AWS access');
  const tokenClaims = new Function(
    stack,
    'TokenClaims',
    handlerProps(stack, 'TokenClaims', { handler: 'cognito/pre-token-generation', role: tokenClaimsRole, environment: {} }),
  );
  userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, tokenClaims, cognito.LambdaVersion.V2_0);

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

  // ── function identities ────────────────────────────────────────────────────────────────────
  // Onboarding (Tenant.onboard): idempotency claim, name reservation, registry record and audit
  // entry; a slot in a cell; the admin user; the tenant's API key — and the undo of each step.
  const onboardingRole = functionRole(stack, 'OnboardingWorkerRole', 'Tenant onboarding: registry, placement, admin user, API key');
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantRegistryWrites',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [tenantsTable.tableArn],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'CellPlacement',
      // Placement lists the (small) catalog, then takes or gives back a slot with a conditional update.
      actions: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
      resources: [cellsTable.tableArn],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantAdminUser',
      actions: ['cognito-idp:AdminGetUser', 'cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup', 'cognito-idp:AdminDeleteUser'],
      resources: [userPool.userPoolArn],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantApiKey',
      // CreateApiKey, and DeleteApiKey to undo it. Each Cell stack grants attaching keys to its plans.
      actions: ['apigateway:POST'],
      resources: [`arn:${stack.partition}:apigateway:${stack.region}::/apikeys`],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'UndoTenantApiKey',
      actions: ['apigateway:DELETE'],
      resources: [`arn:${stack.partition}:apigateway:${stack.region}::/apikeys/*`],
    }),
  );

  // Operator reads: tenant list (GSI1), one tenant, its audit trail (its registry partition), cells.
  const registryReaderRole = functionRole(stack, 'RegistryReaderRole', 'Operator reads of the tenant registry, audit trail and cell catalog');
  registryReaderRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantRegistryReads',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [tenantsTable.tableArn, `${tenantsTable.tableArn}/index/GSI1`],
    }),
  );
  registryReaderRole.addToPolicy(
    new iam.PolicyStatement({ sid: 'CellCatalogReads', actions: ['dynamodb:Scan'], resources: [cellsTable.tableArn] }),
  );

  // Suspend/reactivate: read and update the record, audit the change, find the tenant's cell. Each
  // Cell stack grants flushing its own authorizer cache.
  const tenantStatusRole = functionRole(stack, 'TenantStatusRole', 'Suspends and reactivates tenants');
  tenantStatusRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantStatusAndAudit',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
      resources: [tenantsTable.tableArn],
    }),
  );
  tenantStatusRole.addToPolicy(
    new iam.PolicyStatement({ sid: 'TenantCellLookup', actions: ['dynamodb:GetItem'], resources: [cellsTable.tableArn] }),
  );

  // Tier and override changes: read and update the record, audit it, find the tenant's cell. Each
  // Cell stack grants moving keys between its own usage plans and flushing its authorizer cache.
  const tenantPlanRole = functionRole(stack, 'TenantPlanRole', "Changes tenants' tiers and entitlement overrides");
  tenantPlanRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantPlanAndAudit',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
      resources: [tenantsTable.tableArn],
    }),
  );
  tenantPlanRole.addToPolicy(
    new iam.PolicyStatement({ sid: 'TenantCellLookup', actions: ['dynamodb:GetItem'], resources: [cellsTable.tableArn] }),
  );
  // Cell settings (capacity, wave, draining): conditional updates of existing catalog entries only.
  const cellAdminRole = functionRole(stack, 'CellAdminRole', "Changes cells' capacity, wave and draining status");
  cellAdminRole.addToPolicy(new iam.PolicyStatement({ sid: 'CellSettings', actions: ['dynamodb:UpdateItem'], resources: [cellsTable.tableArn] }));
  // Lifecycle events (TenantActivated, TenantSuspended, …) go on the deployment's bus.
  for (const role of [onboardingRole, tenantStatusRole, tenantPlanRole]) bus.grantPutEventsTo(role);

  // Sign-in calls Cognito's public InitiateAuth, which needs no IAM permission.
  const signInRole = functionRole(stack, 'SignInRole', 'POST /auth/token: no AWS access beyond its logs');
  const operatorAuthorizerRole = functionRole(stack, 'OperatorAuthorizerRole', 'Operator authorizer: verifies tokens, no AWS access');
  const roles: Record<ControlIdentity, iam.Role> = {
    onboarding: onboardingRole,
    'registry-read': registryReaderRole,
    'tenant-status': tenantStatusRole,
    'tenant-plan': tenantPlanRole,
    'cell-admin': cellAdminRole,
    'sign-in': signInRole,
  };

  const controlEnvironment = {
    ...identityEnvironment,
    TENANTS_TABLE: tenantsTable.tableName,
    CELLS_TABLE: cellsTable.tableName,
    EVENT_BUS_NAME: bus.eventBusName,
    // In AWS, Cognito mails a new user's temporary password (local mode hands it back instead).
    INVITATION_DELIVERY: 'email',
  };

  // ── operator API ───────────────────────────────────────────────────────────────────────────
  const operatorAuthorizer = new Function(
    stack,
    'OperatorAuthorizer',
    handlerProps(stack, 'OperatorAuthorizer', {
      handler: OPERATOR_AUTHORIZER,
      role: operatorAuthorizerRole,
      environment: identityEnvironment,
    }),
  );
  const routes: Record<string, ApiGatewayV1ApiFunctionRouteProps<'operator'>> = {};
  for (const route of CONTROL_ROUTES) {
    const identity = CONTROL_IDENTITIES[route.handler];
    if (!identity) throw new Error(`ControlPlane: no identity declared for control handler "${route.handler}"`);
    const id = `Control-${route.handler.replace(/^control\//, '')}`;
    routes[`${route.method} ${route.path}`] = {
      function: handlerProps(stack, id, { handler: route.handler, role: roles[identity], environment: controlEnvironment }),
      authorizer: route.auth === 'operator' ? 'operator' : 'none',
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
    TenantsTable: tenantsTable.tableName,
    CellsTable: cellsTable.tableName,
    EventBusName: bus.eventBusName,
    RoutingMapArn: routingMap.keyValueStoreArn,
  });

  // ── cdk-nag: reviewed exceptions ───────────────────────────────────────────────────────────
  NagSuppressions.addResourceSuppressions(userPool, [
    {
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is off: POST /auth/token (DESIGN §5) answers only the NEW_PASSWORD_REQUIRED challenge, not SOFTWARE_TOKEN_MFA, so an enrolled second factor would lock users out. MFA needs that challenge in the sign-in contract first.',
    },
    {
      id: 'AwsSolutions-COG3',
      reason:
        "Cognito threat protection (formerly advanced security) needs the Plus feature plan; the pool runs on Essentials, which is what access-token customization requires. Enabling Plus is a per-deployment cost decision.",
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
    onboardingRole,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "DeleteApiKey undoes the worker's own CreateApiKey when a later onboarding step fails; the key id exists only at run time, so the grant names /apikeys/* — DELETE only, no read or update of keys.",
        appliesTo: [`Resource::arn:<AWS::Partition>:apigateway:${stack.region}::/apikeys/*`],
      },
    ],
    true,
  );
  for (const role of [tokenClaimsRole, onboardingRole, registryReaderRole, tenantStatusRole, tenantPlanRole, cellAdminRole, signInRole, operatorAuthorizerRole]) {
    NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);
  }
  for (const construct of [api, operatorAuthorizer, tokenClaims]) NagSuppressions.addResourceSuppressions(construct, [PINNED_RUNTIME], true);
  suppressApiFindings(restApi, CONTROL_ROUTES.filter((route) => route.auth === 'none').map((route) => `${route.method} ${route.path}`));

  return {
    tenantsTable,
    cellsTable,
    userPool,
    userPoolClient,
    identityEnvironment,
    onboardingRole,
    tenantStatusRole,
    tenantPlanRole,
    bus,
    routingMap,
    api,
  };
}

/**
 * Findings every Cellbook REST API shares, and why each is accepted. `publicRoutes` (`METHOD /path`)
 * are unauthenticated by design (sign-in); any other method without an authorizer stays a finding.
 */
export function suppressApiFindings(restApi: apig.RestApi, publicRoutes: readonly string[] = []): void {
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
    } else if (publicRoutes.includes(route)) {
      const reason = `${route} is the sign-in endpoint: it is how a caller obtains a token, so it cannot require one. Cognito rate-limits InitiateAuth, and unknown users and wrong passwords get the same answer.`;
      NagSuppressions.addResourceSuppressions(method, [
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'AwsSolutions-COG4', reason },
      ]);
    }
  }
}
