import { CloudFormationClient, DescribeStackEventsCommand, DescribeStacksCommand, type Stack, type StackEvent, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { CELL_HEALTH_ALARM } from '@cellbook/core/cells/alarms';
import { type CellDeployer, DeployFailed, type DeployProgress, type ReleaseRef } from '@cellbook/core/releases/ports';

/**
 * The AWS deployer of the release orchestrator (DESIGN §9): brings ONE cell's stack to a release.
 *
 * Why CloudFormation directly from the release's synthesized template, and not `sst deploy` of a
 * filtered stack: the release is built once (`release-aws build`) and its templates and assets are
 * immutable artefacts in the release bucket, so deploying a cell is one `UpdateStack` call that a
 * scheduled Lambda can make — no SST CLI, no source checkout, no rebuild (a rebuild per wave could
 * produce different bytes than the canary was judged on). Rolling back is the same call with the
 * previous release's template. And only the raw API takes a rollback trigger (the cell's `health`
 * alarm) and lets a poller ask "is it there yet?" without holding a process open for the whole deploy.
 *
 * Stacks are named as SST v2 names them, `<stage>-<app>-<cellId>` (`app.logicalPrefixedName`), and
 * the cell's alarms `<stage>-<app>-<cellId>-<name>` (stacks/constructs/cell-monitoring.ts).
 */
export interface CloudFormationDeployerConfig {
  /** `<stage>-<app>`, e.g. `prod-cellbook`: the prefix of every cell stack's name. */
  namePrefix: string;
  /** The release artefact bucket: each template is at `releases/<releaseId>/<cellId>.template.json`. */
  bucket: string;
  /** How long CloudFormation keeps watching the health alarm after the resources are updated (0–180). */
  monitoringMinutes?: number;
  client?: CloudFormationClient;
  /** Makes each update's request token unique (tests pin it). */
  now?: () => number;
}

/** The stack tag that records which release a cell stack runs. */
export const RELEASE_ID_TAG = 'ReleaseId';
/** The release the stack ran before its current one: redeploying it is a rollback. */
export const PREVIOUS_RELEASE_ID_TAG = 'PreviousReleaseId';

const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;
const SETTLED = /_COMPLETE$/;
const FAILED_AFTER_UPDATE = /^UPDATE_ROLLBACK_COMPLETE$|_FAILED$/;

export function cellStackName(namePrefix: string, cellId: string): string {
  return `${namePrefix}-${cellId}`;
}

export function releaseTemplateKey(releaseId: string, cellId: string): string {
  return `releases/${releaseId}/${cellId}.template.json`;
}

/**
 * Every update we start carries a request token naming the release and the cell, so that a stack
 * found rolled back can be told apart: our update failed (DeployFailed) or someone else's did (try ours).
 */
function tokenPrefix(releaseId: string, cellId: string): string {
  return `cellbook-${releaseId}-${cellId}-`;
}

/** `arn:<partition>:cloudformation:<region>:<account>:stack/…` → where the stack's alarms live. */
function stackLocation(stack: Stack): { partition: string; region: string; account: string } {
  const [, partition, , region, account] = (stack.StackId ?? '').split(':');
  if (!partition || !region || !account) throw new Error(`unexpected stack id ${JSON.stringify(stack.StackId)}`);
  return { partition, region, account };
}

function urlSuffix(partition: string): string {
  return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

export function cloudformationDeployer(config: CloudFormationDeployerConfig): CellDeployer {
  const client = config.client ?? new CloudFormationClient({});
  const now = config.now ?? Date.now;

  async function describe(stackName: string, cellId: string): Promise<Stack> {
    try {
      const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = Stacks?.[0];
      if (stack) return stack;
    } catch (error) {
      if (!(errorName(error) === 'ValidationError' && /does not exist/.test(String((error as Error).message)))) throw error;
    }
    throw new DeployFailed(cellId, `stack ${stackName} does not exist: a release updates deployed cells only`);
  }

  /** The events of the last update of the stack itself, newest first, up to its UPDATE_IN_PROGRESS (paging back as far as needed). */
  async function lastUpdate(stackName: string): Promise<StackEvent[]> {
    const events: StackEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: nextToken }));
      for (const event of page.StackEvents ?? []) {
        events.push(event);
        if (event.LogicalResourceId === stackName && event.ResourceStatus === 'UPDATE_IN_PROGRESS') return events;
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return [];
  }

  function failure(cellId: string, stack: Stack, events: StackEvent[]): DeployFailed {
    const cause = [...events].reverse().find((event) => /_FAILED$/.test(event.ResourceStatus ?? '') && event.ResourceStatusReason);
    const reasons = [stack.StackStatusReason, cause && `${cause.LogicalResourceId}: ${cause.ResourceStatusReason}`].filter(Boolean);
    return new DeployFailed(cellId, `${stack.StackName} ${stack.StackStatus}${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
  }

  return {
    async deploy(cellId: string, release: ReleaseRef): Promise<DeployProgress> {
      const stackName = cellStackName(config.namePrefix, cellId);
      const stack = await describe(stackName, cellId);
      const status = stack.StackStatus ?? '';
      if (status.endsWith('_IN_PROGRESS')) return 'in-progress';

      const tags = stack.Tags ?? [];
      const runs = tags.find((tag) => tag.Key === RELEASE_ID_TAG)?.Value;
      if (runs === release.releaseId && SETTLED.test(status) && !FAILED_AFTER_UPDATE.test(status)) return 'deployed';

      if (FAILED_AFTER_UPDATE.test(status)) {
        const events = await lastUpdate(stackName);
        const token = events.at(-1)?.ClientRequestToken ?? '';
        if (token.startsWith(tokenPrefix(release.releaseId, cellId))) throw failure(cellId, stack, events);
      }

      const { partition, region, account } = stackLocation(stack);
      // A rollback (back to the release the stack ran before) must not be undone by the health alarm
      // that called for it, which stays in ALARM for minutes: it goes without the trigger. And the
      // triggers are always given, empty or not, since an update without them keeps the last ones.
      const rollingBack = release.releaseId === tags.find((tag) => tag.Key === PREVIOUS_RELEASE_ID_TAG)?.Value;
      const healthAlarmArn = `arn:${partition}:cloudwatch:${region}:${account}:alarm:${stackName}-${CELL_HEALTH_ALARM}`;
      const keptTags = tags.filter((tag) => tag.Key !== RELEASE_ID_TAG && tag.Key !== PREVIOUS_RELEASE_ID_TAG);
      try {
        await client.send(
          new UpdateStackCommand({
            StackName: stackName,
            TemplateURL: `https://${config.bucket}.s3.${region}.${urlSuffix(partition)}/${releaseTemplateKey(release.releaseId, cellId)}`,
            Capabilities: [...CAPABILITIES],
            // The role the stack was deployed with (SST passes the CDK bootstrap's CloudFormation
            // execution role): the resources change under it, so the caller needs PassRole of it only.
            ...(stack.RoleARN ? { RoleARN: stack.RoleARN } : {}),
            // Stack tags are replaced as a whole: keep the others, record the release and the one it replaces.
            Tags: [
              ...keptTags,
              { Key: RELEASE_ID_TAG, Value: release.releaseId },
              ...(runs && runs !== release.releaseId ? [{ Key: PREVIOUS_RELEASE_ID_TAG, Value: runs }] : []),
            ],
            // The second line of defence: CloudFormation itself undoes the update if the cell turns unhealthy.
            RollbackConfiguration: rollingBack
              ? { RollbackTriggers: [], MonitoringTimeInMinutes: 0 }
              : { RollbackTriggers: [{ Arn: healthAlarmArn, Type: 'AWS::CloudWatch::CompositeAlarm' }], MonitoringTimeInMinutes: config.monitoringMinutes ?? 10 },
            ClientRequestToken: `${tokenPrefix(release.releaseId, cellId)}${now()}`,
          }),
        );
      } catch (error) {
        if (errorName(error) === 'ValidationError' && /No updates are to be performed/.test((error as Error).message)) return 'deployed';
        if (errorName(error) === 'ValidationError') throw new DeployFailed(cellId, `${stackName}: ${(error as Error).message}`);
        throw error;
      }
      return 'in-progress';
    },
  };
}
