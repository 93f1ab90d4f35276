/**
 * What the release driver may do in AWS to deploy a release cell by cell (DESIGN §9): update the
 * cell stacks — and no other stack — under their CloudFormation execution role, read the release's
 * templates, and read the cells' alarms and metrics. Its orchestrator-state grants are in
 * `controlIdentityStatements` ('release-driver').
 */
import { allow, type IamStatement } from './iam.js';

export interface ReleaseDriverResources {
  partition: string;
  region: string;
  account: string;
  /** The cell stacks' names (`<stage>-<app>-<cellId>`), one per catalogued cell. */
  cellStackNames: readonly string[];
  /** The release artefact bucket: CloudFormation reads a TemplateURL with the caller's credentials. */
  releaseBucketArn: string;
  /** Its name: an update's template must come from its `releases/` (never a template in the request). */
  releaseBucketName: string;
  /** The role the cell stacks are deployed with (the CDK bootstrap's CloudFormation execution role). */
  cloudFormationExecutionRoleArn: string;
  /** The CDK bootstrap's version parameter, which every synthesized template checks. */
  bootstrapVersionParameterArn: string;
}

export function releaseDriverAwsStatements(r: ReleaseDriverResources): IamStatement[] {
  const cellStacks = r.cellStackNames.map((name) => `arn:${r.partition}:cloudformation:${r.region}:${r.account}:stack/${name}/*`);
  return [
    allow('ReadCellStacksOnly', ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents'], cellStacks),
    // An update only from a release's template in the release bucket (no TemplateBody, no other
    // bucket) and only under the execution role the cell stacks are deployed with: whoever holds
    // these credentials cannot make a cell stack create anything a release did not contain.
    {
      ...allow('DeployCellStacksFromReleasesOnly', ['cloudformation:UpdateStack'], cellStacks),
      Condition: {
        StringLike: { 'cloudformation:TemplateUrl': [`https://${r.releaseBucketName}.s3.*/releases/*`] },
        StringEquals: { 'cloudformation:RoleArn': [r.cloudFormationExecutionRoleArn] },
        Null: { 'cloudformation:TemplateUrl': 'false', 'cloudformation:RoleArn': 'false' },
      },
    },
    {
      ...allow('PassCloudFormationExecutionRole', ['iam:PassRole'], [r.cloudFormationExecutionRoleArn]),
      Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    },
    allow('ReadReleaseTemplates', ['s3:GetObject'], [`${r.releaseBucketArn}/releases/*`]),
    allow('ReadBootstrapVersion', ['ssm:GetParameters'], [r.bootstrapVersionParameterArn]),
    // Neither call takes a resource-level restriction: the adapter asks for one cell's alarms (by
    // name prefix) and metrics (by its API and functions) at a time.
    allow('ReadCellAlarmsAndMetrics', ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'], ['*']),
  ];
}
