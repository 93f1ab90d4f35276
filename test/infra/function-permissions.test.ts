import type { Stack as CdkStack } from 'aws-cdk-lib';
import type * as apig from 'aws-cdk-lib/aws-apigateway';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Table } from 'sst/constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { releaseDriverAwsStatements } from '@cellbook/core/access/release-driver-grants';
import { CELL_CATALOG } from '@cellbook/core/cells/cell';
import type { IamStatement } from '@cellbook/core/access/iam';
import { TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import { CONTROL_ROLES } from '../../stacks/control-plane/control-identities.js';
import { routerUrlParameterArn } from '../../stacks/constructs/router-url.js';
import { infraFixture, type InfraFixture } from './support/app.js';
import type { RoleUnderTest } from './support/iam.js';

/**
 * Issue 12, item 7: the local platform's IAM and the stacks' come from one definition (core's
 * access/ modules), so they cannot drift. Here, each function role of the synthesized app —
 * every policy attached to it, from the ControlPlane stack and from every Cell stack — holds exactly
 * the statements core's builders return for that role, resolved to the deployment's ARNs: not one
 * more (a grant added in a stack only), not one fewer (a grant dropped from a stack only). The
 * local platform renders the same builders (packages/local/src/roles.ts), so a grant changed for
 * one world is a grant changed for both, or this fails.
 */
let infra: InfraFixture;
beforeAll(async () => {
  infra = await infraFixture();
}, 120_000);

interface NormalStatement {
  Sid: string | undefined;
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: unknown;
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)]).sort();

function normal(statement: Record<string, unknown>): NormalStatement {
  return {
    Sid: statement.Sid as string | undefined,
    Effect: String(statement.Effect),
    Action: list(statement.Action),
    Resource: list(statement.Resource),
    ...(statement.Condition === undefined ? {} : { Condition: statement.Condition }),
  };
}

const bySid = (statements: NormalStatement[]): NormalStatement[] =>
  [...statements].sort((a, b) => `${a.Sid}${JSON.stringify(a)}`.localeCompare(`${b.Sid}${JSON.stringify(b)}`));

/**
 * The Lambda runtime's own plumbing, which CDK grants per function: its log group, X-Ray, and —
 * for functions the bus or a schedule invokes — the asynchronous invocation's on-failure
 * destination (the deployment's dead-letter queue). Not an application permission, and not in core.
 * Recognised narrowly — no Sid, only these actions, only these resources — so an application grant
 * can never hide among them.
 */
