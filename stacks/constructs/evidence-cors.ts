import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId, type AwsSdkCall } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import type { Stack } from 'sst/constructs';
import { evidenceBucketCorsConfiguration } from '@cellbook/core/access/browser-cors';
import { functionRole, LOG_RETENTION } from './functions.js';

/** The CloudFormation type of each cell bucket's CORS resource (the infra suite finds them by it). */
export const EVIDENCE_CORS_RESOURCE_TYPE = 'Custom::EvidenceBucketCors';

export interface EvidenceBucketTarget {
  cellId: string;
  bucket: s3.IBucket;
  /** The cell's region (its bucket's): S3 refuses a bucket's configuration sent to another region. */
  region: string;
}

/**
 * Sets every cell bucket's CORS rule from the router (DESIGN §11, §12). The web app is served by the
 * router's distribution and uploads to presigned S3 URLs, so each bucket must allow the
 * distribution's origin — which exists only once the router does, after the cells. So the router
 * owns the rule, whole, on every cell bucket: the Cell stack declares none (two writers of one
 * bucket's CORS would overwrite each other on every deploy of either).
 *
 * One `PutBucketCors` call per bucket on create and on update (origins or rule changed), with core's
 * rule for `origins`; `DeleteBucketCors` when the router goes (a bucket already gone is fine). The
 * one function behind the calls has a role of its own with `s3:PutBucketCORS` (which also governs
 * DeleteBucketCors) on exactly these buckets and log writes on its own log group; nothing else.
 */
export function evidenceBucketCors(stack: Stack, targets: readonly EvidenceBucketTarget[], origins: readonly string[]): AwsCustomResource[] {
  const role = functionRole(stack, 'EvidenceCorsRole', 'Sets the cell evidence buckets’ CORS rule (PutBucketCors) for the router’s web app');
  const logGroup = new logs.LogGroup(stack, 'EvidenceCorsLogs', { retention: LOG_RETENTION });
  logGroup.grantWrite(role);
  const configuration = evidenceBucketCorsConfiguration(origins);
  const resources = targets.map(({ cellId, bucket, region }) => {
    const put: AwsSdkCall = {
      service: 'S3',
      action: 'putBucketCors',
      region,
      parameters: { Bucket: bucket.bucketName, CORSConfiguration: configuration },
      physicalResourceId: PhysicalResourceId.of(`${cellId}-evidence-cors`),
    };
    return new AwsCustomResource(stack, `EvidenceCors-${cellId}`, {
      resourceType: EVIDENCE_CORS_RESOURCE_TYPE,
      onCreate: put,
      onUpdate: put,
      onDelete: { service: 'S3', action: 'deleteBucketCors', region, parameters: { Bucket: bucket.bucketName }, ignoreErrorCodesMatching: 'NoSuchBucket' },
      policy: AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['s3:PutBucketCORS'], resources: [bucket.bucketArn] })]),
      role,
      logGroup,
      // The SDK in the Lambda runtime: a deploy must not download packages from npm.
      installLatestAwsSdk: false,
    });
  });
  return resources;
}

/** cdk-nag on the one provider function CDK creates for every AwsCustomResource in the stack. */
export function suppressEvidenceCorsProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
  if (!provider) return;
  NagSuppressions.addResourceSuppressions(provider, [
    {
      id: 'AwsSolutions-L1',
      reason: 'CDK’s AwsCustomResource fixes its provider function’s runtime; it runs only while the router deploys, to call S3 PutBucketCors/DeleteBucketCors.',
    },
  ]);
}
