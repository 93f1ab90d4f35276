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
import { AUTHORIZER_CACHE_TTL_SECONDS, Events, Identity, Keys } from '@cellbook/core';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { TENANT_ATTRIBUTE } from '@cellbook/functions/cognito/pre-token-generation';
import { addEventConsumer, addScheduledJob, rulePattern } from './constructs/event-consumer.js';
import { functionRole, handlerProps } from './constructs/functions.js';
import { addGatewayResponses } from './constructs/gateway-responses.js';
import { PINNED_RUNTIME, suppressSstInternals, XRAY_WILDCARD } from './constructs/nag.js';
import { anyPartition, partitionItems } from './constructs/partitions.js';
import { restApiSettings } from './constructs/rest-api.js';
import { addRoutingMapWriter } from './constructs/routing-map-writer.js';
import { routerUrlParameterArn, routerUrlParameterName } from './constructs/router-url.js';
import { isDevStage, resourceName } from './constructs/stage.js';

/**
 * What each control-plane handler may touch — the operator API's routes and the functions the
 * event bus invokes. A handler missing here fails the synth, so a new route or consumer cannot ship
 * with a borrowed (and therefore too broad) role.
 */
type ControlIdentity =
  | 'onboarding'
  | 'registry-read'
  | 'tenant-status'
  | 'tenant-plan'
  | 'cell-admin'
  | 'sign-in'
  | 'move-request'
  | 'tenant-mover'
  | 'tenant-offboarding'
  | 'tenant-export'
  | 'identity-broker';

const CONTROL_IDENTITIES: Readonly<Record<string, ControlIdentity>> = {
  'control/auth-token': 'sign-in',
  'control/tenants-create': 'onboarding',
  'control/tenants-list': 'registry-read',
  'control/tenants-get': 'registry-read',
  'control/tenants-update': 'tenant-plan',
  'control/tenants-suspend': 'tenant-status',
  'control/tenants-reactivate': 'tenant-status',
  'control/tenants-audit': 'registry-read',
  'control/tenants-move': 'move-request',
  'control/tenants-export': 'tenant-export',
  'control/tenants-offboard': 'tenant-offboarding',
  'control/cells-list': 'registry-read',
  'control/cells-update': 'cell-admin',
  'control/cells-drain': 'move-request',
  'control/cells-audit': 'registry-read',
  'control/tenant-mover': 'tenant-mover',
  // Cancelling an abandoned onboarding is offboarding it.
  'control/onboarding-reaper': 'tenant-offboarding',
  // The identity broker (DESIGN §13): the cells' only way to their tenants' users.
  'control/broker-users-create': 'identity-broker',
  'control/broker-users-delete': 'identity-broker',
};

/** The identities whose handlers check a tenant's route through the router (core routing.ts). */
const ROUTER_PROBING_IDENTITIES: ReadonlySet<ControlIdentity> = new Set(['onboarding', 'tenant-mover']);

function identityOf(handler: string): ControlIdentity {
  const identity = CONTROL_IDENTITIES[handler];
  if (!identity) throw new Error(`ControlPlane: no identity declared for control handler "${handler}"`);
  return identity;
}

