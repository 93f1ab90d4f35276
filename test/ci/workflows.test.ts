import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * The GitHub Actions workflows, checked offline: each is valid for GitHub (action-validator, the
 * schema GitHub itself publishes), and keeps our rules — tests on every push and pull request through
 * `.ci/run`; releases that never overlap, use an OIDC role and wait for a person before the dedicated
 * cells (DESIGN §9).
 */
const ROOT = join(import.meta.dirname, '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const VALIDATOR = join(ROOT, 'node_modules', '.bin', 'action-validator');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
const workflow = (name: string): Workflow => YAML.parse(readFileSync(join(WORKFLOWS, name), 'utf8')) as Workflow;
const jobsCalling = (flow: Workflow, pattern: RegExp) =>
  Object.entries(flow.jobs).filter(([, job]) => job.steps.some((step) => step.run !== undefined && pattern.test(step.run)));
const assumesRole = (job: Job) => job.steps.some((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));

describe('the workflow files', () => {
  it('are found', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'release.yml']));
  });

  it.each(files)('%s is a valid GitHub Actions workflow (action-validator)', (name) => {
    expect(existsSync(VALIDATOR), 'add "@action-validator/cli": "0.6.0" and "@action-validator/core": "0.6.0" to devDependencies').toBe(true);
    expect(() => execFileSync(VALIDATOR, [join(WORKFLOWS, name)], { stdio: 'pipe' })).not.toThrow();
  });

  it.each(files)('%s pins every action to at least a major version', (name) => {
    const uses = Object.values(workflow(name).jobs).flatMap((job) => job.steps.flatMap((step) => (step.uses ? [step.uses] : [])));
    for (const action of uses) expect(action).toMatch(/@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
  });
});

describe('ci.yml', () => {
  const ci = workflow('ci.yml');

  it('runs on every push and every pull request', () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(ci.on.push ?? {}).not.toHaveProperty('branches');
  });

  it('tests with `bash .ci/run` on Node 20, with the npm cache', () => {
    const [testJob] = jobsCalling(ci, /^bash \.ci\/run$/m);
    expect(testJob, 'a job that runs `bash .ci/run`').toBeDefined();
    const setupNode = testJob?.[1].steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with).toMatchObject({ 'node-version': 20, cache: 'npm' });
  });
});

describe('release.yml', () => {
  const release = workflow('release.yml');

  it('releases main after CI passed, or on demand', () => {
    expect(release.on.workflow_run).toMatchObject({ workflows: ['CI'], types: ['completed'], branches: ['main'] });
    expect(release.on).toHaveProperty('workflow_dispatch');
  });

  it('never runs two releases of a stage at once, and never cancels one in flight', () => {
    expect(release.concurrency?.group).toMatch(/^release-/);
    expect(release.concurrency?.['cancel-in-progress']).toBe(false);
  });

  it('reaches AWS only through the OIDC role: every job that assumes it may request an id token', () => {
    const assuming = Object.entries(release.jobs).filter(([, job]) => assumesRole(job));
    expect(assuming.length).toBeGreaterThan(0);
    for (const [name, job] of assuming) {
      expect(job.permissions?.['id-token'] ?? release.permissions?.['id-token'], name).toBe('write');
      const credentials = job.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(credentials?.with?.['role-to-assume'], name).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);
    }
  });

  it('drives the pooled waves first, stopping before the dedicated cells', () => {
    const pooled = jobsCalling(release, /release:aws -- drive .*--stop-before dedicated/);
    expect(pooled).toHaveLength(1);
    expect(pooled[0]?.[1].environment).toBeUndefined();
  });

  it('drives the dedicated cells only after the pooled waves, in an environment that needs an approval', () => {
    const toTheEnd = jobsCalling(release, /release:aws -- drive (?!.*--stop-before)/);
    expect(toTheEnd).toHaveLength(1);
    const pooledName = jobsCalling(release, /--stop-before dedicated/)[0]?.[0];
    const [, enterprise] = toTheEnd[0] ?? [];
    expect(enterprise?.environment, 'the enterprise job runs in an environment with required reviewers').toBeTruthy();
    expect([enterprise?.needs].flat()).toContain(pooledName);
  });
});
