import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const FUNCTIONS_SRC = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../functions/src');
/** The repository root: esbuild names inputs relative to it in its output, so a bundle never depends on the caller's working directory. */
const REPO_ROOT = resolve(FUNCTIONS_SRC, '../../..');
const WORKER_HOST = fileURLToPath(new URL('./worker-host.ts', import.meta.url));

/** What a function host runs: a worker host (the local Lambda runtime) and each function's module. */
export interface FunctionCode {
  /** Absolute path of the worker host script. */
  workerHost: string;
  /** handler name (e.g. `cases/create`) → absolute path of its bundled module. */
  functions: Readonly<Record<string, string>>;
}

export interface FunctionBundle {
  dir: string;
  /** Absolute path of the worker host script. */
  workerHost: string;
  /** handler name (e.g. `cases/create`) → absolute path of its bundled module. */
  functions: Record<string, string>;
  /** Every source file that went into the function bundles (for the licence check). */
  inputs: string[];
}

/** The source of the module bundled as a handler's entry instead of its own file (see `BundleOptions.entrySources`). */
export interface EntrySource {
  /** ESM source; it may import the handler's own module by the specifier `cellbook:handler`. */
  contents: string;
}

export interface BundleOptions {
  /** Where to write the bundles (a new temporary directory by default). */
  outdir?: string;
  /**
   * handler name → the module to bundle as that handler's entry, in place of its source file: a
   * wrapper around the real handler (a release's injected fault). Handlers not named are bundled as they are.
   */
  entrySources?: Readonly<Record<string, EntrySource>>;
  /** Other modules bundled beside the handlers (sharing their chunks): output name → absolute source path. */
  extraEntries?: Readonly<Record<string, string>>;
}

const WRAPPED_NAMESPACE = 'cellbook-wrapped-entry';
const REAL_HANDLER = 'cellbook:handler';

/** Resolves the virtual entries of `entrySources`, and `cellbook:handler` inside them to the handler's own source. */
function wrappedEntries(entrySources: Readonly<Record<string, EntrySource>>): esbuild.Plugin {
  return {
    name: 'cellbook-wrapped-entries',
    setup(build) {
      build.onResolve({ filter: /^cellbook-wrapped:/ }, (args) => ({ path: args.path.slice('cellbook-wrapped:'.length), namespace: WRAPPED_NAMESPACE }));
      build.onResolve({ filter: new RegExp(`^${REAL_HANDLER}$`), namespace: WRAPPED_NAMESPACE }, (args) => ({ path: join(FUNCTIONS_SRC, `${args.importer}.ts`) }));
      build.onLoad({ filter: /.*/, namespace: WRAPPED_NAMESPACE }, (args) => ({
        contents: entrySources[args.path]!.contents,
        loader: 'js',
        resolveDir: FUNCTIONS_SRC,
      }));
    },
  };
}

/**
 * Bundles the handlers the way SST does for Lambda (esbuild, ESM, one entry per function), so the
 * local platform runs the same artefacts a deploy would ship. Shared chunks are split out so a
 * worker hosting several functions loads the AWS SDK once.
 */
export async function bundleFunctions(handlers: readonly string[], options: BundleOptions = {}): Promise<FunctionBundle> {
  const dir = options.outdir ?? (await mkdtemp(join(tmpdir(), 'cellbook-functions-')));
  const entrySources = options.entrySources ?? {};
  for (const name of Object.keys(entrySources)) {
    if (!handlers.includes(name)) throw new Error(`cannot wrap ${name}: it is not one of the handlers bundled`);
  }
  const entryPoints: Record<string, string> = { '__worker-host': WORKER_HOST, ...options.extraEntries };
  for (const name of handlers) entryPoints[name] = name in entrySources ? `cellbook-wrapped:${name}` : join(FUNCTIONS_SRC, `${name}.ts`);
  const result = await esbuild.build({
    entryPoints,
    absWorkingDir: REPO_ROOT,
    plugins: Object.keys(entrySources).length > 0 ? [wrappedEntries(entrySources)] : [],
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Some dependencies still `require()` Node built-ins; give ESM chunks a `require`.
    banner: { js: "import { createRequire as __cellbookCreateRequire } from 'node:module'; const require = __cellbookCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
  const functions: Record<string, string> = {};
  for (const name of handlers) functions[name] = join(dir, `${name}.mjs`);
  return {
    dir,
    workerHost: join(dir, '__worker-host.mjs'),
    functions,
    inputs: Object.keys(result.metafile.inputs),
  };
}
