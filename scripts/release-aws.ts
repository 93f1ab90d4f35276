/**
 * Releases in AWS (DESIGN §9), from CI or an operator's shell, with the stage's AWS credentials:
 *
 *   npm run release:aws -- build --stage S [--assembly .sst/dist]   after `sst build --stage S`: prints the release id
 *   npm run release:aws -- start --stage S --release ID            records the release in the control plane
 *   npm run release:aws -- drive --stage S --release ID [--stop-before dedicated]
 *   npm run release:aws -- adopt --stage S --release ID            once, on a stage deployed with `sst deploy`:
 *       records a release built from the commit the cells run as the release each cell runs, so the
 *       first release has something to roll back to (a cell with no recorded release is refused)
 *
 * `build` reads the cloud assembly, computes the release (scripts/release/cloud-assembly.ts),
 * publishes the function bundles the cell templates reference to the CDK bootstrap bucket with
 * `cdk-assets` (the publisher `cdk deploy` and `sst deploy` use, driven by the assembly's own asset
 * manifests, so the templates find their code where they expect it), and writes each cell's
 * template and the manifest to the release bucket under `releases/<id>/`. Everything but the id
 * goes to stderr, so CI can capture the id.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CELL_CATALOG } from '@cellbook/core/cells/cell';
import { ReleaseManifest, releaseIdOf } from '@cellbook/core/releases/manifest';
import { releaseTemplateKey } from '@cellbook/functions/releases/cloudformation-deployer';
import { awsReleaseDeps } from '@cellbook/functions/releases/aws-release-deps';
import { releaseFromAssembly } from './release/cloud-assembly.js';

/** sst.config.ts's app name: stacks are `<stage>-<app>-<id>`. */
const APP_NAME = 'cellbook';

const log = (message: string) => process.stderr.write(`${message}\n`);

function usage(problem: string): never {
  log(`${problem}\nusage: release-aws build --stage S [--assembly DIR] | start|adopt --stage S --release ID | drive --stage S --release ID [--stop-before dedicated]`);
  process.exit(2);
}

/** The ControlPlane stack's outputs: the release bucket, and the tables and bus the orchestrator writes. */
async function controlPlaneOutputs(namePrefix: string): Promise<Record<string, string>> {
  const { Stacks } = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: `${namePrefix}-ControlPlane` }));
  return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [])));
}

function required(outputs: Record<string, string>, key: string): string {
  const value = outputs[key];
  if (!value) throw new Error(`the ControlPlane stack has no output ${key}: deploy it first (sst deploy)`);
  return value;
}

/** The control plane's configuration, as its functions receive it (core reads it from the environment). */
function useControlPlane(outputs: Record<string, string>): void {
  process.env.TENANTS_TABLE = required(outputs, 'TenantsTable');
  process.env.CELLS_TABLE = required(outputs, 'CellsTable');
  process.env.EVENT_BUS_NAME = required(outputs, 'EventBusName');
}

/** The commit checked out (in CI, the run's head_sha; GITHUB_SHA would be the default branch's tip under workflow_run). */
function commitOf(): string {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
  return dirty ? `${head}+dirty` : head;
}

async function build(stage: string, assemblyDir: string): Promise<void> {
  const namePrefix = `${stage}-${APP_NAME}`;
  const region = CELL_CATALOG[0]?.region ?? usage('the cell catalog is empty');
  const release = releaseFromAssembly({ assemblyDir, namePrefix, cellIds: CELL_CATALOG.map((cell) => cell.cellId), commit: commitOf(), config: { stage, region } });
  const bucket = required(await controlPlaneOutputs(namePrefix), 'ReleaseBucketName');
  log(`release ${release.releaseId}: ${release.cells.length} cells, ${Object.keys(release.manifest.artefacts).length} artefacts`);

  for (const manifestPath of new Set(release.cells.flatMap((cell) => cell.assetManifestPaths))) {
    log(`publishing the assets of ${manifestPath}`);
    execFileSync('npx', ['cdk-assets', 'publish', '--path', manifestPath], { stdio: ['ignore', process.stderr, process.stderr] });
  }
  const s3 = new S3Client({ region });
  for (const cell of release.cells) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: releaseTemplateKey(release.releaseId, cell.cellId),
        Body: readFileSync(cell.templatePath),
        ContentType: 'application/json',
      }),
    );
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `releases/${release.releaseId}/manifest.json`,
      Body: JSON.stringify(release.manifest, null, 2),
      ContentType: 'application/json',
    }),
  );
  process.stdout.write(`${release.releaseId}\n`);
}

