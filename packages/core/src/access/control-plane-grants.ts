/** What each control-plane identity may do in the control plane's own resources (registry, catalog, directories, bus). */
import {
  adminEmailKey,
  cellPartition,
  idempotencyKey,
  releasePartition,
  tenantNameKey,
  tenantPartitionPrefix,
  tenantRegistryPartition,
  tenantUserStandingPartition,
} from '../keys/keys.js';
import { PROBE_ACTOR, PROBE_NAME_PREFIX } from '../releases/probe-identity.js';
import { tenantNameSkeleton } from '../tenants/tenant-name.js';
import { ROUTER_PROBING_IDENTITIES, type ControlIdentity } from './control-identities.js';
import { allow, anyPartition, partitionItems, type IamStatement } from './iam.js';

export interface ControlPlaneResources {
  /** `aws` (a token in the stack). */
  partition: string;
  region: string;
  tenantsTableArn: string;
  cellsTableArn: string;
  /** The usage ledger (DESIGN §10): PK/SK, GSI1 by period. */
  usageTableArn: string;
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
/** A tenant id that marks where `*` goes in a partition pattern (tenant ids never contain `*`). */
const SAMPLE_TENANT = 'sample';

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
  // The releases' manifests, rollouts and lease: the registry's RELEASE# partitions only.
  const releaseRecords = (actions: readonly string[]) =>
    partitionItems(
      'ReleaseRecords',
      actions,
      r.tenantsTableArn,
      anyPartition((releaseId) => releasePartition(releaseId), 'r-0000000000000000'),
    );
  // Counting usage in the ledger (core's ingestUsage): one transaction of entries put only if absent,
  // the aggregates they add to, and a check that a correction's entry exists. Nothing read, nothing deleted.
  const ledgerWrites = () =>
    allow(
      'UsageLedgerWrites',
      ['PutItem', 'UpdateItem', 'ConditionCheckItem'].map((action) => `dynamodb:${action}`),
      [r.usageTableArn],
    );
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
    // and its cell items through the cell's tenant access role (granted by each cell); and the bytes each
    // page carries out, counted in the usage ledger as metering counts events (core's ingestUsage).
    'tenant-export': [
      partitionItems(
        'ReadTenantRegistryPartition',
        ['GetItem', 'Query'],
        r.tenantsTableArn,
        anyPartition((tenantId) => tenantRegistryPartition(tenantId)),
      ),
      catalogItems('TenantCellLookup', ['GetItem']),
      ledgerWrites(),
    ],

    // The identity broker: the one role through which the cells reach their tenants' users — in the
    // tenant pool only. It reads the registry and the catalog to check that the calling cell's
    // tenant session names a tenant that is ACTIVE and placed in that very cell.
    // A user's removal, sign-out, password reset or role change is also written to the user's
    // standing (TENANT#<id>#STANDING partitions of the registry, nothing else), which the cells'
    // authorizers read; each cell grants flushing its own authorizer cache. A reset of a user who
    // has signed in makes their password temporary again (AdminSetUserPassword) and re-sends the
    // invitation (AdminCreateUser, MessageAction RESEND).
    'identity-broker': [
      registryItems('TenantPlacementCheck', ['GetItem']),
      catalogItems('CallingCellLookup', ['Scan']),
      partitionItems('TenantUserStanding', ['UpdateItem'], r.tenantsTableArn, [
        tenantUserStandingPartition(SAMPLE_TENANT).replace(tenantPartitionPrefix(SAMPLE_TENANT), tenantPartitionPrefix(SAMPLE_TENANT).replace(SAMPLE_TENANT, '*')),
      ]),
      allow(
        'TenantUsersOnly',
        [
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminAddUserToGroup',
          'cognito-idp:AdminGetUser',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminRemoveUserFromGroup',
          'cognito-idp:AdminUserGlobalSignOut',
          'cognito-idp:AdminSetUserPassword',
        ],
        [r.userPoolArn],
      ),
    ],

    // The export broker: checks that the calling cell's tenant session names a tenant that is ACTIVE,
    // placed in that very cell and on a plan with export (the registry and the catalog), then
    // publishes TenantExportRequested. No tenant data: the exporter (tenant-export) does the work.
    'export-request': [registryItems('TenantPlacementCheck', ['GetItem']), catalogItems('CallingCellLookup', ['Scan']), publishEvents()],

