import { IdentityBroker, tenantAccessPolicy, tenantAccessTrustPolicy } from '@cellbook/core';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type PolicyDocument, type RoleDefinition } from './aws/types.js';

/**
 * The local account's IAM roles — what the stacks create in AWS. Data-plane functions get no
 * table permissions at all: only `sts:AssumeRole`/`sts:TagSession` on their cell's tenant access
 * role, whose policy comes from the same builder the Cell stack uses.
 */
export function roleArn(name: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`;
}

export function tableArn(tableName: string): string {
  return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName}`;
}

function lambdaTrust(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

function role(name: string, statements: PolicyDocument['Statement'], trustPolicy: PolicyDocument = lambdaTrust()): RoleDefinition {
  return {
    name,
    arn: roleArn(name),
    policies: [{ name: `${name}-policy`, document: { Version: '2012-10-17', Statement: statements } }],
    trustPolicy,
  };
}

/** Stands in for the deployer (CloudFormation's role): creates tables, registers cells. */
export function platformAdminRole(prefix: string): RoleDefinition {
  return role(`${prefix}-platform-admin`, [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
}

export interface ControlRoleInput {
  prefix: string;
  tenantsTable: string;
  cellsTable: string;
  /** Every cell's table, present and future: a name pattern (cells are created after the control plane). */
  cellTables: string;
  userPoolArn: string;
  eventBusArn: string;
}

/** The control-plane functions: registry and catalog, seeding cell defaults, users, API keys. */
export function controlRoleArn(prefix: string): string {
  return roleArn(`${prefix}-control`);
}

export function controlRole(input: ControlRoleInput): RoleDefinition {
  const registry = [input.tenantsTable, input.cellsTable].flatMap((t) => [tableArn(t), `${tableArn(t)}/index/*`]);
  return role(`${input.prefix}-control`, [
    {
      Sid: 'Registry',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan'],
      Resource: registry,
    },
    // Seeding a new tenant's defaults, and removing them again if its onboarding is undone.
    { Sid: 'SeedCellDefaults', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: tableArn(input.cellTables) },
    {
      Sid: 'TenantUsers',
      Effect: 'Allow',
      Action: [
        'cognito-idp:AdminCreateUser',
        'cognito-idp:AdminAddUserToGroup',
        'cognito-idp:AdminGetUser',
        'cognito-idp:AdminDeleteUser',
        'cognito-idp:AdminSetUserPassword',
        'cognito-idp:AdminUserGlobalSignOut',
      ],
      Resource: input.userPoolArn,
    },
    {
      Sid: 'TenantApiKeys',
      Effect: 'Allow',
      Action: ['apigateway:POST', 'apigateway:GET', 'apigateway:DELETE'],
      Resource: [
        `arn:aws:apigateway:${LOCAL_REGION}::/apikeys`,
        `arn:aws:apigateway:${LOCAL_REGION}::/apikeys/*`,
        `arn:aws:apigateway:${LOCAL_REGION}::/usageplans`,
        `arn:aws:apigateway:${LOCAL_REGION}::/usageplans/*/keys`,
        `arn:aws:apigateway:${LOCAL_REGION}::/usageplans/*/keys/*`,
      ],
    },
    // Moving, exporting and purging one tenant's data: through each cell's tenant access role,
    // tagged with that tenant, so the data layer keeps the work inside the one tenant.
    {
      Sid: 'AssumeCellTenantAccess',
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Resource: roleArn(`${input.prefix}-*-tenant-access`),
    },
    { Sid: 'PublishLifecycleEvents', Effect: 'Allow', Action: ['events:PutEvents'], Resource: input.eventBusArn },
    {
      Sid: 'FlushCellAuthorizerCaches',
      Effect: 'Allow',
      Action: ['apigateway:DELETE'],
      Resource: `arn:aws:apigateway:${LOCAL_REGION}::/restapis/*/stages/*/cache/authorizers`,
    },
  ]);
}

export interface CellRoles {
  api: RoleDefinition;
  authorizer: RoleDefinition;
  tenantAccess: RoleDefinition;
}

export function cellRoles(input: {
  prefix: string;
  cellId: string;
  tableName: string;
  tenantsTable: string;
  /** `arn:aws:execute-api:<region>:<account>:<control api id>/<stage>`: where the identity broker lives. */
  controlApiStageArn: string;
  /** The control plane's role, which works on one tenant's data at a time through the same role. */
  controlRoleArn: string;
}): CellRoles {
  const name = `${input.prefix}-${input.cellId}`;
  const tenantAccessArn = roleArn(`${name}-tenant-access`);
  // No user-directory permission: tenant users are managed through the control plane's identity
  // broker, called with the tenant's own session (DESIGN §13).
  const api = role(`${name}-api`, [
    { Sid: 'AssumeTenantAccess', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: tenantAccessArn },
  ]);
  const authorizer = role(`${name}-authorizer`, [
    { Sid: 'ReadTenantRegistry', Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: tableArn(input.tenantsTable) },
  ]);
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
    // The stack's trust: exactly one session tag, the tenant id, not empty (one builder in core).
    trustPolicy: tenantAccessTrustPolicy({ principalArns: [api.arn, input.controlRoleArn] }) as unknown as PolicyDocument,
  };
  return { api, authorizer, tenantAccess };
}
