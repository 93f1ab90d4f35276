import type * as apig from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { Stack } from 'sst/constructs';
import type { ControlIdentity } from '@cellbook/core/access/control-identities';
import { TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import type { RouteDefinition } from '@cellbook/functions/routes';
import { PINNED_RUNTIME, XRAY_WILDCARD } from './nag.js';
import { suppressApiFindings } from './rest-api-findings.js';

export interface CellFindingsProps {
  /** The API and the authorizer, whose functions all run the pinned runtime. */
  api: IConstruct;
  restApi: apig.RestApi;
  publicRoutes: readonly RouteDefinition[];
  authorizer: IConstruct;
  functionRoles: readonly iam.Role[];
  table: dynamodb.ITable;
  /** The evidence bucket, whose tenant prefix the tenant access role reaches. */
  bucket: s3.Bucket;
  tenantAccessRole: iam.Role;
  usagePlans: Record<TierName, apig.UsagePlan>;
  grantPolicies: Partial<Record<ControlIdentity, iam.Policy>>;
}

/** The cell's cdk-nag findings that a reviewer accepted, each with its reason. */
export function suppressCellFindings(stack: Stack, props: CellFindingsProps): void {
  const { api, restApi, publicRoutes, authorizer, functionRoles, table, bucket, tenantAccessRole, usagePlans, grantPolicies } = props;
  suppressApiFindings(
    restApi,
    publicRoutes.map((route) => {
      const key = `${route.method} ${route.path}`;
      return {
        route: key,
        reason: `${key} is the cell's health check: it returns only the cell's id, reads nothing (its function's role has no AWS permission) and takes no tenant input. The control plane's routing probe calls it through the router (${route.path}?tenant=<id>) to see which cell a tenant's requests reach, with no tenant token; a stage throttle bounds it.`,
      };
    }),
  );
  for (const construct of [api, authorizer]) NagSuppressions.addResourceSuppressions(construct, [PINNED_RUNTIME], true);
  for (const role of functionRoles) NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);
  const tableLogicalId = stack.getLogicalId(table.node.defaultChild as dynamodb.CfnTable);
  const bucketLogicalId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
  NagSuppressions.addResourceSuppressions(tenantAccessRole, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'The tenant access policy (core tenantAccessPolicy) covers the table and its indexes so GSI1 listing works; every action is fenced by the dynamodb:LeadingKeys condition to the session tenant’s own partitions, which the offline IAM proofs verify.',
      appliesTo: [`Resource::<${tableLogicalId}.Arn>/index/*`],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "The tenant access policy (core tenantAccessPolicy) allows object actions on the session tenant's own evidence prefix only, tenant=<its TenantId tag>/ (the trailing slash keeps t-1 out of t-10); evidence keys are ids under it, which the offline IAM proofs verify.",
      appliesTo: [`Resource::<${bucketLogicalId}.Arn>/tenant=<aws:PrincipalTag/TenantId>/*`],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "Removing a tenant's user names the user in the broker's path (DELETE …/broker/tenants/<own tenant>/users/<username>): the tenant segment is fixed to the session's TenantId tag, and the broker checks that the user belongs to that tenant.",
      appliesTo: [{ regex: '/^Resource::.*\\/DELETE\\/broker\\/tenants\\/.*\\/users\\/\\*$/' }],
    },
  ]);
  const planKeyWildcards = TIER_NAMES.map((tier) => {
    const planLogicalId = stack.getLogicalId(usagePlans[tier].node.defaultChild as apig.CfnUsagePlan);
    return `Resource::arn:<AWS::Partition>:apigateway:${stack.region}::/usageplans/<${planLogicalId}>/keys/*`;
  });
  // biome-ignore lint/style/noNonNullAssertion: cellControlGrants makes a policy for every control identity that core grants anything in a cell.
  NagSuppressions.addResourceSuppressions(grantPolicies['tenant-plan']!, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "DeleteUsagePlanKey takes the tenant's key id, known only at run time; the grant is limited to this cell's own usage plans' key collections and only detaches keys from them (a tier change moves the key to another of these plans).",
      appliesTo: planKeyWildcards,
    },
  ]);
  // biome-ignore lint/style/noNonNullAssertion: as above.
  NagSuppressions.addResourceSuppressions(grantPolicies['tenant-mover']!, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "DeleteUsagePlanKey takes the tenant's key id, known only at run time; the grant is limited to this cell's own usage plans' key collections and only detaches keys from them (a tenant that moved on from this cell leaves its plan).",
      appliesTo: planKeyWildcards,
    },
  ]);
}
