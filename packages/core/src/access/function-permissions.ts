/**
 * What every function role of the app may do (DESIGN §1, §3, §13), written once. The stacks render
 * these statements into their roles (`iam.PolicyStatement.fromJson`) and the local platform into its
 * IAM stand-in, so the two worlds cannot drift (issue 12, item 7): a grant changed here changes
 * both, and the infra proofs compare each synthesized role with what these builders return.
 *
 * Builders take ARNs and names as plain strings — CDK tokens in the stacks, literal local ARNs
 * offline — and return IAM policy statements as JSON. Nothing here imports CDK.
 */
import { adminEmailKey, cellPartition, tenantMetaKey, tenantNameKey, tenantPartitionPrefix, tenantRegistryPartition, tenantUsersPartition } from '../keys/keys.js';
import { TIER_NAMES, type TierName } from '../tenancy/tiers.js';

/** One IAM policy statement as the policy language spells it. Every grant of the app has a Sid. */
export interface IamStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A whole identity policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export function policyDocument(statements: readonly IamStatement[]): IamPolicyDocument {
  return { Version: '2012-10-17', Statement: statements.map((statement) => structuredClone(statement)) };
}

// ── control-plane identities ───────────────────────────────────────────────────────────────────

/**
 * What each control-plane handler may touch — the operator API's routes and the functions the
 * event bus and the schedules invoke. Each identity is one role, in the stack and locally.
 */
export type ControlIdentity =
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

export const CONTROL_IDENTITY_NAMES: readonly ControlIdentity[] = [
  'onboarding',
  'registry-read',
  'tenant-status',
  'tenant-plan',
  'cell-admin',
  'sign-in',
  'move-request',
  'tenant-mover',
  'tenant-offboarding',
  'tenant-export',
  'identity-broker',
];

/**
 * The identity of every control handler. A handler missing here fails the synth and the local
 * boot, so a new route or consumer cannot ship with a borrowed (and therefore too broad) role.
 */
export const CONTROL_IDENTITIES: Readonly<Record<string, ControlIdentity>> = {
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
export const ROUTER_PROBING_IDENTITIES: ReadonlySet<ControlIdentity> = new Set<ControlIdentity>(['onboarding', 'tenant-mover']);

/**
 * The control identities that work on one tenant's cell data at a time: each cell's tenant access
 * role trusts them (tenant sessions only), and each cell grants them assuming it.
 */
export const TENANT_ACCESS_IDENTITIES: readonly ControlIdentity[] = ['tenant-mover', 'tenant-offboarding', 'tenant-export'];

export function controlIdentityOf(handler: string): ControlIdentity {
  const identity = Object.hasOwn(CONTROL_IDENTITIES, handler) ? CONTROL_IDENTITIES[handler] : undefined;
  if (!identity) throw new Error(`no identity declared for control handler "${handler}"`);
  return identity;
}

// ── partition fences ───────────────────────────────────────────────────────────────────────────

/**
 * A `dynamodb:LeadingKeys` pattern (`TENANT#*`, `TENANTNAME#*`, `CELL#*`) for every partition
 * core's key module builds with `partitionOf`, whatever the tenant, name or cell: the key built for
 * a sample value (one the key module accepts) ends with it, and what precedes it is the fixed prefix.
 */
export function anyPartition(partitionOf: (sample: string) => string, sample = 'sample'): string {
  const partition = partitionOf(sample);
  if (!partition.endsWith(sample)) throw new Error(`partition ${partition} does not end with its variable part`);
  return `${partition.slice(0, -sample.length)}*`;
}

/**
 * DynamoDB item `actions` on `tableArn`, fenced to partitions matching `partitions` (patterns): every key the
 * request touches must match, and a request that names no key (a Scan) is refused.
 */
export function partitionItems(sid: string, actions: readonly string[], tableArn: string, partitions: string | readonly string[]): IamStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: actions.map((action) => `dynamodb:${action}`),
    Resource: [tableArn],
    Condition: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': typeof partitions === 'string' ? [partitions] : [...partitions] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    },
  };
}

