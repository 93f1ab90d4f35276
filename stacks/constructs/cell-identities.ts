import { Duration } from 'aws-cdk-lib';
import type * as apig from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Stack } from 'sst/constructs';
import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import * as UsageBroker from '@cellbook/core/metering/usage-broker';
import { cellApiStatements, cellAuthorizerStatements } from '@cellbook/core/access/cell-grants';
import { TENANT_ACCESS_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { TENANT_TAG_KEY, tenantAccessPolicy, tenantSessionConditions } from '@cellbook/core/access/tenant-access-policy';
import { functionRole } from './functions.js';

export interface CellIdentitiesProps {
  cellId: string;
  /** The cell's own table. */
  table: dynamodb.ITable;
  /** The cell's evidence bucket: reachable by tenant sessions only, each under its own prefix. */
  bucket: s3.IBucket;
  /** The control plane's tenant registry, which the authorizer reads. */
  tenantsTable: dynamodb.ITable;
  /** The control plane's API, where the identity broker serves the cells (DESIGN §13). */
  controlRestApi: apig.RestApi;
  /** Each control identity's role: those that work on one tenant's data assume the tenant access role. */
  controlRoles: Readonly<Record<ControlIdentity, iam.IRole>>;
}

/**
 * The cell's identities: the API handlers' role, which holds no table permission at all (tenant data
 * is reachable only through the tenant access role, assumed per request with the caller's tenant as
 * session tag), the authorizer's, the public routes', and the tenant access role itself.
 */
export function cellIdentities(stack: Stack, { cellId, table, bucket, tenantsTable, controlRestApi, controlRoles }: CellIdentitiesProps) {
  const apiRole = functionRole(stack, 'ApiFunctionRole', `Cell ${cellId} API handlers: no table access of their own`);
  const authorizerRole = functionRole(stack, 'AuthorizerFunctionRole', `Cell ${cellId} authorizer: reads the tenant registry`);
  // The public routes (the health check) answer without a tenant: their role holds nothing.
  const publicRouteRole = functionRole(stack, 'PublicRouteFunctionRole', `Cell ${cellId} public routes (health check): no AWS access beyond its logs`);
  // Who may act on one tenant's items here, and only as that tenant (exactly one session tag, the
  // tenant id): this cell's API functions, and the control plane's mover, offboarding and export,
  // which work on one tenant's data at a time through this same role.
  // One builder in core, which the local platform's trust policy uses too.
  const tenantSession: Record<string, unknown> = { ...tenantSessionConditions() };
  const controlApiStageArn = `arn:${stack.partition}:execute-api:${stack.region}:${stack.account}:${controlRestApi.restApiId}/${controlRestApi.deploymentStage.stageName}`;
  const tenantAccessRole = new iam.Role(stack, 'TenantAccessRole', {
    description: `Cell ${cellId}: the items, evidence objects and users of the tenant named by session tag ${TENANT_TAG_KEY}, nothing else`,
    assumedBy: new iam.ArnPrincipal(apiRole.roleArn).withSessionTags().withConditions(tenantSession),
    maxSessionDuration: Duration.hours(1),
    inlinePolicies: {
      'tenant-items-and-objects-only': iam.PolicyDocument.fromJson(tenantAccessPolicy({ tableArn: table.tableArn, bucketArn: bucket.bucketArn })),
      // The tenant's users, only through the identity broker and only on its own tenant's paths.
      'own-tenant-users-through-broker': iam.PolicyDocument.fromJson(IdentityBroker.identityBrokerInvokePolicy({ apiStageArn: controlApiStageArn })),
      // The tenant's own ledger figures (GET /me/usage), only through the usage broker and only on its own tenant's path.
      'own-tenant-usage-through-broker': iam.PolicyDocument.fromJson(UsageBroker.usageBrokerInvokePolicy({ apiStageArn: controlApiStageArn })),
    },
  });
  // biome-ignore lint/style/noNonNullAssertion: a Role built with `assumedBy` always has its trust policy.
  tenantAccessRole.assumeRolePolicy!.addStatements(
    new iam.PolicyStatement({
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      principals: TENANT_ACCESS_IDENTITIES.map((identity) => new iam.ArnPrincipal(controlRoles[identity].roleArn)),
      conditions: tenantSession,
    }),
  );
  // Core's statements for both (the local cells render the same): the API handlers may only
  // assume the tenant access role; no user-directory permission here, as tenant admins'
  // invitations go through the control plane's identity broker (DESIGN §13).
  for (const statement of cellApiStatements({ tenantAccessRoleArn: tenantAccessRole.roleArn })) apiRole.addToPolicy(iam.PolicyStatement.fromJson(statement));
  for (const statement of cellAuthorizerStatements({ tenantsTableArn: tenantsTable.tableArn })) {
    authorizerRole.addToPolicy(iam.PolicyStatement.fromJson(statement));
  }
  return { apiRole, authorizerRole, publicRouteRole, tenantAccessRole };
}