    // Releases (DESIGN §9). Starting one: plan from the catalog, record the manifest and the rollout
    // and take the one-release lease (RELEASE# partitions of the registry, nothing else); abort and
    // rollback update the rollout. The driver does the deploying.
    'release-admin': [releaseRecords(['GetItem', 'PutItem', 'DeleteItem']), catalogItems('ReleasePlanCells', ['Scan'])],

    // The release driver (Orchestrator.advanceActiveRelease): the rollout and the lease; each cell's
    // recorded release (a conditional update of existing catalog entries) and its audit trail; the
    // release events. Its probe (releases/probe.ts) onboards one synthetic tenant per cell, pinned
    // there without taking a slot (onboarding's registry writes, key and admin user), sets that
    // user's password itself and signs in through the router.
    'release-driver': [
      releaseRecords(['GetItem', 'PutItem', 'DeleteItem']),
      catalogItems('ReleaseCells', ['Scan', 'GetItem', 'UpdateItem']),
      partitionItems(
        'CellReleaseAuditTrail',
        ['PutItem'],
        r.tenantsTableArn,
        anyPartition((cellId) => cellPartition(cellId), 'cell-sample'),
      ),
      // The probe tenants' registry partitions only (onboarding refuses customers a `probe-` id):
      // their records and audit, name leases, admin e-mails and the probe's idempotency records.
      partitionItems('ProbeTenantOnboarding', ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], r.tenantsTableArn, [
        `${anyPartition((tenantId) => tenantRegistryPartition(tenantId)).slice(0, -1)}${PROBE_NAME_PREFIX}*`,
        `${tenantNameKey(tenantNameSkeleton(PROBE_NAME_PREFIX)).PK}*`,
        `${adminEmailKey('probe+').PK}*`,
        `${idempotencyKey(PROBE_ACTOR, '').PK}*`,
      ]),
      allow(
        'ProbeTenantUser',
        ['cognito-idp:AdminGetUser', 'cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup', 'cognito-idp:AdminSetUserPassword'],
        [r.userPoolArn],
      ),
      allow('ProbeTenantApiKey', ['apigateway:POST'], [apikeys]),
      allow('FindProbeTenantApiKey', ['apigateway:GET'], [apikeys, usagePlans]),
      publishEvents(),
    ],

    // Metering (control/usage-ingest, DESIGN §10): counts the cells' usage events in the ledger exactly
    // once per idempotency key (a conditional dedupe item and the aggregates it adds to, in one
    // transaction), and reads a tenant's registry record to check that the cell reporting its usage is
    // the one it is placed in (or moved from). Nothing else: no catalog, no cell, no bus.
    metering: [ledgerWrites(), registryItems('TenantPlacementCheck', ['GetItem'])],

    // Operator reads of usage, cost and SLOs: the ledger (a tenant's rows, every tenant's rows of a
    // period by GSI1), the registry (tenants' records and listing) and the catalog (cells' fixed costs
    // and capacity). Reads only.
    'usage-read': [
      allow('UsageLedgerReads', ['dynamodb:GetItem', 'dynamodb:Query'], [r.usageTableArn, `${r.usageTableArn}/index/GSI1`]),
      allow('TenantRegistryReads', ['dynamodb:GetItem', 'dynamodb:Query'], [r.tenantsTableArn, `${r.tenantsTableArn}/index/GSI1`]),
      catalogItems('CellCatalogReads', ['Scan', 'GetItem']),
    ],

    // The hourly snapshot (UsageSnapshot.snapshotActiveTenants): list active tenants (GSI1), find each
    // one's cell, and count its snapshot in the ledger as metering counts events (core's ingestUsage:
    // the same ledger writes). Its cell items are read through each cell's tenant access role
    // (granted by each cell), tagged with the tenant.
    'usage-snapshot': [allow('ListTenants', ['dynamodb:Query'], [`${r.tenantsTableArn}/index/GSI1`]), catalogItems('TenantCellLookup', ['GetItem']), ledgerWrites()],
  };

  // The router's URL, for the handlers that check a tenant's route through it: the Router stack
  // publishes it under this name once deployed (it is created after the control plane).
  for (const identity of ROUTER_PROBING_IDENTITIES) {
    statements[identity].push(allow('ReadRouterUrl', ['ssm:GetParameter'], [r.routerUrlParameterArn]));
  }
  return statements;
}
