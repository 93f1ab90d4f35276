import * as iam from 'aws-cdk-lib/aws-iam';

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
export function partitionItems(sid: string, actions: readonly string[], tableArn: string, partitions: string | readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: actions.map((action) => `dynamodb:${action}`),
    resources: [tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': typeof partitions === 'string' ? [partitions] : [...partitions] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    },
  });
}
