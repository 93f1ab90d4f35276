import { Aspects, CfnResource, RemovalPolicy, type IAspect } from 'aws-cdk-lib';
import * as apig from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { Stack } from 'sst/constructs';

const retain: IAspect = {
  visit(node) {
    if (CfnResource.isCfnResource(node)) node.applyRemovalPolicy(RemovalPolicy.RETAIN);
  },
};

/**
 * API Gateway writes execution and access logs through one account-wide role per region; the
 * control plane sets it, before `restApi`'s stage (the first to log) is deployed.
 */
export function apiGatewayAccount(stack: Stack, restApi: apig.RestApi) {
  const logsRole = new iam.Role(stack, 'ApiGatewayCloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
  });
  const account = new apig.CfnAccount(stack, 'ApiGatewayAccount', { cloudWatchRoleArn: logsRole.roleArn });
  restApi.deploymentStage.node.addDependency(account);
  // The setting is account-wide: removing one stage, even a throwaway one, must not leave it
  // pointing at a deleted role for the others. An aspect runs after SST applies a dev stage's
  // default "destroy" policy, so these two stay retained on every stage.
  Aspects.of(logsRole).add(retain);
  Aspects.of(account).add(retain);

  NagSuppressions.addResourceSuppressions(
    logsRole,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for API Gateway's account-level logging role; a copy would have to track AWS's changes by hand.",
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
      },
    ],
    true,
  );
  return { logsRole, account };
}
