import { NagSuppressions } from 'cdk-nag';
import type { Stack } from 'sst/constructs';

/**
 * SST v2 puts one deploy-time Lambda in every stack (`CustomResourceHandler`: stack metadata and
 * source-map upload). Its role is SST's, not ours; it never sees tenant traffic or data.
 */
export function suppressSstInternals(stack: Stack): void {
  NagSuppressions.addResourceSuppressionsByPath(stack, `/${stack.stackName}/CustomResourceHandler/ServiceRole/Resource`, [
    {
      id: 'AwsSolutions-IAM4',
      reason: "SST v2's per-stack deploy-time handler uses AWSLambdaBasicExecutionRole (CloudWatch Logs only); the construct is SST's and takes no role override.",
      appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
    },
  ]);
  NagSuppressions.addResourceSuppressionsByPath(stack, `/${stack.stackName}/CustomResourceHandler/Resource`, [
    {
      id: 'AwsSolutions-L1',
      reason: "SST v2 fixes its per-stack deploy-time handler's runtime (nodejs22.x) in the construct; it runs only during deployments.",
    },
  ]);
}

/**
 * Our functions run nodejs22.x on purpose (DESIGN §8): the same handlers run on Node 20 in local
 * mode, and the middleware versions are chosen to support both. A newer runtime is a deliberate
 * upgrade of both worlds, not something a linter should trigger.
 */
export const PINNED_RUNTIME = {
  id: 'AwsSolutions-L1',
  reason:
    'nodejs22.x is pinned by DESIGN §8: handlers must run unchanged on Lambda and on Node 20 in local mode (middy 6, Powertools 2). Moving to a newer runtime is a deliberate upgrade of both, tracked in the design.',
};

/** X-Ray has no resource-level permissions: `xray:PutTraceSegments` can only be granted on `*`. */
export const XRAY_WILDCARD = {
  id: 'AwsSolutions-IAM5',
  reason: 'Active tracing: X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so AWS requires Resource "*".',
  appliesTo: ['Resource::*'],
};
