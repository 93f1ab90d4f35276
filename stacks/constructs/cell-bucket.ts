import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import type { App, Stack } from 'sst/constructs';
import { isDevStage } from './stage.js';

/** How long an abandoned multipart upload may hold storage before S3 removes its parts. */
export const INCOMPLETE_UPLOAD_DAYS = 1;

/**
 * The cell's evidence bucket (DESIGN §11): one pooled bucket, each tenant's objects under
 * `tenant=<id>/`, reachable only through the tenant access role (its S3 statements come from core's
 * `tenantAccessPolicy`); no function role is granted anything on it.
 *
 * - Private: all public access blocked, objects owned by the bucket owner (no ACLs), encrypted at
 *   rest (SSE-S3), and a bucket policy that refuses any request not made over TLS.
 * - No versioning: offboarding must leave zero objects under the tenant's prefix, and with
 *   versioning a DeleteObject only adds a delete marker while every byte stays behind as a
 *   noncurrent version that the tenant session cannot see or list. Evidence is immutable (one
 *   upload per evidence id), so versions would protect nothing a tenant can change.
 * - Abandoned multipart uploads are aborted after a day (their parts are invisible to listings
 *   and would otherwise be kept, and billed, forever).
 * - No CORS rule here: the Router stack owns it (constructs/evidence-cors.ts). The web app uploads
 *   from the router's origin, which exists only after the cells are deployed; one owner, so two
 *   stacks never overwrite each other's rule.
 * - Kept like the table: retained outside throwaway stages. No auto-delete custom resource even in
 *   throwaway stages: its function would need delete permissions on every object of every tenant.
 *
 * The name is left to CloudFormation (bucket names are global across accounts); the cell registers
 * the name it got.
 */
export function cellBucket(stack: Stack, app: App, cellId: string): s3.Bucket {
  const dev = isDevStage(app);
  const bucket = new s3.Bucket(stack, `${cellId}-evidence`, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: false,
    lifecycleRules: [{ id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(INCOMPLETE_UPLOAD_DAYS) }],
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  NagSuppressions.addResourceSuppressions(bucket, [
    {
      id: 'AwsSolutions-S1',
      reason:
        'Every request reaches the bucket as a tenant session (RoleSessionName tenant-<id>, tag TenantId) of the cell tenant access role, so CloudTrail names the tenant of each call; server access logs would need a second bucket holding every tenant’s object keys.',
    },
  ]);
  return bucket;
}
