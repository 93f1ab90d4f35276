import type { Function as SstFunction } from 'sst/constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_DRIVER_SCHEDULE } from '@cellbook/functions/routes';
import { CONTROL_ROLES } from '../../stacks/control-plane/control-identities.js';
import { infraFixture, type InfraFixture } from './support/app.js';
import { decide, type RoleUnderTest } from './support/iam.js';

/**
 * Releases in AWS (DESIGN §9), on the synthesized app: the release artefact bucket is private,
 * TLS-only, versioned and kept; the release driver runs every minute under its own identity, which
 * may update the cell stacks — and no other stack — and pass the CloudFormation execution role to
 * CloudFormation only (IAM decisions by policy simulation, as the isolation proofs do).
 */
let infra: InfraFixture;
let driver: RoleUnderTest;
let account: string;
let region: string;

beforeAll(async () => {
  infra = await infraFixture();
  driver = infra.role(infra.controlPlane, CONTROL_ROLES['release-driver'].id);
  ({ account, region } = infra.resolver.env);
}, 120_000);

const stackArn = (name: string) => `arn:aws:cloudformation:${region}:${account}:stack/${name}/0f0e0d0c-aaaa-bbbb-cccc-000000000000`;
const cellStacks = () => [...infra.cells.values()].map((stack) => stack.stackName);
const bucket = () => infra.resources(infra.controlPlane, 'AWS::S3::Bucket').find((resource) => resource.logicalId.startsWith('ReleaseBucket'));
const bucketArn = () => `arn:aws:s3:::${infra.ref(infra.controlPlane, 'ReleaseBucket')}`;
const execRoleArn = () => `arn:aws:iam::${account}:role/cdk-hnb659fds-cfn-exec-role-${account}-${region}`;

