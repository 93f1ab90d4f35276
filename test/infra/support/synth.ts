import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack as CdkStack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { App } from 'sst/constructs';
import { WEB_DIST_CONTEXT } from '../../../stacks/Router.js';
import { initProject, useProject } from 'sst/project.js';
import * as Cell from '@cellbook/core/cells/cell';

/** A fixed, fake account: nothing here ever talks to AWS. */
export const ACCOUNT = '123456789012';
export const STAGE = 'test';

export interface SynthOptions {
  stage?: string;
  /**
   * Bundle every function with esbuild, as `sst deploy` does. Off by default: SST then treats the
   * stacks as inactive and gives functions placeholder code, which changes nothing else in the
   * templates and keeps a synth to a few seconds.
   */
  bundle?: boolean;
}

export interface SynthesizedApp {
  app: App;
  assembly: CloudAssembly;
  region: string;
  stage: string;
  controlPlane: CdkStack;
  /** cell id → its stack, in catalog order. */
  cells: Map<string, CdkStack>;
  router: CdkStack;
  stacks: CdkStack[];
  template(stack: CdkStack): Template;
  /** Raw CloudFormation, for intrinsic resolution and policy simulation. */
  json(stack: CdkStack): CfnTemplate;
}

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

/**
 * A two-file stand-in for the web app's build (index.html and one hashed asset): what the StaticSite
 * packages when the stacks are active, so a synth never runs Vite and never depends on whether
 * `npm run build:web` was run.
 */
function webDistFixture(): string {
  const dist = mkdtempSync(join(tmpdir(), 'cellbook-web-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Cellbook</title><script type="module" src="/app/assets/index-fixture.js"></script>\n');
  writeFileSync(join(dist, 'assets', 'index-fixture.js'), 'export {};\n');
  return dist;
}

/**
 * Synthesizes the whole app the way the SST CLI does (initProject → App → the config's `stacks`
 * → finish → synth), offline: fixed stage, fake account, and NODE_ENV=test, which SST reads to skip
 * its bootstrap lookup — the one step of `finish()` that would call AWS.
 */
export async function synthesize(options: SynthOptions = {}): Promise<SynthesizedApp> {
  const stage = options.stage ?? STAGE;
  process.env.NODE_ENV = 'test';
  if (options.bundle) {
    // SST runs `npm install` in every bundle's directory (to add packages it keeps external; we
    // keep none). Offline, it has nothing to fetch and never touches the registry.
    process.env.npm_config_offline = 'true';
    process.env.npm_config_audit = 'false';
    process.env.npm_config_fund = 'false';
    process.env.npm_config_update_notifier = 'false';
    process.env.SST_BUILD_CONCURRENCY ??= String(Math.max(2, availableParallelism()));
  }
  await initProject({ stage });
  const { config } = useProject();
  const { default: sstConfig } = await import('../../../sst.config.js');
  const app = new App(
    {
      mode: 'deploy',
      stage,
      name: config.name,
      region: config.region,
      account: ACCOUNT,
      ...(options.bundle ? {} : { isActiveStack: () => false }),
    },
    { outdir: mkdtempSync(join(tmpdir(), 'cellbook-cdk-')), context: { [WEB_DIST_CONTEXT]: webDistFixture() } },
  );
  await sstConfig.stacks(app);
  await app.finish();
  const assembly = app.synth();

  const stacks = app.node.children.filter((child): child is CdkStack => 'templateOptions' in child);
  const byName = (id: string) => {
    const stack = stacks.find((candidate) => candidate.stackName === app.logicalPrefixedName(id));
    if (!stack) throw new Error(`no stack ${id} in the synthesized app`);
    return stack;
  };
  const templates = new Map<CdkStack, Template>();
  return {
    app,
    assembly,
    region: config.region!,
    stage,
    controlPlane: byName('ControlPlane'),
    cells: new Map(Cell.CELL_CATALOG.map((definition) => [definition.cellId, byName(definition.cellId)])),
    router: byName('Router'),
    stacks,
    template(stack) {
      let template = templates.get(stack);
      if (!template) {
        template = Template.fromStack(stack);
        templates.set(stack, template);
      }
      return template;
    },
    json(stack) {
      return assembly.getStackByName(stack.stackName).template as CfnTemplate;
    },
  };
}
