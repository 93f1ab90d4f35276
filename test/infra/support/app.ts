import type { Stack as CdkStack } from 'aws-cdk-lib';
import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { IntrinsicResolver } from './intrinsics.js';
import { loadRoles, type RoleUnderTest } from './iam.js';
import { ACCOUNT, synthesize, type SynthesizedApp, type SynthOptions } from './synth.js';

/**
 * The synthesized app plus what the proofs need: resolved templates, every role with its effective
 * documents, and lookups from constructs (by their id in the stack code) to template resources.
 */
export interface InfraFixture extends SynthesizedApp {
  resolver: IntrinsicResolver;
  roles: RoleUnderTest[];
  /** The CloudFormation logical id of the resource behind `construct`. */
  logicalId(construct: IConstruct): string;
  /** The construct at `path` (ids separated by `/`) inside `stack`. */
  construct(stack: CdkStack, path: string): IConstruct;
  /** The role created as construct `path` in `stack`. */
  role(stack: CdkStack, path: string): RoleUnderTest;
  /** Resolved `Fn::GetAtt`/`Ref` of the resource behind the construct at `path`. */
  arn(stack: CdkStack, path: string): string;
  ref(stack: CdkStack, path: string): string;
  /** Every resource of a type in a stack, properties resolved. */
  resources(stack: CdkStack, type: string): { logicalId: string; properties: Record<string, unknown> }[];
}

export async function infraFixture(options: SynthOptions = {}): Promise<InfraFixture> {
  const synthesized = await synthesize(options);
  const templates = new Map(synthesized.stacks.map((stack) => [stack.stackName, synthesized.json(stack)]));
  const resolver = new IntrinsicResolver(templates, { account: ACCOUNT, region: synthesized.region });
  const roles = loadRoles(resolver, [...templates.keys()]);

  const construct = (stack: CdkStack, path: string): IConstruct => {
    let current: IConstruct = stack;
    for (const id of path.split('/')) current = current.node.findChild(id);
    return current;
  };
  const logicalId = (target: IConstruct): string => {
    const resource = CfnResource.isCfnResource(target) ? target : target.node.defaultChild;
    if (!resource || !CfnResource.isCfnResource(resource)) throw new Error(`${target.node.path} has no CloudFormation resource`);
    return resource.stack.resolve(resource.logicalId) as string;
  };

  return {
    ...synthesized,
    resolver,
    roles,
    logicalId,
    construct,
    role(stack, path) {
      const id = logicalId(construct(stack, path));
      const role = roles.find((candidate) => candidate.stack === stack.stackName && candidate.logicalId === id);
      if (!role) throw new Error(`${stack.stackName}/${path} is not a role`);
      return role;
    },
    arn(stack, path) {
      return resolver.getAtt(stack.stackName, logicalId(construct(stack, path)), 'Arn');
    },
    ref(stack, path) {
      return resolver.ref(stack.stackName, logicalId(construct(stack, path)));
    },
    resources(stack, type) {
      return Object.entries(synthesized.json(stack).Resources)
        .filter(([, resource]) => resource.Type === type)
        .map(([id, resource]) => ({
          logicalId: id,
          properties: resolver.resolve(stack.stackName, resource.Properties ?? {}) as Record<string, unknown>,
        }));
    },
  };
}