/**
 * The partitions onboarding seeds in a cell (core's `seedCell`: the tenant's counters and its user
 * listing), for any tenant, derived from the key module: `TENANT#*#META`, `TENANT#*#USERS`. Tenant
 * ids never contain `*`, so the sample id marks exactly where the tenant goes.
 */
const SAMPLE_TENANT = 'sample';
export const SEEDED_PARTITIONS: readonly string[] = [tenantMetaKey(SAMPLE_TENANT).PK, tenantUsersPartition(SAMPLE_TENANT)].map((partition) =>
  partition.replace(tenantPartitionPrefix(SAMPLE_TENANT), tenantPartitionPrefix(SAMPLE_TENANT).replace(SAMPLE_TENANT, '*')),
);

function allow(sid: string, actions: readonly string[], resources: readonly string[]): IamStatement {
  return { Sid: sid, Effect: 'Allow', Action: [...actions], Resource: [...resources] };
}

// ── the control plane's own grants ─────────────────────────────────────────────────────────────

export interface ControlPlaneResources {
  /** `aws` (a token in the stack). */
  partition: string;
  region: string;
  tenantsTableArn: string;
  cellsTableArn: string;
  /** The tenant directory. The operator directory appears in no function's grants (DESIGN §13). */
  userPoolArn: string;
  eventBusArn: string;
  /** The SSM parameter where the router's URL is published (read by the router-probing identities). */
  routerUrlParameterArn: string;
  /**
   * How a new user's temporary password reaches them (core identity.ts). `response` — local mode
   * only, there is no mail — sets it with AdminSetUserPassword on a resumed onboarding; `email`,
   * the stacks' setting, has Cognito re-send the invitation and needs no such grant.
   */
  invitationDelivery: 'email' | 'response';
}

/**
 * Each control identity's statements: what its handlers call in core. The Cell stacks (and local
 * cells) add what each may do in one cell: `cellControlGrants`.
 */
