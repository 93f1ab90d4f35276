/**
 * A release for AWS read from the cloud assembly `sst build` writes (SST v2: `.sst/dist`, the CDK
 * app's outdir — `sst build --to` changes it). The assembly's `manifest.json` lists every stack
 * (`aws:cloudformation:stack`, its `templateFile`) and, as the stack's dependencies, its asset
 * manifests (`cdk:asset-manifest`, `<stack>.assets.json`), whose `files` are the function bundles
 * (directories zipped at publish time, or files) the template names by their CDK asset hash.
 *
 * The release's artefacts are each cell stack's template and every file asset those templates
 * reference, each by its sha256; its config is the stage and region. Same build → same id.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ReleaseManifest, releaseIdOf, sha256 } from '@cellbook/core/releases/manifest';

interface AssemblyArtifact {
  type: string;
  properties?: { templateFile?: string; stackName?: string; file?: string };
  dependencies?: string[];
}

interface AssetManifestFile {
  files?: Record<string, { source: { path?: string; packaging?: 'file' | 'zip' }; destinations: Record<string, { bucketName: string; objectKey: string }> }>;
}

export interface CellStackInAssembly {
  cellId: string;
  stackName: string;
  /** The template's path in the assembly directory. */
  templatePath: string;
  /** The asset manifests (`*.assets.json`) the stack depends on, paths in the assembly directory. */
  assetManifestPaths: string[];
}

export interface AwsRelease {
  releaseId: string;
  manifest: ReleaseManifest;
  cells: CellStackInAssembly[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** sha256 of a file, or of a directory as the sorted list of its files' relative paths and digests. */
export function contentDigest(path: string): string {
  if (!statSync(path).isDirectory()) return sha256(readFileSync(path));
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else lines.push(`${relative(path, full).split(sep).join('/')}\0${sha256(readFileSync(full))}`);
    }
  };
  walk(path);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** The stacks of `cellIds`, named `<namePrefix>-<cellId>` as SST names them; a missing one is an error (build with every cell). */
export function cellStacksOf(assemblyDir: string, namePrefix: string, cellIds: readonly string[]): CellStackInAssembly[] {
  const { artifacts = {} } = readJson<{ artifacts?: Record<string, AssemblyArtifact> }>(join(assemblyDir, 'manifest.json'));
  return cellIds.map((cellId) => {
    const stackName = `${namePrefix}-${cellId}`;
    const found = Object.entries(artifacts).find(
      ([id, artifact]) => artifact.type === 'aws:cloudformation:stack' && (artifact.properties?.stackName ?? id) === stackName && artifact.properties?.templateFile,
    );
    if (!found) throw new Error(`the cloud assembly in ${assemblyDir} has no stack ${stackName}: was it built for this stage?`);
    const [, stack] = found;
    const assetManifestPaths = (stack.dependencies ?? []).flatMap((dependency) => {
      const artifact = artifacts[dependency];
      return artifact?.type === 'cdk:asset-manifest' && artifact.properties?.file ? [join(assemblyDir, artifact.properties.file)] : [];
    });
    // biome-ignore lint/style/noNonNullAssertion: the find above only accepts stacks with a templateFile.
    return { cellId, stackName, templatePath: join(assemblyDir, stack.properties!.templateFile!), assetManifestPaths };
  });
}

/** The file assets a stack's asset manifests list (its template excepted: the release carries that itself), by asset id. */
export function fileAssetsOf(assemblyDir: string, cell: CellStackInAssembly): Map<string, string> {
  const assets = new Map<string, string>();
  const templateFile = relative(assemblyDir, cell.templatePath);
  for (const manifestPath of cell.assetManifestPaths) {
    for (const [assetId, asset] of Object.entries(readJson<AssetManifestFile>(manifestPath).files ?? {})) {
      if (!asset.source.path || asset.source.path === templateFile) continue;
      assets.set(assetId, join(assemblyDir, asset.source.path));
    }
  }
  return assets;
}

/** The release of one build: artefacts are the cell templates and their file assets, each by sha256. */
export function releaseFromAssembly(input: {
  assemblyDir: string;
  namePrefix: string;
  cellIds: readonly string[];
  commit: string;
  config: Record<string, string>;
}): AwsRelease {
  const cells = cellStacksOf(input.assemblyDir, input.namePrefix, input.cellIds);
  const artefacts: Record<string, string> = {};
  for (const cell of cells) {
    artefacts[`${cell.cellId}.template.json`] = sha256(readFileSync(cell.templatePath));
    for (const [assetId, path] of fileAssetsOf(input.assemblyDir, cell)) artefacts[`assets/${assetId}`] ??= contentDigest(path);
  }
  const manifest = ReleaseManifest.parse({ commit: input.commit, artefacts, config: input.config });
  return { releaseId: releaseIdOf(manifest), manifest, cells };
}
