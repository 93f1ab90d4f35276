import * as iam from 'aws-cdk-lib/aws-iam';
import { partitionItems as partitionItemsStatement } from '@cellbook/core/access/iam';

/**
 * DynamoDB item `actions` on `tableArn`, fenced to partitions matching `partitions` (patterns): every key the
 * request touches must match, and a request that names no key (a Scan) is refused. Core builds the
 * statement; this renders it for CDK.
 */
export function partitionItems(sid: string, actions: readonly string[], tableArn: string, partitions: string | readonly string[]): iam.PolicyStatement {
  return iam.PolicyStatement.fromJson(partitionItemsStatement(sid, actions, tableArn, partitions));
}
