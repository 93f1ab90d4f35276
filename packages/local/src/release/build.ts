/**
 * Local releases (DESIGN §9): what a local cell runs — the cell's function bundles and its
 * configuration — built once into a directory named by its content, and verified byte for byte
 * whenever it is loaded again. A deliberately faulty release (one route failing or slow) is built
 * the same way, its fault wrapped around one handler at bundle time: the handlers themselves never
 * know about faults.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ReleaseManifest, isReleaseId, releaseIdOf, sha256 } from '@cellbook/core/releases/manifest';
import { CELL_AUTHORIZER, CELL_ROUTES } from '@cellbook/functions/routes';
import { bundleFunctions, type EntrySource } from '../lambda/bundle.js';

/** One route of a release made to fail (`error`: its handler throws, as a bug would) or to answer late (`slow`). */
export interface FaultInjection {
  /** `METHOD /path` of one of the cell's routes, e.g. `GET /cases`. */
  route: string;
  kind: 'error' | 'slow';
  /** How long a `slow` route waits before running its handler (default 5,000 ms). */
  delayMs?: number;
}

export interface BuildReleaseOptions {
  /** The directory that holds releases, one sub-directory per release id. */
  outRoot: string;
  /** What the release is built from (see `workingTreeCommit`). */
  commit: string;
  fault?: FaultInjection;
  /** Cell settings that are part of the release. */
  config?: Record<string, string>;
}

export interface LocalRelease {
  releaseId: string;
  manifest: ReleaseManifest;
  /** `<outRoot>/<releaseId>`. */
  dir: string;
  /** Absolute path of the worker host (the local Lambda runtime) built with the release. */
  workerHost: string;
  /** Every cell function (the routes' handlers and the authorizer) → absolute path of its bundle. */
  functions: Record<string, string>;
}

const MANIFEST_FILE = 'manifest.json';
const WORKER_HOST_FILE = '__worker-host.mjs';
const DEFAULT_SLOW_DELAY_MS = 5_000;
const MAX_SLOW_DELAY_MS = 120_000;
/** The setting of a release's config that describes its injected fault. */
export const FAULT_SETTING = 'fault';

/** The functions a cell runs: what a release contains. */
export const CELL_FUNCTIONS: readonly string[] = [...CELL_ROUTES.map((route) => route.handler), CELL_AUTHORIZER];

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

function routeKey(route: { method: string; path: string }): string {
  return `${route.method} ${route.path}`;
}

/** The handler behind a fault's route; throws when the route is not a cell route. */
function faultHandler(fault: FaultInjection): string {
  const route = CELL_ROUTES.find((candidate) => routeKey(candidate) === fault.route);
  if (!route) throw new Error(`fault route "${fault.route}" is not a cell route (one of: ${CELL_ROUTES.map(routeKey).join(', ')})`);
  return route.handler;
}

/** `GET /cases:error`, `POST /cases:slow:4000`: the fault as one string, in the manifest and on the command line. */
export function describeFault(fault: FaultInjection): string {
  return fault.kind === 'slow' ? `${fault.route}:slow:${fault.delayMs ?? DEFAULT_SLOW_DELAY_MS}` : `${fault.route}:error`;
}

/**
 * Reads a fault from a command-line flag: `"GET /cases:error"` or `"POST /cases:slow:4000"` (a delay
 * in milliseconds, 5,000 when left out). The route must be one of the cell's routes.
 */
export function parseFault(text: string): FaultInjection {
  const match = /^\s*([A-Za-z]+) (\/\S*):(error|slow)(?::(\d+))?\s*$/.exec(text);
  if (!match) {
    throw new Error(`fault "${text}" is not of the form "METHOD /path:error" or "METHOD /path:slow[:milliseconds]", e.g. "GET /cases:error"`);
  }
  const [, method, path, kind, delay] = match;
  const fault: FaultInjection = { route: `${method!.toUpperCase()} ${path}`, kind: kind as FaultInjection['kind'] };
  if (delay !== undefined) {
    if (kind !== 'slow') throw new Error(`fault "${text}": only a slow fault takes a delay`);
    const delayMs = Number(delay);
    if (delayMs < 1 || delayMs > MAX_SLOW_DELAY_MS) throw new Error(`fault "${text}": the delay must be from 1 to ${MAX_SLOW_DELAY_MS} ms`);
    fault.delayMs = delayMs;
  }
  faultHandler(fault);
  return fault;
}

/** The module bundled in place of the faulty route's handler: the real handler, wrapped. */
function faultEntry(fault: FaultInjection): EntrySource {
  const description = JSON.stringify(describeFault(fault));
  if (fault.kind === 'error') {
    // The real module is still bundled and loaded (its cold start, its clients), as a bug inside it would be.
    return {
      contents: `import { handler as real } from 'cellbook:handler';
void real;
export const handler = async () => {
  throw new Error('injected fault ' + ${description});
};
`,
    };
  }
  const delayMs = fault.delayMs ?? DEFAULT_SLOW_DELAY_MS;
  if (!Number.isInteger(delayMs) || delayMs < 1 || delayMs > MAX_SLOW_DELAY_MS)
    throw new Error(`a slow fault's delay must be from 1 to ${MAX_SLOW_DELAY_MS} ms, got ${delayMs}`);
  return {
    contents: `import { handler as real } from 'cellbook:handler';
export const handler = async (event, context) => {
  await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
  return real(event, context);
};
`,
  };
}

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const path of await readdir(dir, { recursive: true })) {
    if ((await stat(join(dir, path))).isFile()) files.push(path.split(sep).join('/'));
  }
  return files.sort();
}

