import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DeployFailed, type ReleaseRef } from '@cellbook/core/releases/ports';
import { cloudformationDeployer } from './cloudformation-deployer.js';

/**
 * CloudFormation has no local stand-in: its client is mocked (aws-sdk-client-mock), and each case
 * is the stack as DescribeStacks would show it.
 */
/**
 * The installed client (3.699, hoisted from the CDK toolkit) predates the @smithy/types the mock is
 * typed against, so the mock is seen through this narrower type; it goes once
 * @aws-sdk/client-cloudformation is a declared, current dependency.
 */
interface CloudFormationStub {
  on(command: unknown, input?: object): { resolves(output: object): unknown; rejects(error: Error): unknown };
  commandCalls<I>(command: new (...args: never[]) => { input: I }): { args: [{ input: I }] }[];
  reset(): void;
}
const cloudformation = mockClient(CloudFormationClient as unknown as Parameters<typeof mockClient>[0]) as unknown as CloudFormationStub;
const STACK = 'prod-cellbook-pool-2';
const STACK_ID = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${STACK}/0f00`;
const release: ReleaseRef = { releaseId: 'r-00000000000000aa', manifest: { commit: 'abc', artefacts: { 'pool-2.template.json': 'a'.repeat(64) }, config: {} } };
const previous = 'r-00000000000000ff';
const EXEC_ROLE = 'arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1';

function deployer() {
  return cloudformationDeployer({ namePrefix: 'prod-cellbook', bucket: 'releases-bucket', client: new CloudFormationClient({ region: 'eu-west-1' }), now: () => 1700 });
}

function stack(status: string, releaseId: string, extra: Partial<Stack> = {}): Stack {
  return {
    StackName: STACK,
    StackId: STACK_ID,
    StackStatus: status as Stack['StackStatus'],
    CreationTime: new Date(0),
    RoleARN: EXEC_ROLE,
    Tags: [
      { Key: 'cell', Value: 'pool-2' },
      { Key: 'ReleaseId', Value: releaseId },
    ],
    ...extra,
  };
}

function validationError(message: string) {
  return new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message });
}

beforeEach(() => {
  cloudformation.reset();
});

describe('cloudformationDeployer.deploy', () => {
  it('answers deployed, and changes nothing, when the stack already runs the release', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', release.releaseId)] });
    expect(await deployer().deploy('pool-2', release)).toBe('deployed');
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('answers in-progress, and starts nothing, while the stack is being updated', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS', release.releaseId)] });
    expect(await deployer().deploy('pool-2', release)).toBe('in-progress');
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it("updates a stack on another release from the release bucket's template, tagged, with the cell's health alarm as rollback trigger", async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', previous)] });
    cloudformation.on(UpdateStackCommand).resolves({ StackId: STACK_ID });

    expect(await deployer().deploy('pool-2', release)).toBe('in-progress');

    const [call] = cloudformation.commandCalls(UpdateStackCommand);
    const input = call?.args[0].input;
    expect(input?.StackName).toBe(STACK);
    expect(input?.TemplateURL).toBe(`https://releases-bucket.s3.eu-west-1.amazonaws.com/releases/${release.releaseId}/pool-2.template.json`);
    expect(input?.RoleARN).toBe(EXEC_ROLE);
    expect(input?.Capabilities).toEqual(expect.arrayContaining(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND']));
    expect(input?.Tags).toEqual([
      { Key: 'cell', Value: 'pool-2' },
      { Key: 'ReleaseId', Value: release.releaseId },
      { Key: 'PreviousReleaseId', Value: previous },
    ]);
    expect(input?.RollbackConfiguration?.RollbackTriggers).toEqual([
      { Arn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${STACK}-health`, Type: 'AWS::CloudWatch::CompositeAlarm' },
    ]);
    expect(input?.ClientRequestToken).toBe(`cellbook-${release.releaseId}-pool-2-1700`);
  });

  it('rolls back to the previous release without the health alarm as trigger: the alarm that called for the rollback must not undo it', async () => {
    const rolledForward = stack('UPDATE_COMPLETE', release.releaseId, {
      Tags: [
        { Key: 'cell', Value: 'pool-2' },
        { Key: 'ReleaseId', Value: release.releaseId },
        { Key: 'PreviousReleaseId', Value: previous },
      ],
    });
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [rolledForward] });
    cloudformation.on(UpdateStackCommand).resolves({ StackId: STACK_ID });

    expect(await deployer().deploy('pool-2', { ...release, releaseId: previous })).toBe('in-progress');

    const input = cloudformation.commandCalls(UpdateStackCommand)[0]?.args[0].input;
    expect(input?.TemplateURL).toContain(`/releases/${previous}/pool-2.template.json`);
    expect(input?.RollbackConfiguration).toEqual({ RollbackTriggers: [], MonitoringTimeInMinutes: 0 });
    expect(input?.Tags).toContainEqual({ Key: 'ReleaseId', Value: previous });
    expect(input?.Tags).toContainEqual({ Key: 'PreviousReleaseId', Value: release.releaseId });
  });

  it('answers deployed when CloudFormation says there is nothing to update', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', previous)] });
    cloudformation.on(UpdateStackCommand).rejects(validationError('No updates are to be performed.'));
    expect(await deployer().deploy('pool-2', release)).toBe('deployed');
  });

  it("throws DeployFailed with CloudFormation's reasons when our update was rolled back", async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_ROLLBACK_COMPLETE', previous, { StackStatusReason: 'Rollback requested by user.' })] });
    const events: StackEvent[] = [
      { StackId: STACK_ID, EventId: '4', StackName: STACK, LogicalResourceId: STACK, ResourceStatus: 'UPDATE_ROLLBACK_COMPLETE', Timestamp: new Date(4) },
      {
        StackId: STACK_ID,
        EventId: '3',
        StackName: STACK,
        LogicalResourceId: STACK,
        ResourceStatus: 'UPDATE_ROLLBACK_IN_PROGRESS',
        ResourceStatusReason: `Threshold breached for alarm ${STACK}-health`,
        Timestamp: new Date(3),
      },
      {
        StackId: STACK_ID,
        EventId: '2',
        StackName: STACK,
        LogicalResourceId: 'Handler',
        ResourceStatus: 'UPDATE_FAILED',
        ResourceStatusReason: 'Resource handler returned an error',
        Timestamp: new Date(2),
      },
      {
        StackId: STACK_ID,
        EventId: '1',
        StackName: STACK,
        LogicalResourceId: STACK,
        ResourceStatus: 'UPDATE_IN_PROGRESS',
        ClientRequestToken: `cellbook-${release.releaseId}-pool-2-1600`,
        Timestamp: new Date(1),
      },
    ];
    // A big stack's update spans pages of events: the update that started it is on the second.
    cloudformation.on(DescribeStackEventsCommand).resolves({ StackEvents: events.slice(0, 2), NextToken: 'page-2' });
    cloudformation.on(DescribeStackEventsCommand, { StackName: STACK, NextToken: 'page-2' }).resolves({ StackEvents: events.slice(2) });

    const outcome = deployer().deploy('pool-2', release);
    await expect(outcome).rejects.toBeInstanceOf(DeployFailed);
    await expect(outcome).rejects.toMatchObject({ cellId: 'pool-2', message: expect.stringContaining('Handler: Resource handler returned an error') });
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it("starts our update on a stack that someone else's update left rolled back", async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_ROLLBACK_COMPLETE', previous)] });
    cloudformation.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        { StackId: STACK_ID, EventId: '2', StackName: STACK, LogicalResourceId: STACK, ResourceStatus: 'UPDATE_ROLLBACK_COMPLETE', Timestamp: new Date(2) },
        {
          StackId: STACK_ID,
          EventId: '1',
          StackName: STACK,
          LogicalResourceId: STACK,
          ResourceStatus: 'UPDATE_IN_PROGRESS',
          ClientRequestToken: 'Console-1',
          Timestamp: new Date(1),
        },
      ],
    });
    cloudformation.on(UpdateStackCommand).resolves({ StackId: STACK_ID });
    expect(await deployer().deploy('pool-2', release)).toBe('in-progress');
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(1);
  });

  it('throws DeployFailed when CloudFormation refuses the update (a stack stuck in a failed state)', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_ROLLBACK_FAILED', previous)] });
    cloudformation.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cloudformation.on(UpdateStackCommand).rejects(validationError(`Stack:${STACK_ID} is in UPDATE_ROLLBACK_FAILED state and can not be updated.`));
    await expect(deployer().deploy('pool-2', release)).rejects.toBeInstanceOf(DeployFailed);
  });

  it('throws DeployFailed for a cell whose stack does not exist', async () => {
    cloudformation.on(DescribeStacksCommand).rejects(validationError(`Stack with id ${STACK} does not exist`));
    await expect(deployer().deploy('pool-2', release)).rejects.toBeInstanceOf(DeployFailed);
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it("asks for the cell's own stack and nothing else", async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', release.releaseId)] });
    await deployer().deploy('pool-2', release);
    expect(cloudformation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input.StackName)).toEqual([STACK]);
  });
});