/** The one control route that is public: it is how an operator gets a token. */
const SIGN_IN_HANDLER = 'control/auth-token';

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
  const tokenClaims = new Function(
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
  // Each role holds what its handlers call in core, granted next to the resource it concerns; the
  // Cell stacks add what each may do in one cell (usage plans, authorizer cache, tenant access).
  const apikeys = `arn:${stack.partition}:apigateway:${stack.region}::/apikeys`;
  const usagePlans = `arn:${stack.partition}:apigateway:${stack.region}::/usageplans`;
  const registryItems = (sid: string, actions: string[]) =>
    new iam.PolicyStatement({ sid, actions: actions.map((action) => `dynamodb:${action}`), resources: [tenantsTable.tableArn] });
  const catalogItems = (sid: string, actions: string[]) =>
    new iam.PolicyStatement({ sid, actions: actions.map((action) => `dynamodb:${action}`), resources: [cellsTable.tableArn] });
  // Placement (Cell.placeTenant): list the small catalog, take a slot with a conditional update (or
  // give it back), and — no dedicated cell being free — promise a catalogued cell that is not
  // deployed yet to the tenant (a `provisioning` record). Onboarding and move requests place.
  const cellPlacement = () => catalogItems('CellPlacement', ['Scan', 'GetItem', 'UpdateItem', 'PutItem']);

  // Onboarding (Onboarding.onboard, resumable): idempotency claim, name lease, registry record and
  // audit entry; a slot in a cell; the tenant's API key (found again by name on a retry); the admin
  // user (a fresh invitation on a retry); the routing change, checked through the router.
  const onboardingRole = functionRole(stack, 'OnboardingWorkerRole', 'Tenant onboarding: registry, placement, admin user, API key, route');
  onboardingRole.addToPolicy(registryItems('TenantRegistryWrites', ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']));
  onboardingRole.addToPolicy(cellPlacement());
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantAdminUser',
      // A resumed onboarding re-sends the invitation with AdminCreateUser (MessageAction RESEND).
      // AdminSetUserPassword is not granted: core only calls it with INVITATION_DELIVERY=response,
      // which is local mode's; this stack sets `email`.
      actions: ['cognito-idp:AdminGetUser', 'cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup'],
      resources: [userPool.userPoolArn],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantApiKey',
      // CreateApiKey. Each Cell stack grants attaching keys to its plans.
      actions: ['apigateway:POST'],
      resources: [apikeys],
    }),
  );
  onboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'FindTenantApiKey',
      // A resumed onboarding finds the key an earlier attempt created (GetApiKeys by name) and
      // checks which plans hold it (GetUsagePlans by key id) instead of minting a second key.
      actions: ['apigateway:GET'],
      resources: [apikeys, usagePlans],
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
  // The catalog, and one cell's entry: a cell's audit trail lists a change whose record is still on it.
  registryReaderRole.addToPolicy(catalogItems('CellCatalogReads', ['Scan', 'GetItem']));

  // Suspend/reactivate: read and update the record, audit the change, find the tenant's cell. Each
  // Cell stack grants flushing its own authorizer cache.
  const tenantStatusRole = functionRole(stack, 'TenantStatusRole', 'Suspends and reactivates tenants');
  tenantStatusRole.addToPolicy(registryItems('TenantStatusAndAudit', ['GetItem', 'UpdateItem', 'PutItem']));
  tenantStatusRole.addToPolicy(catalogItems('TenantCellLookup', ['GetItem']));

  // Tier and override changes: read and update the record, audit it, find the tenant's cell. Each
  // Cell stack grants moving keys between its own usage plans and flushing its authorizer cache.
  // A change to or from enterprise changes the kind of cell: it requests a move (placement in a
  // cell of the other kind), which the mover carries out.
  const tenantPlanRole = functionRole(stack, 'TenantPlanRole', "Changes tenants' tiers and entitlement overrides");
  tenantPlanRole.addToPolicy(registryItems('TenantPlanAndAudit', ['GetItem', 'UpdateItem', 'PutItem']));
  tenantPlanRole.addToPolicy(cellPlacement());
  // A repeated change asks which plans hold the key (GetUsagePlans by key id) to tell "already moved" from a conflict.
  tenantPlanRole.addToPolicy(new iam.PolicyStatement({ sid: 'FindKeyUsagePlans', actions: ['apigateway:GET'], resources: [usagePlans] }));

  // Cell settings (capacity, wave, draining): conditional updates of existing catalog entries only.
  // Each change carries its audit record on the entry until it is written to the cell's trail, in
  // the cell's partition of the registry (CELL#…) and nowhere else.
  const cellAdminRole = functionRole(stack, 'CellAdminRole', "Changes cells' capacity, wave and draining status");
  cellAdminRole.addToPolicy(catalogItems('CellSettings', ['GetItem', 'UpdateItem']));
  cellAdminRole.addToPolicy(
    partitionItems('CellAuditTrail', ['PutItem'], tenantsTable.tableArn, anyPartition((cellId) => Keys.cellPartition(cellId), 'cell-sample')),
  );

  // Move requests (TenantMove.request; drainCell requests one per tenant of a draining cell):
  // validate, take a slot in the target cell, record the move on the tenant and audit it, mark a
  // drained cell draining, and publish TenantMoveRequested. No tenant data, no API Gateway.
  const moveRequestRole = functionRole(stack, 'MoveRequestRole', 'Requests tenant moves and drains cells; the mover does the work');
  moveRequestRole.addToPolicy(registryItems('MoveRecordAndAudit', ['GetItem', 'UpdateItem', 'PutItem']));
  moveRequestRole.addToPolicy(cellPlacement());

  // The mover (TenantMove.run, on TenantMoveRequested): freezes, copies, verifies and purges the
  // tenant's items through each cell's tenant access role tagged with the tenant (granted by each
  // Cell stack, with attaching the key to its plans and flushing its authorizer cache), switches
  // the registry record, gives back the source slot, and checks the new route through the router.
  const tenantMoverRole = functionRole(stack, 'TenantMoverRole', "Moves one tenant's data between cells, through the cells' tenant access roles");
  tenantMoverRole.addToPolicy(registryItems('MoveStateAndAudit', ['GetItem', 'UpdateItem', 'PutItem']));
  tenantMoverRole.addToPolicy(catalogItems('MoveCells', ['GetItem', 'UpdateItem']));
  // Joining the target's plan answers ConflictException when the key is already there: GetUsagePlans tells.
  tenantMoverRole.addToPolicy(new iam.PolicyStatement({ sid: 'FindKeyUsagePlans', actions: ['apigateway:GET'], resources: [usagePlans] }));

  // Offboarding (Offboarding.offboard, resumable; also cancels abandoned onboardings): the registry record's steps and tombstone, the
  // audit entry, and the release of the tenant's name (its TENANTNAME# item, nothing else); the
  // tenant's API key; its users; its slot. Its cell items are purged through the cell's tenant
  // access role (granted by each Cell stack, with flushing its authorizer cache).
  const tenantOffboardingRole = functionRole(stack, 'TenantOffboardingRole', "Offboards suspended tenants: key, users, cell data, slot, tombstone");
  tenantOffboardingRole.addToPolicy(registryItems('OffboardingStepsAndAudit', ['GetItem', 'UpdateItem', 'PutItem']));
  tenantOffboardingRole.addToPolicy(
    partitionItems('ReleaseTenantName', ['DeleteItem'], tenantsTable.tableArn, anyPartition((name) => Keys.tenantNameKey(name).PK)),
  );
  // Scan: a cancelled onboarding may hold a slot its record never learned of (Cell.findSlot).
  tenantOffboardingRole.addToPolicy(catalogItems('OffboardingCells', ['GetItem', 'UpdateItem', 'Scan']));
  // The reaper finds abandoned onboardings in the tenant listing (GSI1, filtered to PENDING).
  tenantOffboardingRole.addToPolicy(
    new iam.PolicyStatement({ sid: 'ListTenants', actions: ['dynamodb:Query'], resources: [`${tenantsTable.tableArn}/index/GSI1`] }),
  );
  tenantOffboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'FindTenantApiKey',
      // A cancelled onboarding may have created its key without recording it: GetApiKeys by name.
      actions: ['apigateway:GET'],
      resources: [apikeys],
    }),
  );
  tenantOffboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RemoveTenantUsers',
      actions: ['cognito-idp:AdminGetUser', 'cognito-idp:AdminUserGlobalSignOut', 'cognito-idp:AdminDeleteUser'],
      resources: [userPool.userPoolArn],
    }),
  );
  tenantOffboardingRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RevokeTenantApiKey',
      // DeleteApiKey (which also takes the key off every usage plan).
      actions: ['apigateway:DELETE'],
      resources: [`${apikeys}/*`],
    }),
  );

  // Export (Offboarding.exportPage): read only — the tenant's registry partition (record, audit
  // trail, workflow logs; not name reservations or idempotency records), its cell's catalog entry,
  // and its cell items through the cell's tenant access role (granted by each Cell stack).
  const tenantExportRole = functionRole(stack, 'TenantExportRole', "Exports one tenant's items: reads only");
  tenantExportRole.addToPolicy(
    partitionItems('ReadTenantRegistryPartition', ['GetItem', 'Query'], tenantsTable.tableArn, anyPartition((tenantId) => Keys.tenantRegistryPartition(tenantId))),
  );
  tenantExportRole.addToPolicy(catalogItems('TenantCellLookup', ['GetItem']));

  // Lifecycle events (TenantActivated, TenantMoveRequested, TenantRoutingChanged, CellRequested, …)
  // go on the deployment's bus.
  // The identity broker: the one role through which the cells reach their tenants' users — in the
  // tenant pool only. It reads the registry and the catalog to check that the calling cell's
  // tenant session names a tenant that is ACTIVE and placed in that very cell.
  const identityBrokerRole = functionRole(stack, 'IdentityBrokerRole', "Identity broker: manages an active tenant's users for the cell it is placed in");
  identityBrokerRole.addToPolicy(registryItems('TenantPlacementCheck', ['GetItem']));
  identityBrokerRole.addToPolicy(catalogItems('CallingCellLookup', ['Scan']));
  identityBrokerRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TenantUsersOnly',
      actions: ['cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup', 'cognito-idp:AdminGetUser', 'cognito-idp:AdminDeleteUser'],
      resources: [userPool.userPoolArn],
    }),
  );

  for (const role of [onboardingRole, tenantStatusRole, tenantPlanRole, moveRequestRole, tenantMoverRole, tenantOffboardingRole]) {
    bus.grantPutEventsTo(role);
  }

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
    'move-request': moveRequestRole,
    'tenant-mover': tenantMoverRole,
    'tenant-offboarding': tenantOffboardingRole,
    'tenant-export': tenantExportRole,
    'identity-broker': identityBrokerRole,
  };

  // The router's URL, for the handlers that check a tenant's route through it: the Router stack
  // publishes it under this name once deployed (it is created after this stack).
  for (const identity of ROUTER_PROBING_IDENTITIES) {
    roles[identity].addToPolicy(
      new iam.PolicyStatement({ sid: 'ReadRouterUrl', actions: ['ssm:GetParameter'], resources: [routerUrlParameterArn(stack, app)] }),
    );
  }

  const controlEnvironment = {
    ...identityEnvironment,
    // Sign-in (POST /auth/token) tries the operator directory after the tenant one.
    ...operatorIdentityEnvironment,
    TENANTS_TABLE: tenantsTable.tableName,
    CELLS_TABLE: cellsTable.tableName,
    EVENT_BUS_NAME: bus.eventBusName,
    // In AWS, Cognito mails a new user's temporary password (local mode hands it back instead).
    INVITATION_DELIVERY: 'email',
  };
  const environmentOf = (identity: ControlIdentity): Record<string, string> =>
    ROUTER_PROBING_IDENTITIES.has(identity) ? { ...controlEnvironment, ROUTER_URL_PARAMETER: routerUrlParameterName(app) } : controlEnvironment;

  // ── event consumers (the mover, …) ─────────────────────────────────────────────────────────
  const consumers = CONTROL_EVENT_CONSUMERS.map((definition) => {
    const identity = identityOf(definition.handler);
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
    const identity = identityOf(definition.handler);
    const id = `Schedule-${definition.handler.replace(/^control\//, '')}`;
    return addScheduledJob(stack, id, {
      schedule: events.Schedule.rate(Duration.minutes(definition.everyMinutes)),
      deadLetters,
      description: `every ${definition.everyMinutes} min → ${definition.handler}`,
      function: handlerProps(stack, id, { handler: definition.handler, role: roles[identity], environment: environmentOf(identity), timeout: definition.timeoutSeconds }),
    });
  });

  // ── operator API ───────────────────────────────────────────────────────────────────────────
  const operatorAuthorizer = new Function(
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
    const identity = identityOf(route.handler);
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
  for (const role of [tokenClaimsRole, signInRole, operatorAuthorizerRole, ...Object.values(roles)]) {
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
    identityBrokerRole,
    onboardingRole,
    tenantStatusRole,
    tenantPlanRole,
    tenantMoverRole,
    tenantOffboardingRole,
    tenantExportRole,
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
