import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const FUNCTIONS_SRC = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../functions/src');
const WORKER_HOST = fileURLToPath(new URL('./worker-host.ts', import.meta.url));

export interface FunctionBundle {
  dir: string;
  /** Absolute path of the worker host script. */
  workerHost: string;
  /** handler name (e.g. `cases/create`) → absolute path of its bundled module. */
  functions: Record<string, string>;
  /** Every source file that went into the function bundles (for the licence check). */
  inputs: string[];
}

/**
 * Bundles the handlers the way SST does for Lambda (esbuild, ESM, one entry per function), so the
 * local platform runs the same artefacts a deploy would ship. Shared chunks are split out so a
 * worker hosting several functions loads the AWS SDK once.
 */
export async function bundleFunctions(handlers: readonly string[], outdir?: string): Promise<FunctionBundle> {
  const dir = outdir ?? (await mkdtemp(join(tmpdir(), 'cellbook-functions-')));
  const entryPoints: Record<string, string> = { '__worker-host': WORKER_HOST };
  for (const name of handlers) entryPoints[name] = join(FUNCTIONS_SRC, `${name}.ts`);
  const result = await esbuild.build({
    entryPoints,
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