describe('the release artefact bucket', () => {
  it('blocks every kind of public access, is encrypted and versioned', () => {
    expect(bucket()?.properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
  });

  it('refuses any request that is not over TLS', () => {
    const policies = infra
      .resources(infra.controlPlane, 'AWS::S3::BucketPolicy')
      .filter((policy) => policy.properties.Bucket === infra.ref(infra.controlPlane, 'ReleaseBucket'));
    const statements = policies.flatMap((policy) => (policy.properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('is kept when the stack is deleted: a cell rolls back to a release built long ago', () => {
    const resource = infra.json(infra.controlPlane).Resources[bucket()?.logicalId ?? ''];
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('the release driver', () => {
  it('runs every minute under the release-driver identity, told the bucket and the cell stacks’ prefix', () => {
    const construct = infra.construct(infra.controlPlane, 'Schedule-release-driver') as SstFunction;
    // Unbundled, the template names a placeholder handler: SST keeps the declared one in the construct's props.
    expect((construct as unknown as { props: { handler: string } }).props.handler).toBe(`packages/functions/src/${RELEASE_DRIVER_SCHEDULE.handler}.handler`);
    const fn = infra.resources(infra.controlPlane, 'AWS::Lambda::Function').find((resource) => resource.logicalId === infra.logicalId(construct))!.properties;
    expect(fn).toMatchObject({ Timeout: RELEASE_DRIVER_SCHEDULE.timeoutSeconds, Role: driver.arn });
    expect((fn.Environment as { Variables: Record<string, string> }).Variables).toMatchObject({
      RELEASE_BUCKET: infra.ref(infra.controlPlane, 'ReleaseBucket'),
      CELL_STACK_PREFIX: `${infra.stage}-cellbook`,
    });
    const jobArn = infra.arn(infra.controlPlane, 'Schedule-release-driver');
    const rules = infra
      .resources(infra.controlPlane, 'AWS::Events::Rule')
      .filter((rule) => (rule.properties.Targets as { Arn: string }[]).some((target) => target.Arn === jobArn));
    expect(rules.map((rule) => rule.properties.ScheduleExpression)).toEqual(['rate(1 minute)']);
  });

  /** An update as the deployer makes it: a release's template from the release bucket, under the cell stacks' execution role. */
  const releaseUpdate = (templateUrl?: string, roleArn: string | null = execRoleArn()) => ({
    ...(templateUrl ? { 'cloudformation:TemplateUrl': templateUrl } : {}),
    ...(roleArn ? { 'cloudformation:RoleArn': roleArn } : {}),
  });
  const releaseTemplate = () => `https://${infra.ref(infra.controlPlane, 'ReleaseBucket')}.s3.${region}.amazonaws.com/releases/r-0123456789abcdef/cell-1.template.json`;

  it.each(['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents'])('may call %s on every cell stack', async (action) => {
    expect(cellStacks().length).toBeGreaterThan(0);
    for (const name of cellStacks()) expect(await decide(infra.resolver, driver, { action, resource: stackArn(name) }), name).toBe('Allowed');
  });

  it('may update every cell stack from a release template of the release bucket, under the execution role', async () => {
    for (const name of cellStacks()) {
      expect(await decide(infra.resolver, driver, { action: 'cloudformation:UpdateStack', resource: stackArn(name), context: releaseUpdate(releaseTemplate()) }), name).toBe(
        'Allowed',
      );
    }
  });

  it('may not update a cell stack with a template in the request, from another bucket or prefix, or under another role', async () => {
    const cell = stackArn(cellStacks()[0]!);
    const update = (context: Record<string, string>) => decide(infra.resolver, driver, { action: 'cloudformation:UpdateStack', resource: cell, context });
    expect(await update(releaseUpdate(undefined))).toBe('ImplicitlyDenied');
    expect(await update(releaseUpdate('https://attacker-bucket.s3.us-east-1.amazonaws.com/releases/x.json'))).toBe('ImplicitlyDenied');
    expect(await update(releaseUpdate(releaseTemplate().replace('/releases/', '/uploads/')))).toBe('ImplicitlyDenied');
    expect(await update(releaseUpdate(releaseTemplate(), `arn:aws:iam::${account}:role/admin`))).toBe('ImplicitlyDenied');
    // Without a role, CloudFormation would update under the caller's own credentials.
    expect(await update(releaseUpdate(releaseTemplate(), null))).toBe('ImplicitlyDenied');
  });

  it('may not update any other stack: the control plane, the router, another stage’s cell, a stack named like a cell', async () => {
    const others = [infra.controlPlane.stackName, infra.router.stackName, cellStacks()[0]!.replace(`${infra.stage}-`, 'prod-'), `${cellStacks()[0]}-extra`, 'CDKToolkit'];
    for (const name of others) {
      expect(await decide(infra.resolver, driver, { action: 'cloudformation:UpdateStack', resource: stackArn(name), context: releaseUpdate(releaseTemplate()) }), name).toBe(
        'ImplicitlyDenied',
      );
    }
    expect(await decide(infra.resolver, driver, { action: 'cloudformation:DeleteStack', resource: stackArn(cellStacks()[0]!) })).toBe('ImplicitlyDenied');
    expect(await decide(infra.resolver, driver, { action: 'cloudformation:CreateStack', resource: stackArn(`${infra.stage}-cellbook-new-cell`) })).toBe('ImplicitlyDenied');
  });

  it('may pass the CloudFormation execution role to CloudFormation only, and no other role', async () => {
    const pass = (resource: string, service: string) => decide(infra.resolver, driver, { action: 'iam:PassRole', resource, context: { 'iam:PassedToService': service } });
    expect(await pass(execRoleArn(), 'cloudformation.amazonaws.com')).toBe('Allowed');
    expect(await pass(execRoleArn(), 'lambda.amazonaws.com')).toBe('ImplicitlyDenied');
    expect(await pass(driver.arn, 'cloudformation.amazonaws.com')).toBe('ImplicitlyDenied');
  });

  it("reads the release bucket's releases/ only, and writes nothing there", async () => {
    expect(await decide(infra.resolver, driver, { action: 's3:GetObject', resource: `${bucketArn()}/releases/r-0123456789abcdef/pool-1.template.json` })).toBe('Allowed');
    expect(await decide(infra.resolver, driver, { action: 's3:GetObject', resource: `${bucketArn()}/elsewhere/x` })).toBe('ImplicitlyDenied');
    expect(await decide(infra.resolver, driver, { action: 's3:PutObject', resource: `${bucketArn()}/releases/r-0123456789abcdef/pool-1.template.json` })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('reads alarms and metrics, and changes no alarm', async () => {
    expect(await decide(infra.resolver, driver, { action: 'cloudwatch:DescribeAlarms', resource: '*' })).toBe('Allowed');
    expect(await decide(infra.resolver, driver, { action: 'cloudwatch:GetMetricData', resource: '*' })).toBe('Allowed');
    const alarm = `arn:aws:cloudwatch:${region}:${account}:alarm:${cellStacks()[0]}-health`;
    expect(await decide(infra.resolver, driver, { action: 'cloudwatch:DisableAlarmActions', resource: alarm })).toBe('ImplicitlyDenied');
    expect(await decide(infra.resolver, driver, { action: 'cloudwatch:SetAlarmState', resource: alarm })).toBe('ImplicitlyDenied');
  });
});
