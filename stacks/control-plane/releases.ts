import { DefaultStackSynthesizer, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { App, Stack } from 'sst/constructs';
import { releaseDriverAwsStatements } from '@cellbook/core/access/release-driver-grants';
import { CELL_CATALOG } from '@cellbook/core/cells/cell';
import { RELEASE_DRIVER_SCHEDULE } from '@cellbook/functions/routes';
import { addScheduledJob } from '../constructs/event-consumer.js';
import { handlerProps } from '../constructs/functions.js';
import { resourceName } from '../constructs/stage.js';
import type { ControlIdentities } from './control-identities.js';

export interface ReleasesProps {
  deadLetters: sqs.IQueue;
  identities: ControlIdentities;
}

/**
 * Releases in AWS (DESIGN §9): the bucket of release artefacts (each release's cell templates and
 * manifest, written by `release-aws build`), and the release driver, which every minute steps the
 * active release under the `release-driver` identity: it may update the cell stacks — and no other —
 * under the role they were deployed with, read the templates, and read the cells' alarms and metrics.
 */
export function releases(stack: Stack, app: App, props: ReleasesProps) {
  const bucket = new s3.Bucket(stack, 'ReleaseBucket', {
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    // A cell rolls back by redeploying its previous release: the artefacts outlive any stack update or
    // removal (dev stages excepted: SST empties and removes everything of theirs).
    removalPolicy: RemovalPolicy.RETAIN,
  });
  NagSuppressions.addResourceSuppressions(bucket, [
    {
      id: 'AwsSolutions-S1',
      reason:
        'Release artefacts are written once per release by CI (its OIDC role) and read by CloudFormation; versioning keeps every object, and CloudTrail records who wrote it. Server access logs would add a second bucket with nothing to tell.',
    },
  ]);

  const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
  const role = props.identities.roles['release-driver'];
  const statements = releaseDriverAwsStatements({
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
    cellStackNames: CELL_CATALOG.map((cell) => resourceName(app, cell.cellId)),
    releaseBucketArn: bucket.bucketArn,
    releaseBucketName: bucket.bucketName,
    cloudFormationExecutionRoleArn: `arn:${stack.partition}:iam::${stack.account}:role/cdk-${qualifier}-cfn-exec-role-${stack.account}-${stack.region}`,
    bootstrapVersionParameterArn: `arn:${stack.partition}:ssm:${stack.region}:${stack.account}:parameter/cdk-bootstrap/${qualifier}/version`,
  });
  for (const statement of statements) role.addToPolicy(iam.PolicyStatement.fromJson(statement));
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "The release driver updates each cell stack by name, and no other stack: CloudFormation adds a generated id to a stack's ARN (stack/<name>/<id>), so each grant names one cell stack and ends in /*.",
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:cloudformation:.*:stack\\/.*\\/\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: "The release driver reads release objects only (GetObject, no write or list), under the release bucket's releases/ prefix, whose keys are release ids.",
        appliesTo: [{ regex: '/^Resource::<ReleaseBucket[0-9A-F]+\\.Arn>\\/releases\\/\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "CloudWatch DescribeAlarms and GetMetricData take no resource-level restriction; the driver reads one cell's alarms (by name prefix) and metrics at a time and changes none.",
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );

  const id = `Schedule-${RELEASE_DRIVER_SCHEDULE.handler.replace(/^control\//, '')}`;
  const driver = addScheduledJob(stack, id, {
    schedule: events.Schedule.rate(Duration.minutes(RELEASE_DRIVER_SCHEDULE.everyMinutes)),
    deadLetters: props.deadLetters,
    description: `every ${RELEASE_DRIVER_SCHEDULE.everyMinutes} min → ${RELEASE_DRIVER_SCHEDULE.handler}`,
    function: handlerProps(stack, id, {
      handler: RELEASE_DRIVER_SCHEDULE.handler,
      role,
      environment: {
        ...props.identities.environmentOf('release-driver'),
        RELEASE_BUCKET: bucket.bucketName,
        CELL_STACK_PREFIX: `${app.stage}-${app.name}`,
      },
      timeout: RELEASE_DRIVER_SCHEDULE.timeoutSeconds,
    }),
  });

  return { bucket, driver };
}