async function manifestOf(bucket: string, releaseId: string): Promise<ReleaseManifest> {
  const object = await new S3Client({}).send(new GetObjectCommand({ Bucket: bucket, Key: `releases/${releaseId}/manifest.json` }));
  const manifest = ReleaseManifest.parse(JSON.parse((await object.Body?.transformToString()) ?? 'null'));
  if (releaseIdOf(manifest) !== releaseId) throw new Error(`releases/${releaseId}/manifest.json is the manifest of ${releaseIdOf(manifest)}: refusing it`);
  return manifest;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { stage: { type: 'string' }, release: { type: 'string' }, assembly: { type: 'string', default: '.sst/dist' }, 'stop-before': { type: 'string' } },
  });
  const [command] = positionals;
  if (command !== 'build' && command !== 'start' && command !== 'drive' && command !== 'adopt') usage(`unknown command ${JSON.stringify(command)}`);
  const stage = values.stage ?? usage('--stage is required');
  if (command === 'build') return build(stage, values.assembly);

  const releaseId = values.release ?? usage('--release is required');
  const stopBefore = values['stop-before'];
  if (stopBefore !== undefined && (command !== 'drive' || stopBefore !== 'dedicated')) usage('--stop-before takes only "dedicated", with drive');
  const namePrefix = `${stage}-${APP_NAME}`;
  const outputs = await controlPlaneOutputs(namePrefix);
  useControlPlane(outputs);
  // After the environment is set: core reads its configuration when first used.
  const Orchestrator = await import('@cellbook/core/releases/orchestrator');
  const bucket = required(outputs, 'ReleaseBucketName');

  if (command === 'adopt') {
    const { registerManifest } = await import('@cellbook/core/releases/release');
    const Cell = await import('@cellbook/core/cells/cell');
    await registerManifest(await manifestOf(bucket, releaseId));
    for (const cell of await Cell.list()) {
      if (cell.status === 'provisioning' || cell.release) continue;
      await Cell.recordRelease(cell.cellId, { releaseId, previousReleaseId: null, since: new Date().toISOString() });
      log(`${cell.cellId} runs ${releaseId}`);
    }
    return;
  }
  if (command === 'start') {
    const run = await Orchestrator.startRelease(
      { manifest: await manifestOf(bucket, releaseId), holdBefore: 'dedicated' },
      { actor: `ci:${process.env.GITHUB_ACTOR ?? userInfo().username}` },
    );
    log(`release ${run.releaseId} started: ${run.status}`);
    return;
  }
  const owner = process.env.GITHUB_RUN_ID ? `ci:${process.env.GITHUB_RUN_ID}` : `cli:${userInfo().username}:${process.pid}`;
  // Driving to the end is what the approval allows: the release is held before its dedicated waves until then.
  if (!stopBefore) await Orchestrator.releaseHold(releaseId, { actor: `ci:${process.env.GITHUB_ACTOR ?? userInfo().username}` });
  const run = await Orchestrator.driveRelease(releaseId, awsReleaseDeps({ namePrefix, bucket, owner }), stopBefore ? { stopBefore: 'dedicated' } : {});
  log(`release ${run.releaseId}: ${run.status}`);
  // A release that was rolled back, halted or aborted fails the CI job.
  if (run.status === 'halted' || run.status === 'aborted' || run.status === 'rolled-back') process.exitCode = 1;
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
