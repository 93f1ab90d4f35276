/**
 * What every function role of the app may do (DESIGN §1, §3, §13), written once. The stacks render
 * these statements into their roles (`iam.PolicyStatement.fromJson`) and the local platform into its
 * IAM stand-in, so the two worlds cannot drift (issue 12, item 7): a grant changed here changes
 * both, and the infra proofs compare each synthesized role with what these builders return.
 *
 * Builders take ARNs and names as plain strings — CDK tokens in the stacks, literal local ARNs
 * offline — and return IAM policy statements as JSON. Nothing here imports CDK.
 */
import { tenantMetaKey, tenantPartitionPrefix, tenantUsersPartition } from '../keys/keys.js';

/** One IAM policy statement as the policy language spells it. Every grant of the app has a Sid. */
export interface IamStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A whole identity policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export function policyDocument(statements: readonly IamStatement[]): IamPolicyDocument {
  return { Version: '2012-10-17', Statement: statements.map((statement) => structuredClone(statement)) };
}

/**
 * A `dynamodb:LeadingKeys` pattern (`TENANT#*`, `TENANTNAME#*`, `CELL#*`) for every partition
 * core's key module builds with `partitionOf`, whatever the tenant, name or cell: the key built for
 * a sample value (one the key module accepts) ends with it, and what precedes it is the fixed prefix.
 */
export function anyPartition(partitionOf: (sample: string) => string, sample = 'sample'): string {
  const partition = partitionOf(sample);
  if (!partition.endsWith(sample)) throw new Error(`partition ${partition} does not end with its variable part`);
  return `${partition.slice(0, -sample.length)}*`;
}

/**
 * DynamoDB item `actions` on `tableArn`, fenced to partitions matching `partitions` (patterns): every key the
 * request touches must match, and a request that names no key (a Scan) is refused.
 */
export function partitionItems(sid: string, actions: readonly string[], tableArn: string, partitions: string | readonly string[]): IamStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: actions.map((action) => `dynamodb:${action}`),
    Resource: [tableArn],
    Condition: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': typeof partitions === 'string' ? [partitions] : [...partitions] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    },
  };
}

/**
 * The partitions onboarding seeds in a cell (core's `seedCell`: the tenant's counters and its user
 * listing), for any tenant, derived from the key module: `TENANT#*#META`, `TENANT#*#USERS`. Tenant
 * ids never contain `*`, so the sample id marks exactly where the tenant goes.
 */
const SAMPLE_TENANT = 'sample';
export const SEEDED_PARTITIONS: readonly string[] = [tenantMetaKey(SAMPLE_TENANT).PK, tenantUsersPartition(SAMPLE_TENANT)].map((partition) =>
  partition.replace(tenantPartitionPrefix(SAMPLE_TENANT), tenantPartitionPrefix(SAMPLE_TENANT).replace(SAMPLE_TENANT, '*')),
);

export function allow(sid: string, actions: readonly string[], resources: readonly string[]): IamStatement {
  return { Sid: sid, Effect: 'Allow', Action: [...actions], Resource: [...resources] };
}