export function controlIdentityStatements(r: ControlPlaneResources): Record<ControlIdentity, IamStatement[]> {
  const apikeys = `arn:${r.partition}:apigateway:${r.region}::/apikeys`;
  const usagePlans = `arn:${r.partition}:apigateway:${r.region}::/usageplans`;
  const registryItems = (sid: string, actions: readonly string[]) =>
    allow(
      sid,
      actions.map((action) => `dynamodb:${action}`),
      [r.tenantsTableArn],
    );
  const catalogItems = (sid: string, actions: readonly string[]) =>
    allow(
      sid,
      actions.map((action) => `dynamodb:${action}`),
      [r.cellsTableArn],
    );
  // Placement (Cell.placeTenant): list the small catalog, take a slot with a conditional update (or
  // give it back), and — no dedicated cell being free — promise a catalogued cell that is not
  // deployed yet to the tenant (a `provisioning` record). Onboarding and move requests place.
  const cellPlacement = () => catalogItems('CellPlacement', ['Scan', 'GetItem', 'UpdateItem', 'PutItem']);
  // Lifecycle events (TenantActivated, TenantMoveRequested, TenantRoutingChanged, CellRequested, …)
  // go on the deployment's bus.
  const publishEvents = () => allow('PublishLifecycleEvents', ['events:PutEvents'], [r.eventBusArn]);
  // A repeated change asks which plans hold the key (GetUsagePlans by key id).
  const findKeyUsagePlans = () => allow('FindKeyUsagePlans', ['apigateway:GET'], [usagePlans]);

  const statements: Record<ControlIdentity, IamStatement[]> = {
    // Onboarding (Onboarding.onboard, resumable): idempotency claim, name lease, registry record and
    // audit entry; a slot in a cell; the tenant's API key (found again by name on a retry); the admin
    // user (a fresh invitation on a retry); the routing change, checked through the router.
    onboarding: [
      registryItems('TenantRegistryWrites', ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']),
      cellPlacement(),
      allow(
        'TenantAdminUser',
        // A resumed onboarding re-sends the invitation with AdminCreateUser (MessageAction RESEND).
        // AdminSetUserPassword only where core calls it: with INVITATION_DELIVERY=response, which is
        // local mode's; the stacks set `email`.
        [
          'cognito-idp:AdminGetUser',
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminAddUserToGroup',
          ...(r.invitationDelivery === 'response' ? ['cognito-idp:AdminSetUserPassword'] : []),
        ],
        [r.userPoolArn],
      ),
      // CreateApiKey. Each cell grants attaching keys to its plans.
      allow('TenantApiKey', ['apigateway:POST'], [apikeys]),
      // A resumed onboarding finds the key an earlier attempt created (GetApiKeys by name) and
      // checks which plans hold it (GetUsagePlans by key id) instead of minting a second key.
      allow('FindTenantApiKey', ['apigateway:GET'], [apikeys, usagePlans]),
      publishEvents(),
    ],

    // Operator reads: tenant list (GSI1), one tenant, its audit trail (its registry partition), cells.
    // The catalog, and one cell's entry: a cell's audit trail lists a change whose record is still on it.
    'registry-read': [
      allow('TenantRegistryReads', ['dynamodb:GetItem', 'dynamodb:Query'], [r.tenantsTableArn, `${r.tenantsTableArn}/index/GSI1`]),
      catalogItems('CellCatalogReads', ['Scan', 'GetItem']),
    ],

    // Suspend/reactivate: read and update the record, audit the change, find the tenant's cell. Each
    // cell grants flushing its own authorizer cache.
    'tenant-status': [registryItems('TenantStatusAndAudit', ['GetItem', 'UpdateItem', 'PutItem']), catalogItems('TenantCellLookup', ['GetItem']), publishEvents()],

    // Tier and override changes: read and update the record, audit it, find the tenant's cell. Each
    // cell grants moving keys between its own usage plans and flushing its authorizer cache.
    // A change to or from enterprise changes the kind of cell: it requests a move (placement in a
    // cell of the other kind), which the mover carries out.
    'tenant-plan': [registryItems('TenantPlanAndAudit', ['GetItem', 'UpdateItem', 'PutItem']), cellPlacement(), findKeyUsagePlans(), publishEvents()],

    // Cell settings (capacity, wave, draining): conditional updates of existing catalog entries only.
    // Each change carries its audit record on the entry until it is written to the cell's trail, in
    // the cell's partition of the registry (CELL#…) and nowhere else.
    'cell-admin': [
      catalogItems('CellSettings', ['GetItem', 'UpdateItem']),
      partitionItems(
        'CellAuditTrail',
        ['PutItem'],
        r.tenantsTableArn,
        anyPartition((cellId) => cellPartition(cellId), 'cell-sample'),
      ),
    ],

    // Sign-in calls Cognito's public InitiateAuth, which needs no IAM permission.
    'sign-in': [],

    // Move requests (TenantMove.request; drainCell requests one per tenant of a draining cell):
    // validate, take a slot in the target cell, record the move on the tenant and audit it, mark a
    // drained cell draining, and publish TenantMoveRequested. No tenant data, no API Gateway.
    'move-request': [registryItems('MoveRecordAndAudit', ['GetItem', 'UpdateItem', 'PutItem']), cellPlacement(), publishEvents()],

    // The mover (TenantMove.run, on TenantMoveRequested): freezes, copies, verifies and purges the
    // tenant's items through each cell's tenant access role tagged with the tenant (granted by each
    // cell, with attaching the key to its plans and flushing its authorizer cache), switches the
    // registry record, gives back the source slot, and checks the new route through the router.
    // Joining the target's plan answers ConflictException when the key is already there: GetUsagePlans tells.
    'tenant-mover': [
      registryItems('MoveStateAndAudit', ['GetItem', 'UpdateItem', 'PutItem']),
      catalogItems('MoveCells', ['GetItem', 'UpdateItem']),
      findKeyUsagePlans(),
      publishEvents(),
    ],

    // Offboarding (Offboarding.offboard, resumable; also cancels abandoned onboardings): the registry
    // record's steps and tombstone, the audit entry, and the release of the tenant's name and its
    // admin e-mail (their TENANTNAME# and ADMINEMAIL# items, nothing else); the tenant's API key; its users; its slot. Its cell items are
    // purged through the cell's tenant access role (granted by each cell, with flushing its
    // authorizer cache).
    'tenant-offboarding': [
      registryItems('OffboardingStepsAndAudit', ['GetItem', 'UpdateItem', 'PutItem']),
      partitionItems(
        'ReleaseTenantName',
        ['DeleteItem'],
        r.tenantsTableArn,
        anyPartition((name) => tenantNameKey(name).PK),
      ),
      // The admin e-mail's reservation (its ADMINEMAIL# item, a conditional delete: only if this
      // tenant holds it) goes too, so a new tenant may use the address again.
      partitionItems(
        'ReleaseAdminEmail',
        ['DeleteItem'],
        r.tenantsTableArn,
        anyPartition((email) => adminEmailKey(email).PK, 'sample@example.com'),
      ),
      // Scan: a cancelled onboarding may hold a slot its record never learned of (Cell.findSlot).
      catalogItems('OffboardingCells', ['GetItem', 'UpdateItem', 'Scan']),
      // The reaper finds abandoned onboardings in the tenant listing (GSI1, filtered to PENDING).
      allow('ListTenants', ['dynamodb:Query'], [`${r.tenantsTableArn}/index/GSI1`]),
      // A cancelled onboarding may have created its key without recording it: GetApiKeys by name.
      allow('FindTenantApiKey', ['apigateway:GET'], [apikeys]),
      allow('RemoveTenantUsers', ['cognito-idp:AdminGetUser', 'cognito-idp:AdminUserGlobalSignOut', 'cognito-idp:AdminDeleteUser'], [r.userPoolArn]),
      // DeleteApiKey (which also takes the key off every usage plan).
      allow('RevokeTenantApiKey', ['apigateway:DELETE'], [`${apikeys}/*`]),
      publishEvents(),
    ],

    // Export (Offboarding.exportPage): read only — the tenant's registry partition (record, audit
    // trail, workflow logs; not name reservations or idempotency records), its cell's catalog entry,
    // and its cell items through the cell's tenant access role (granted by each cell).
    'tenant-export': [
      partitionItems(
        'ReadTenantRegistryPartition',
        ['GetItem', 'Query'],
        r.tenantsTableArn,
        anyPartition((tenantId) => tenantRegistryPartition(tenantId)),
      ),
      catalogItems('TenantCellLookup', ['GetItem']),
    ],

    // The identity broker: the one role through which the cells reach their tenants' users — in the
    // tenant pool only. It reads the registry and the catalog to check that the calling cell's
    // tenant session names a tenant that is ACTIVE and placed in that very cell.
    'identity-broker': [
      registryItems('TenantPlacementCheck', ['GetItem']),
      catalogItems('CallingCellLookup', ['Scan']),
      allow('TenantUsersOnly', ['cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup', 'cognito-idp:AdminGetUser', 'cognito-idp:AdminDeleteUser'], [r.userPoolArn]),
    ],
  };

  // The router's URL, for the handlers that check a tenant's route through it: the Router stack
  // publishes it under this name once deployed (it is created after the control plane).
  for (const identity of ROUTER_PROBING_IDENTITIES) {
    statements[identity].push(allow('ReadRouterUrl', ['ssm:GetParameter'], [r.routerUrlParameterArn]));
  }
  return statements;
}

// ── what the control plane may do in one cell ──────────────────────────────────────────────────

export interface CellGrantResources {
  partition: string;
  region: string;
  /** The cell's table. */
  cellTableArn: string;
  /** The cell's tenant access role. */
  tenantAccessRoleArn: string;
  /** The cell's REST API and stage (for its authorizer cache). */
  restApiId: string;
  stageName: string;
  /** The cell's usage plan of each tier. */
  usagePlanIds: Readonly<Record<TierName, string>>;
}

/**
 * What each control identity may do in one cell, and nothing more: the Cell stack attaches these to
 * the control plane's roles, and a local cell does the same when it boots. An identity that needs
 * nothing in a cell has no statement.
 */
export function cellControlGrants(r: CellGrantResources): Record<ControlIdentity, IamStatement[]> {
  const planKeys = TIER_NAMES.map((tier) => `arn:${r.partition}:apigateway:${r.region}::/usageplans/${r.usagePlanIds[tier]}/keys`);
  // FlushStageAuthorizersCache: a suspension, tier change, move or offboarding applies on the
  // tenant's next request.
  const flushAuthorizerCache = () =>
    allow('FlushCellAuthorizerCache', ['apigateway:DELETE'], [`arn:${r.partition}:apigateway:${r.region}::/restapis/${r.restApiId}/stages/${r.stageName}/cache/authorizers`]);
  // The cell's tenant access role trusts these identities; each may also assume it, and nothing else of the cell's.
  const assumeTenantAccess = () => allow('AssumeTenantAccess', ['sts:AssumeRole', 'sts:TagSession'], [r.tenantAccessRoleArn]);
  const attachKeyToPlans = () => allow('AttachTenantKeyToCellPlans', ['apigateway:POST'], planKeys);

  const grants: Record<ControlIdentity, IamStatement[]> = {
    onboarding: [
      attachKeyToPlans(),
      // Onboarding seeds a tenant's counters and user listing (conditional puts, so a retry keeps
      // what is there); it can neither read tenant data nor touch any other partition, such as cases.
      partitionItems('SeedTenantDefaults', ['PutItem'], r.cellTableArn, SEEDED_PARTITIONS),
    ],
    'registry-read': [],
    'tenant-status': [flushAuthorizerCache()],
    'tenant-plan': [
      flushAuthorizerCache(),
      // A tier change moves the tenant's key from one of this cell's usage plans to another.
      allow(
        'MoveTenantKeyBetweenCellPlans',
        ['apigateway:POST', 'apigateway:DELETE'],
        planKeys.flatMap((keys) => [keys, `${keys}/*`]),
      ),
    ],
    'cell-admin': [],
    'sign-in': [],
    'move-request': [],
    'tenant-mover': [
      assumeTenantAccess(),
      flushAuthorizerCache(),
      // A tenant moving in: its key joins this cell's plan for its tier.
      attachKeyToPlans(),
      // A tenant that left this cell two moves ago: its key leaves this cell's plan.
      allow(
        'DetachTenantKeyFromCellPlans',
        ['apigateway:DELETE'],
        planKeys.map((keys) => `${keys}/*`),
      ),
    ],
    'tenant-offboarding': [assumeTenantAccess(), flushAuthorizerCache()],
    'tenant-export': [assumeTenantAccess()],
    'identity-broker': [],
  };
  return grants;
}

// ── the cell's own functions ───────────────────────────────────────────────────────────────────

/**
 * The cell's API handlers hold no table permission at all: tenant data is reachable only through
 * the tenant access role, assumed per request with the caller's tenant as session tag. No
 * user-directory permission either: tenant admins' invitations go through the control plane's
 * identity broker, signed with the tenant's session (DESIGN §13).
 */
export function cellApiStatements({ tenantAccessRoleArn }: { tenantAccessRoleArn: string }): IamStatement[] {
  return [allow('AssumeTenantAccess', ['sts:AssumeRole', 'sts:TagSession'], [tenantAccessRoleArn])];
}

/** The cell's authorizer reads one tenant's registry record per token (status, tier, API key). */
export function cellAuthorizerStatements({ tenantsTableArn }: { tenantsTableArn: string }): IamStatement[] {
  return [allow('ReadTenantRegistry', ['dynamodb:GetItem'], [tenantsTableArn])];
}
