import { PROBE_NAME_PREFIX } from '../releases/probe-identity.js';
import { TIER_NAMES, type TierName } from '../tenancy/tiers.js';
import type { ControlIdentity } from './control-identities.js';
import { SEEDED_PARTITIONS, allow, partitionItems, type IamStatement } from './iam.js';

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
    // A user's removal, sign-out, reset or role change applies on the user's next request.
    'identity-broker': [flushAuthorizerCache()],
    'export-request': [],
    'release-admin': [],
    // The probe tenant's onboarding in this cell, as onboarding's: its key on the cell's plans, its seeded defaults.
    'release-driver': [
      attachKeyToPlans(),
      // Probe tenants' ids start `probe-` (onboarding refuses it to customers): their seeded partitions only.
      partitionItems(
        'SeedProbeTenantDefaults',
        ['PutItem'],
        r.cellTableArn,
        SEEDED_PARTITIONS.map((partition) => partition.replace('*', `${PROBE_NAME_PREFIX}*`)),
      ),
    ],
    // Metering and usage reads work on the control plane's ledger only; cells deliver their logs to it.
    metering: [],
    'usage-read': [],
    // The hourly snapshot reads each tenant's items (counters, users, cases) as that tenant.
    'usage-snapshot': [assumeTenantAccess()],
  };
  return grants;
}

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
