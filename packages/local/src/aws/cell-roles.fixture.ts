/**
 * One cell's roles as the tests of the IAM-enforcing stand-ins (LocalIam, the STS and DynamoDB
 * endpoints) create them: the cell's API role, which may assume the tenant access role with a
 * session tag (and a second cell's API role, which the trust policy does not name), the tenant
 * access role with the real tenant access policy, and an admin allowed everything.
 */
import { tenantAccessPolicy } from '@cellbook/core/access/tenant-access-policy';
import { tableArn } from './dynamodb-access-checks.js';
import type { PolicyDocument, RoleDefinition } from './types.js';

export const TABLE = 'cellbook-cell-1';
export const TABLE_ARN = tableArn(TABLE);
export const BUCKET = 'cellbook-cell-1-evidence';
export const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
export const API_ROLE = 'arn:aws:iam::000000000000:role/cell-1-api';
export const OTHER_API_ROLE = 'arn:aws:iam::000000000000:role/cell-2-api';
export const TENANT_ROLE = 'arn:aws:iam::000000000000:role/cell-1-tenant-access';
export const ADMIN_ROLE = 'arn:aws:iam::000000000000:role/admin';

// The real tenant access policy, from the builder the Cell stack and the platform use.
export const tenantPolicy = tenantAccessPolicy({ tableArn: TABLE_ARN, bucketArn: BUCKET_ARN }) as unknown as PolicyDocument;
export const allowAll: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
export const assumeTenantRole: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: TENANT_ROLE }],
};
export const lambdaTrust: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
export const trustApiRole = (actions: string[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: API_ROLE }, Action: actions }],
});

export const apiRole: RoleDefinition = { name: 'cell-1-api', arn: API_ROLE, policies: [{ name: 'assume-tenant', document: assumeTenantRole }], trustPolicy: lambdaTrust };
export const otherApiRole: RoleDefinition = {
  name: 'cell-2-api',
  arn: OTHER_API_ROLE,
  policies: [{ name: 'assume-tenant', document: assumeTenantRole }],
  trustPolicy: lambdaTrust,
};
/** Assumable, with a session tag, by the cell's API role only; `policies` default to the tenant access policy. */
export const tenantAccessRole = (policies: RoleDefinition['policies'] = [{ name: 'tenant-items', document: tenantPolicy }]): RoleDefinition => ({
  name: 'cell-1-tenant-access',
  arn: TENANT_ROLE,
  policies,
  trustPolicy: trustApiRole(['sts:AssumeRole', 'sts:TagSession']),
});
export const adminRole: RoleDefinition = { name: 'admin', arn: ADMIN_ROLE, policies: [{ name: 'all', document: allowAll }], trustPolicy: lambdaTrust };
