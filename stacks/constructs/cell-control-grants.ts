import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as apig from 'aws-cdk-lib/aws-apigateway';
import type { Stack } from 'sst/constructs';
import { cellControlGrants as cellControlGrantStatements } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';

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
  'release-driver': 'ReleaseProbeAccess',
  'usage-snapshot': 'UsageSnapshotAccess',
  'identity-broker': 'IdentityBrokerAccess',
};

export interface CellControlGrantsProps {
  cellId: string;
  table: dynamodb.ITable;
  tenantAccessRole: iam.IRole;
  restApi: apig.RestApi;
  usagePlans: Record<TierName, apig.UsagePlan>;
  /** Each control identity's role, to which its policy is attached. */
  controlRoles: Readonly<Record<ControlIdentity, iam.IRole>>;
}

/** What the control plane may do in this cell, and nothing more: one policy per control identity. */
export function cellControlGrants(stack: Stack, { cellId, table, tenantAccessRole, restApi, usagePlans, controlRoles }: CellControlGrantsProps) {
  const grants = cellControlGrantStatements({
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
      roles: [controlRoles[identity]],
      statements: statements.map((statement) => iam.PolicyStatement.fromJson(statement)),
    });
  }
  return grantPolicies;
}
