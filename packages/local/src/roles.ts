import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, TENANT_ACCESS_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { policyDocument, type IamStatement } from '@cellbook/core/access/iam';
import { tenantAccessPolicy, tenantAccessTrustPolicy } from '@cellbook/core/access/tenant-access-policy';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type PolicyDocument, type RoleDefinition } from './aws/types.js';

/**
 * The local account's IAM roles — what the stacks create in AWS, rendered from the same
 * definitions (core's access/ modules: the control identities, their grants and the tenant access policy) with local ARNs, so the two
 * cannot drift (issue 12, item 7). Nothing here writes a grant of its own, except the deployer's
 * stand-in and the drill role, which has no counterpart in AWS and which no function runs under.
 */
export function roleArn(name: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`;
}

export function tableArn(tableName: string): string {
  return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName}`;
}

/** The partition of every local ARN. */
const PARTITION = 'aws';

function lambdaTrust(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

/** Core's statements as a local policy document (the two shapes are the same JSON). */
function document(statements: readonly IamStatement[]): PolicyDocument {
  return policyDocument(statements) as PolicyDocument;
}

/** A function role: one inline policy with `statements`, none at all when there are none (as CDK synthesizes it). */
function role(name: string, statements: readonly IamStatement[], trustPolicy: PolicyDocument = lambdaTrust()): RoleDefinition {
  return {
    name,
    arn: roleArn(name),
    policies: statements.length === 0 ? [] : [{ name: `${name}-policy`, document: document(statements) }],
    trustPolicy,
  };
}

/** Stands in for the deployer (CloudFormation's role): creates tables, registers cells. */
export function platformAdminRole(prefix: string): RoleDefinition {
  return {
    name: `${prefix}-platform-admin`,
    arn: roleArn(`${prefix}-platform-admin`),
    policies: [{ name: `${prefix}-platform-admin-policy`, document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
    trustPolicy: lambdaTrust(),
  };
}

// ── control plane ──────────────────────────────────────────────────────────────────────────────

/** One role per control identity, as the ControlPlane stack creates them. */
export function controlRoleArn(prefix: string, identity: ControlIdentity): string {
  return roleArn(`${prefix}-control-${identity}`);
}

export interface ControlRolesInput {
  prefix: string;
  /** The stage's name: the router URL parameter's name follows the stack's `/<app>/<stage>/router-url`. */
  stage: string;
  tenantsTable: string;
  cellsTable: string;
  userPoolArn: string;
  eventBusArn: string;
}

/**
 * The control identities' roles with core's statements. Local mode hands a new user's temporary
 * password back (INVITATION_DELIVERY=response), so a resumed onboarding sets it with
 * AdminSetUserPassword, which core grants for that delivery only. The router-probing identities'
 * grant on the router URL parameter is rendered too, though local mode passes the URL directly
 * (there is no SSM here): it names the parameter the stack's would.
 */
export function controlRoles(input: ControlRolesInput): Record<ControlIdentity, RoleDefinition> {
  const statements = controlIdentityStatements({
    partition: PARTITION,
    region: LOCAL_REGION,
    tenantsTableArn: tableArn(input.tenantsTable),
    cellsTableArn: tableArn(input.cellsTable),
    userPoolArn: input.userPoolArn,
    eventBusArn: input.eventBusArn,
    routerUrlParameterArn: `arn:${PARTITION}:ssm:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:parameter/cellbook/${input.stage}/router-url`,
    invitationDelivery: 'response',
  });
  const roles = {} as Record<ControlIdentity, RoleDefinition>;
  for (const identity of CONTROL_IDENTITY_NAMES) roles[identity] = role(`${input.prefix}-control-${identity}`, statements[identity]);
  return roles;
}

/** The operator authorizer verifies tokens only: no AWS access, as the stack's OperatorAuthorizerRole. */
export function operatorAuthorizerRole(prefix: string): RoleDefinition {
  return role(`${prefix}-operator-authorizer`, []);
}

/**
 * Drills and benchmarks run core's control-plane code in-process, several identities' code in one
 * process (its SDK clients are created once, with one set of credentials). This role holds exactly
 * the union of the control identities' grants — each identity's policy, by name, and each cell's
 * grants as the cell adds them — and nothing else. It has no counterpart in AWS and no function
 * runs under it; the platform creates it only when a drill asks for it.
 */
export function controlDrillRoleArn(prefix: string): string {
  return roleArn(`${prefix}-control-drills`);
}

export function controlDrillRole(prefix: string, roles: Readonly<Record<ControlIdentity, RoleDefinition>>): RoleDefinition {
  return {
    name: `${prefix}-control-drills`,
    arn: controlDrillRoleArn(prefix),
    policies: CONTROL_IDENTITY_NAMES.flatMap((identity) => roles[identity].policies.map((policy) => ({ name: identity, document: policy.document }))),
    trustPolicy: lambdaTrust(),
  };
}

// ── cells ──────────────────────────────────────────────────────────────────────────────────────

export interface CellRoles {
  api: RoleDefinition;
  authorizer: RoleDefinition;
  tenantAccess: RoleDefinition;
}

export interface CellRolesInput {
  prefix: string;
  cellId: string;
  tableName: string;
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
  const api = role(`${name}-api`, cellApiStatements({ tenantAccessRoleArn: tenantAccessArn }));
  const authorizer = role(`${name}-authorizer`, cellAuthorizerStatements({ tenantsTableArn: tableArn(input.tenantsTable) }));
  const policy = tenantAccessPolicy({ tableArn: tableArn(input.tableName) });
  const tenantAccess: RoleDefinition = {
    name: `${name}-tenant-access`,
    arn: tenantAccessArn,
    policies: [
      { name: 'tenant-items-only', document: policy as unknown as PolicyDocument },
      {
        name: 'own-tenant-users-through-broker',
        document: IdentityBroker.identityBrokerInvokePolicy({ apiStageArn: input.controlApiStageArn }) as unknown as PolicyDocument,
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
    document: document(grants[identity]),
  }));
}