function releaseOf(outRoot: string, releaseId: string, manifest: ReleaseManifest): LocalRelease {
  const dir = join(outRoot, releaseId);
  const functions: Record<string, string> = {};
  for (const name of CELL_FUNCTIONS) functions[name] = join(dir, `${name}.mjs`);
  return { releaseId, manifest, dir, workerHost: join(dir, WORKER_HOST_FILE), functions };
}

function isErrnoException(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * Builds a release of the cell functions: bundles them (with the fault wrapped around its route's
 * handler, if any) into a staging directory, records each file's sha256 and the configuration in
 * its manifest, names it by `releaseIdOf(manifest)` and moves it to `<outRoot>/<releaseId>` in one
 * rename. A release that already exists there is kept as it is (same content, same id).
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<LocalRelease> {
  const config: Record<string, string> = { ...options.config };
  const entrySources: Record<string, EntrySource> = {};
  if (options.fault) {
    if (FAULT_SETTING in config) throw new Error(`the setting "${FAULT_SETTING}" is reserved for the injected fault`);
    entrySources[faultHandler(options.fault)] = faultEntry(options.fault);
    config[FAULT_SETTING] = describeFault(options.fault);
  }
  await mkdir(options.outRoot, { recursive: true });
  const staging = join(options.outRoot, `.staging-${randomUUID()}`);
  try {
    await bundleFunctions(CELL_FUNCTIONS, { outdir: staging, entrySources });
    const artefacts: Record<string, string> = {};
    for (const path of await filesUnder(staging)) artefacts[path] = sha256(await readFile(join(staging, path)));
    const manifest = ReleaseManifest.parse({ commit: options.commit, artefacts, config });
    const releaseId = releaseIdOf(manifest);
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify({ releaseId, ...manifest }, null, 2)}\n`);
    try {
      await rename(staging, join(options.outRoot, releaseId));
    } catch (error) {
      // Built before (or by a concurrent build): the release is its content, keep the one there.
      if (!isErrnoException(error, 'EEXIST', 'ENOTEMPTY', 'EPERM')) throw error;
      await rm(staging, { recursive: true, force: true });
      return await loadRelease(options.outRoot, releaseId);
    }
    return releaseOf(options.outRoot, releaseId, manifest);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Raised when a stored release is missing, or differs from its manifest by one byte. */
export class ReleaseVerificationFailed extends Error {
  constructor(
    readonly releaseId: string,
    message: string,
  ) {
    super(`release ${releaseId}: ${message}`);
    this.name = 'ReleaseVerificationFailed';
  }
}

/**
 * A stored release, verified: its manifest must name it (its id is the manifest's), and every
 * artefact must be there with the sha256 the manifest records, the cell functions among them.
 * Throws `ReleaseVerificationFailed` otherwise.
 */
export async function loadRelease(outRoot: string, releaseId: string): Promise<LocalRelease> {
  if (!isReleaseId(releaseId)) throw new ReleaseVerificationFailed(String(releaseId), 'not a release id (r- and 16 hex digits)');
  const dir = join(outRoot, releaseId);
  let stored: unknown;
  try {
    stored = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    throw new ReleaseVerificationFailed(releaseId, `no readable ${MANIFEST_FILE} in ${dir} (${error instanceof Error ? error.message : String(error)})`);
  }
  const { releaseId: _named, ...fields } = (stored ?? {}) as Record<string, unknown>;
  const parsed = ReleaseManifest.safeParse(fields);
  if (!parsed.success)
    throw new ReleaseVerificationFailed(releaseId, `its manifest is malformed: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`);
  const manifest = parsed.data;
  if (releaseIdOf(manifest) !== releaseId) throw new ReleaseVerificationFailed(releaseId, `its manifest is that of ${releaseIdOf(manifest)}`);
  for (const [path, expected] of Object.entries(manifest.artefacts)) {
    let content: Buffer;
    try {
      content = await readFile(join(dir, path));
    } catch {
      throw new ReleaseVerificationFailed(releaseId, `artefact ${path} is missing`);
    }
    if (sha256(content) !== expected) throw new ReleaseVerificationFailed(releaseId, `artefact ${path} does not match its sha256 in the manifest (tampered with?)`);
  }
  for (const required of [WORKER_HOST_FILE, ...CELL_FUNCTIONS.map((name) => `${name}.mjs`)]) {
    if (!(required in manifest.artefacts)) throw new ReleaseVerificationFailed(releaseId, `its manifest lists no ${required}`);
  }
  return releaseOf(outRoot, releaseId, manifest);
}

const run = promisify(execFile);

/**
 * The commit a release of the working tree is built from: `git rev-parse HEAD`, with `+dirty` when
 * `git status --porcelain` lists a change; `unknown` outside a git checkout.
 */
export async function workingTreeCommit(cwd: string = REPO_ROOT): Promise<string> {
  try {
    const head = (await run('git', ['rev-parse', 'HEAD'], { cwd })).stdout.trim();
    const status = (await run('git', ['status', '--porcelain'], { cwd, maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
    return status ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}
