/**
 * The local account's IAM roles — what the stacks create in AWS, rendered from the same
 * definitions (core's access/ modules: the control identities, their grants and the tenant access policy) with local ARNs, so the two
 * cannot drift (issue 12, item 7). Nothing here writes a grant of its own, except the deployer's
 * stand-in and the drill role, which has no counterpart in AWS and which no function runs under.
 * This module holds what the control plane's roles and the cells' share: ARNs, the Lambda trust
 * policy, a function role's shape, and the deployer's stand-in.
 */
import { policyDocument, type IamStatement } from '@cellbook/core/access/iam';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type PolicyDocument, type RoleDefinition } from '../aws/types.js';

export function roleArn(name: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`;
}

export function tableArn(tableName: string): string {
  return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName}`;
}

/** S3 ARNs name no region or account: bucket names are global. */
export function bucketArn(bucketName: string): string {
  return `arn:aws:s3:::${bucketName}`;
}

/** The partition of every local ARN. */
export const PARTITION = 'aws';

export function lambdaTrust(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

/** Core's statements as a local policy document (the two shapes are the same JSON). */
export function localPolicyDocument(statements: readonly IamStatement[]): PolicyDocument {
  return policyDocument(statements) as PolicyDocument;
}

/** A function role: one inline policy with `statements`, none at all when there are none (as CDK synthesizes it). */
export function functionRole(name: string, statements: readonly IamStatement[], trustPolicy: PolicyDocument = lambdaTrust()): RoleDefinition {
  return {
    name,
    arn: roleArn(name),
    policies: statements.length === 0 ? [] : [{ name: `${name}-policy`, document: localPolicyDocument(statements) }],
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
