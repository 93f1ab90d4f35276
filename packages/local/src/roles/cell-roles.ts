/** A cell's roles in the local account, and the policies it puts on the control roles, as the Cell stack does. */
import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import * as UsageBroker from '@cellbook/core/metering/usage-broker';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, TENANT_ACCESS_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { tenantAccessPolicy, tenantAccessTrustPolicy } from '@cellbook/core/access/tenant-access-policy';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import { LOCAL_REGION, type PolicyDocument, type RoleDefinition } from '../aws/types.js';
import { controlRoleArn } from './control-roles.js';
import { PARTITION, bucketArn, functionRole, localPolicyDocument, roleArn, tableArn } from './role-definition.js';

export interface CellRoles {
  api: RoleDefinition;
  authorizer: RoleDefinition;
  tenantAccess: RoleDefinition;
}

export interface CellRolesInput {
  prefix: string;
  cellId: string;
  tableName: string;
  /** The cell's evidence bucket, whose `tenant=<id>/` prefixes the tenant access role reaches. */
  bucketName: string;
  tenantsTable: string;
  /** `arn:aws:execute-api:<region>:<account>:<control api id>/<stage>`: where the identity broker lives. */
  controlApiStageArn: string;
}

/**
 * Who may open a tenant session in this cell: its API functions and the control identities that
 * work on one tenant's cell data at a time (core's TENANT_ACCESS_IDENTITIES, as the Cell stack
 * trusts them) — each only with exactly one non-empty TenantId tag (core's builder).
 */
export interface TenantAccessTrustInput {
  prefix: string;
  cellId: string;
  /** The drill role, once a drill asked for it: it opens tenant sessions as the control identities do. */
  drillRoleArn?: string;
}

export function tenantAccessTrust(input: TenantAccessTrustInput): PolicyDocument {
  const principalArns = [
    roleArn(`${input.prefix}-${input.cellId}-api`),
    ...TENANT_ACCESS_IDENTITIES.map((identity) => controlRoleArn(input.prefix, identity)),
    ...(input.drillRoleArn ? [input.drillRoleArn] : []),
  ];
  return tenantAccessTrustPolicy({ principalArns }) as unknown as PolicyDocument;
}

export function cellRoles(input: CellRolesInput): CellRoles {
  const name = `${input.prefix}-${input.cellId}`;
  const tenantAccessArn = roleArn(`${name}-tenant-access`);
  const api = functionRole(`${name}-api`, cellApiStatements({ tenantAccessRoleArn: tenantAccessArn }));
  const authorizer = functionRole(`${name}-authorizer`, cellAuthorizerStatements({ tenantsTableArn: tableArn(input.tenantsTable) }));
  const policy = tenantAccessPolicy({ tableArn: tableArn(input.tableName), bucketArn: bucketArn(input.bucketName) });
  const tenantAccess: RoleDefinition = {
    name: `${name}-tenant-access`,
    arn: tenantAccessArn,
    policies: [
      { name: 'tenant-items-and-objects-only', document: policy as unknown as PolicyDocument },
      {
        name: 'own-tenant-users-through-broker',
        document: IdentityBroker.identityBrokerInvokePolicy({ apiStageArn: input.controlApiStageArn }) as unknown as PolicyDocument,
      },
      {
        name: 'own-tenant-usage-through-broker',
        document: UsageBroker.usageBrokerInvokePolicy({ apiStageArn: input.controlApiStageArn }) as unknown as PolicyDocument,
      },
    ],
    trustPolicy: tenantAccessTrust(input),
  };
  return { api, authorizer, tenantAccess };
}

export interface CellGrantsInput {
  prefix: string;
  cellId: string;
  tableName: string;
  tenantAccessRoleArn: string;
  restApiId: string;
  stage: string;
  usagePlans: Readonly<Record<TierName, string>>;
}

/**
 * What each control identity may do in this cell (core's `cellControlGrants`), as the policies a
 * booting cell puts on the control roles — the Cell stack's OnboardingWorkerAccess, TenantMoverAccess,
 * … Identities that need nothing in a cell get no policy.
 */
export function cellControlPolicies(input: CellGrantsInput): { identity: ControlIdentity; policyName: string; document: PolicyDocument }[] {
  const grants = cellControlGrants({
    partition: PARTITION,
    region: LOCAL_REGION,
    cellTableArn: tableArn(input.tableName),
    tenantAccessRoleArn: input.tenantAccessRoleArn,
    restApiId: input.restApiId,
    stageName: input.stage,
    usagePlanIds: input.usagePlans,
  });
  return CONTROL_IDENTITY_NAMES.filter((identity) => grants[identity].length > 0).map((identity) => ({
    identity,
    policyName: `${input.prefix}-${input.cellId}-access`,
    document: localPolicyDocument(grants[identity]),
  }));
}