const RUNTIME_PLUMBING: { actions: ReadonlySet<string>; resource: (arn: string) => boolean }[] = [
  { actions: new Set(['logs:CreateLogStream', 'logs:PutLogEvents']), resource: (arn) => arn.includes(':log-group:') },
  { actions: new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']), resource: (arn) => arn === '*' },
  { actions: new Set(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']), resource: (arn) => arn === infra.arn(infra.controlPlane, 'DeadLetterQueue') },
];
const isRuntimePlumbing = (statement: NormalStatement): boolean =>
  statement.Sid === undefined &&
  statement.Condition === undefined &&
  RUNTIME_PLUMBING.some((kind) => statement.Action.length > 0 && statement.Action.every((action) => kind.actions.has(action)) && statement.Resource.every(kind.resource));

/** Every statement the role holds, from any policy of any stack, resolved; without the runtime's plumbing. */
function grantedTo(role: RoleUnderTest): NormalStatement[] {
  const statements = role.policies.flatMap((policy) => {
    const body = policy.policy.Statement;
    return (Array.isArray(body) ? body : [body]).map(normal);
  });
  return bySid(statements.filter((statement) => !isRuntimePlumbing(statement)));
}

/** A CDK token (or plain string) of `stack`, as the deployment resolves it. */
function resolved(stack: CdkStack, value: string): string {
  const result = infra.resolver.resolve(stack.stackName, stack.resolve(value));
  if (typeof result !== 'string') throw new Error(`${value} did not resolve to a string`);
  return result;
}

const expected = (statements: readonly IamStatement[]): NormalStatement[] => bySid(statements.map((statement) => normal({ ...statement })));

function controlResources() {
  const stack = infra.controlPlane;
  return controlIdentityStatements({
    partition: resolved(stack, stack.partition),
    region: resolved(stack, stack.region),
    tenantsTableArn: resolved(stack, (infra.construct(stack, 'tenants') as Table).cdk.table.tableArn),
    cellsTableArn: resolved(stack, (infra.construct(stack, 'cells') as Table).cdk.table.tableArn),
    usageTableArn: resolved(stack, (infra.construct(stack, 'usage') as Table).cdk.table.tableArn),
    userPoolArn: resolved(stack, (infra.construct(stack, 'UserPool') as cognito.UserPool).userPoolArn),
    eventBusArn: resolved(stack, (infra.construct(stack, 'Bus') as events.EventBus).eventBusArn),
    routerUrlParameterArn: resolved(stack, routerUrlParameterArn(stack, infra.app)),
    invitationDelivery: 'email',
  });
}

/** What the release driver may do in AWS (its control-plane statements are in controlResources). */
function releaseDriverGrants(): IamStatement[] {
  const stack = infra.controlPlane;
  const [partition, region, account] = [stack.partition, stack.region, stack.account].map((token) => resolved(stack, token)) as [string, string, string];
  return releaseDriverAwsStatements({
    partition,
    region,
    account,
    cellStackNames: CELL_CATALOG.map((cell) => `${infra.stage}-cellbook-${cell.cellId}`),
    releaseBucketArn: infra.arn(stack, 'ReleaseBucket'),
    releaseBucketName: infra.ref(stack, 'ReleaseBucket'),
    cloudFormationExecutionRoleArn: `arn:${partition}:iam::${account}:role/cdk-hnb659fds-cfn-exec-role-${account}-${region}`,
    bootstrapVersionParameterArn: `arn:${partition}:ssm:${region}:${account}:parameter/cdk-bootstrap/hnb659fds/version`,
  });
}

function cellGrants(cellId: string) {
  const stack = infra.cells.get(cellId)!;
  const restApi = (infra.construct(stack, `Api-${cellId}`) as unknown as { cdk: { restApi: apig.RestApi } }).cdk.restApi;
  const usagePlanIds = Object.fromEntries(
    TIER_NAMES.map((tier) => [tier, resolved(stack, (restApi.node.findChild(`UsagePlan-${tier}`) as apig.UsagePlan).usagePlanId)]),
  ) as Record<TierName, string>;
  return cellControlGrants({
    partition: resolved(stack, stack.partition),
    region: resolved(stack, stack.region),
    cellTableArn: resolved(stack, (infra.construct(stack, cellId) as Table).cdk.table.tableArn),
    tenantAccessRoleArn: resolved(stack, (infra.construct(stack, 'TenantAccessRole') as iam.Role).roleArn),
    restApiId: resolved(stack, restApi.restApiId),
    stageName: resolved(stack, restApi.deploymentStage.stageName),
    usagePlanIds,
  });
}

describe("each control identity's role is exactly core's definition, in the ControlPlane stack and every Cell stack", () => {
  it.each(CONTROL_IDENTITY_NAMES.map((identity) => [identity]))('%s', (identity: ControlIdentity) => {
    const role = infra.role(infra.controlPlane, CONTROL_ROLES[identity].id);
    const fromCore = [
      ...controlResources()[identity],
      ...[...infra.cells.keys()].flatMap((cellId) => cellGrants(cellId)[identity]),
      ...(identity === 'release-driver' ? releaseDriverGrants() : []),
    ];
    expect(grantedTo(role)).toEqual(expected(fromCore));
  });
});

describe("every cell's API and authorizer roles are exactly core's definition", () => {
  it.each([['api'], ['authorizer']] as const)('%s', (kind) => {
    for (const [cellId, stack] of infra.cells) {
      const tenantsTableArn = resolved(infra.controlPlane, (infra.construct(infra.controlPlane, 'tenants') as Table).cdk.table.tableArn);
      const tenantAccessRoleArn = resolved(stack, (infra.construct(stack, 'TenantAccessRole') as iam.Role).roleArn);
      const role = infra.role(stack, kind === 'api' ? 'ApiFunctionRole' : 'AuthorizerFunctionRole');
      const fromCore = kind === 'api' ? cellApiStatements({ tenantAccessRoleArn }) : cellAuthorizerStatements({ tenantsTableArn });
      expect(grantedTo(role), `${cellId} ${kind}`).toEqual(expected(fromCore));
    }
  });
});
