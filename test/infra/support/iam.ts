import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { IntrinsicResolver } from './intrinsics.js';

/**
 * IAM as deployed: every role of the synthesized app with the documents that would apply to it
 * (inline policies, AWS::IAM::Policy resources attached from any stack, and the AWS managed
 * policies we know), evaluated by @cloud-copilot/iam-simulate — an implementation of IAM's policy
 * evaluation logic that is independent of CDK and of this code base.
 */
export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[] | Record<string, unknown>;
}

export interface RoleUnderTest {
  stack: string;
  logicalId: string;
  name: string;
  arn: string;
  trustPolicy: PolicyDocument;
  policies: { name: string; policy: PolicyDocument }[];
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/**
 * AWS managed policies attached in the app, as AWS publishes them. A role carrying any other
 * managed policy cannot be proven offline, and `loadRoles` refuses it instead of guessing.
 */
const AWS_MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
  'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogGroups',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
          'logs:GetLogEvents',
          'logs:FilterLogEvents',
        ],
        Resource: '*',
      },
    ],
  },
};

export function loadRoles(resolver: IntrinsicResolver, stacks: readonly string[]): RoleUnderTest[] {
  const roles: RoleUnderTest[] = [];
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(resolver.template(stack).Resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      const props = resolver.resolve(stack, resource.Properties ?? {}) as {
        AssumeRolePolicyDocument: PolicyDocument;
        Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[];
        ManagedPolicyArns?: string[];
      };
      const policies = (props.Policies ?? []).map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
      for (const arn of props.ManagedPolicyArns ?? []) {
        const document = AWS_MANAGED_POLICIES[arn];
        if (!document) throw new Error(`${stack}/${logicalId} has managed policy ${arn}, which the proofs cannot evaluate`);
        policies.push({ name: arn, policy: document });
      }
      roles.push({
        stack,
        logicalId,
        name: resolver.ref(stack, logicalId),
        arn: resolver.getAtt(stack, logicalId, 'Arn'),
        trustPolicy: props.AssumeRolePolicyDocument,
        policies,
      });
    }
  }
  // Stand-alone policies may attach to a role of another stack (the Cell stacks grant the control
  // plane's onboarding worker): match them by the role name they resolve to.
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(resolver.template(stack).Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const props = resolver.resolve(stack, resource.Properties ?? {}) as { PolicyDocument: PolicyDocument; Roles?: string[] };
      for (const roleName of props.Roles ?? []) {
        const role = roles.find((candidate) => candidate.name === roleName);
        if (!role) throw new Error(`${stack}/${logicalId} attaches to unknown role ${roleName}`);
        role.policies.push({ name: `${stack}/${logicalId}`, policy: props.PolicyDocument });
      }
    }
  }
  return roles;
}

export interface AccessRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

async function simulate(simulation: Simulation): Promise<Decision> {
  const result = await runSimulation(simulation, {});
  // A request the simulator cannot evaluate proves nothing: fail loudly rather than call it a deny.
  if (result.resultType === 'error') throw new Error(`IAM simulation error: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

function sessionArn(role: Pick<RoleUnderTest, 'arn' | 'name'>, account: string): string {
  return `arn:aws:sts::${account}:assumed-role/${role.name}/proof`;
}

/**
 * What a session of `role` (tagged with `sessionTags`) may do. Same account, no SCPs, no
 * permission boundary, no resource policy: exactly the identity policies the app attaches.
 */
export function decide(resolver: IntrinsicResolver, role: RoleUnderTest, request: AccessRequest, sessionTags: Record<string, string> = {}): Promise<Decision> {
  const { account, region } = resolver.env;
  const contextVariables: Record<string, string | string[]> = {
    'aws:PrincipalArn': role.arn,
    'aws:PrincipalAccount': account,
    'aws:RequestedRegion': region,
    ...Object.fromEntries(Object.entries(sessionTags).map(([key, value]) => [`aws:PrincipalTag/${key}`, value])),
    ...request.context,
  };
  return simulate({
    request: {
      principal: sessionArn(role, account),
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables,
    },
    identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  });
}

export interface Caller {
  /** The caller's role ARN (or an account root ARN). */
  arn: string;
  name: string;
  account: string;
  policies: { name: string; policy: PolicyDocument }[];
}

/** A caller whose own policies allow every STS call: only the target's trust policy can stop it. */
export function overPrivileged(caller: Pick<Caller, 'arn' | 'name' | 'account'>): Caller {
  return {
    ...caller,
    policies: [{ name: 'allow-all-sts', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] } }],
  };
}

export function asCaller(role: RoleUnderTest, account: string): Caller {
  return { arn: role.arn, name: role.name, account, policies: role.policies };
}

/**
 * Whether `caller` may assume `target` with `tags` as session tags: `sts:AssumeRole`, and
 * `sts:TagSession` when tagging, each allowed by the caller's policies and the target's trust.
 */
export async function mayAssume(resolver: IntrinsicResolver, caller: Caller, target: RoleUnderTest, tags: Record<string, string>): Promise<boolean> {
  const tagContext: Record<string, string | string[]> = Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:RequestTag/${key}`, value]));
  if (Object.keys(tags).length > 0) tagContext['aws:TagKeys'] = Object.keys(tags);
  const actions = Object.keys(tags).length > 0 ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
  for (const action of actions) {
    const principal = caller.arn.endsWith(':root') ? caller.arn : `arn:aws:sts::${caller.account}:assumed-role/${caller.name}/proof`;
    const decision = await simulate({
      request: {
        principal,
        action,
        resource: { resource: target.arn, accountId: resolver.env.account },
        contextVariables: { 'aws:PrincipalArn': caller.arn, 'aws:PrincipalAccount': caller.account, ...tagContext },
      },
      identityPolicies: caller.policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: target.trustPolicy,
    });
    if (decision !== 'Allowed') return false;
  }
  return true;
}
