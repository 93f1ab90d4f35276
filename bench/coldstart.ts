/**
 * `npm run bench:coldstart`: what each function costs Lambda's init phase. Every function is
 * bundled as a deploy bundles it (SST v2's esbuild settings with the stacks' `nodejs` props:
 * ESM, minified, no source map), then imported in a fresh Node process several times; the table
 * gives its bundle size and median import time next to its **floor** — a bundle of only the AWS
 * SDK packages the function's own role lets it call, built and imported the same way in the same
 * run — and a trivial handler (no dependency at all) as the zero line. A second floor adds the
 * handler stack every function carries by the project's rules (middy, Powertools logger and
 * metrics with their middlewares): against it, a function that calls no AWS service at all (the
 * health check, the operator authorizer) has a floor too, and what remains is Cellbook's own code,
 * its schemas and the libraries it chose. Function and floors are imported in turns, so a change in
 * the machine's load touches all three alike.
 *
 * Which services a function calls is read from the permissions it is deployed with (core's
 * function permissions: the stacks render the same statements), so the floor follows the least
 * privilege the stacks grant rather than a list kept here. A function that reaches tenant data
 * calls DynamoDB (and, for users, the identity broker) through its cell's tenant access role.
 *
 *   BENCH_COLDSTART_RUNS=7 BENCH_COLDSTART_ONLY=cases/list,authorizer npm run bench:coldstart
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { functionServices } from './coldstart-services.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const FUNCTIONS_SRC = join(ROOT, 'packages/functions/src');
const RUNS = Number(process.env.BENCH_COLDSTART_RUNS ?? 9);
const ONLY = process.env.BENCH_COLDSTART_ONLY?.split(',').filter(Boolean);

/** The AWS SDK packages behind each IAM service prefix (what a function must load to call it). */
const SDK_OF_SERVICE: Readonly<Record<string, readonly { module: string; names: readonly string[] }[]>> = {
  dynamodb: [
    { module: '@aws-sdk/client-dynamodb', names: ['DynamoDBClient'] },
    { module: '@aws-sdk/lib-dynamodb', names: ['DynamoDBDocumentClient'] },
  ],
  sts: [{ module: '@aws-sdk/client-sts', names: ['STSClient'] }],
  'cognito-idp': [{ module: '@aws-sdk/client-cognito-identity-provider', names: ['CognitoIdentityProviderClient'] }],
  apigateway: [{ module: '@aws-sdk/client-api-gateway', names: ['APIGatewayClient'] }],
  events: [{ module: '@aws-sdk/client-eventbridge', names: ['EventBridgeClient'] }],
  ssm: [{ module: '@aws-sdk/client-ssm', names: ['SSMClient'] }],
  'cloudfront-keyvaluestore': [{ module: '@aws-sdk/client-cloudfront-keyvaluestore', names: ['CloudFrontKeyValueStoreClient'] }],
  // The identity broker is an IAM-authorized API: a SigV4 signer, no client.
  'execute-api': [
    { module: '@smithy/signature-v4', names: ['SignatureV4'] },
    { module: '@aws-crypto/sha256-js', names: ['Sha256'] },
  ],
};

/** SST v2's ESM settings (sst/runtime/handlers/node.js) with the stacks' `nodejs` props. */
const DEPLOY_BUILD: esbuild.BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'esnext',
  mainFields: ['module', 'main'],
  keepNames: true,
  minify: true,
  sourcemap: false,
  banner: {
    js: [
      "import { createRequire as topLevelCreateRequire } from 'module';",
      'const require = topLevelCreateRequire(import.meta.url);',
      'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
      'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
    ].join('\n'),
  },
  logLevel: 'silent',
};

interface Measured {
  bytes: number;
  medianMs: number;
}

/** A handler file, or the source of a generated entry (resolved from the functions package, as its imports are). */
type Entry = { file: string } | { source: string };

async function build(entry: Entry, outfile: string): Promise<number> {
  const input: esbuild.BuildOptions =
    'file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.source, resolveDir: join(ROOT, 'packages/functions'), loader: 'ts' } };
  await esbuild.build({ ...DEPLOY_BUILD, ...input, outfile, absWorkingDir: ROOT });
  return (await stat(outfile)).size;
}

/** Wall time of one `import()` of the bundle in a fresh Node process (module evaluation included). */
function importOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
  return Number(child.stdout);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median import time of each bundle, RUNS times each, the bundles taken in turns. */
function importTimes(files: readonly string[]): number[] {
  const times = files.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run++) {
    for (const [i, file] of files.entries()) times[i]!.push(importOnce(file));
  }
  return times.map(median);
}

/** The handler stack of every Cellbook function (http/api-handler.ts, observability.ts), kept whole. */
const HANDLER_STACK = [
  "import middy from '@middy/core';",
  "import { Logger } from '@aws-lambda-powertools/logger';",
  "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
  "import { Metrics } from '@aws-lambda-powertools/metrics';",
  "import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';",
  'const logger = new Logger();',
  'const metrics = new Metrics();',
  'export const stack = middy().use(injectLambdaContext(logger)).use(logMetrics(metrics));',
];

/** An entry that imports exactly the SDK packages of `services` (and the handler stack) and keeps them (no tree-shaking them away). */
function floorSource(services: readonly string[], withStack: boolean): string {
  const lines: string[] = withStack ? [...HANDLER_STACK] : [];
  const kept: string[] = [];
  for (const service of [...new Set(services)].sort()) {
    const packages = SDK_OF_SERVICE[service];
    if (!packages) throw new Error(`bench:coldstart does not know the SDK package of the "${service}" service`);
    for (const { module, names } of packages) {
      const aliases = names.map((name) => `${name} as ${name}_${kept.length}`);
      lines.push(`import { ${aliases.join(', ')} } from '${module}';`);
      kept.push(...names.map((name) => `${name}_${kept.length}`));
    }
  }
  lines.push(`export const clients = [${kept.join(', ')}];`);
  lines.push('export const handler = async () => clients.length;');
  return `${lines.join('\n')}\n`;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const within = (value: Measured, floor: Measured) => value.bytes <= 1.25 * floor.bytes && value.medianMs <= 1.25 * floor.medianMs;
const ratio = (value: number, floor: number) => (floor > 0 ? `${(value / floor).toFixed(2)}x` : '-');

const dir = await mkdtemp(join(tmpdir(), 'cellbook-coldstart-'));
try {
  const functions = functionServices().filter((fn) => !ONLY || ONLY.includes(fn.handler));
  const trivialFile = join(dir, 'trivial.mjs');
  const trivialBytes = await build({ source: 'export const handler = async () => ({ statusCode: 200, body: "ok" });\n' }, trivialFile);

  /** Each floor's bundle, built once per set of services. */
  const floorFiles = new Map<string, { file: string; bytes: number }>();
  async function floorOf(services: readonly string[], withStack: boolean) {
    const key = `${withStack ? 'stack+' : ''}${[...new Set(services)].sort().join('+')}`;
    let floor = floorFiles.get(key);
    if (!floor) {
      const file = join(dir, `floor-${floorFiles.size}.mjs`);
      floor = { file, bytes: await build({ source: floorSource(services, withStack) }, file) };
      floorFiles.set(key, floor);
    }
    return floor;
  }

  const rows: string[] = [];
  let metSdk = 0;
  let metStack = 0;
  for (const fn of functions) {
    process.stderr.write(`  cold start: ${fn.handler}\n`);
    const sdk = await floorOf(fn.services, false);
    const stack = await floorOf(fn.services, true);
    const file = join(dir, `${fn.handler.replace(/\//g, '__')}.mjs`);
    const bytes = await build({ file: join(FUNCTIONS_SRC, `${fn.handler}.ts`) }, file);
    const [ownMs, sdkMs, stackMs] = importTimes([file, sdk.file, stack.file]) as [number, number, number];
    const own = { bytes, medianMs: ownMs };
    const sdkFloor = { bytes: sdk.bytes, medianMs: sdkMs };
    const stackFloor = { bytes: stack.bytes, medianMs: stackMs };
    if (within(own, sdkFloor)) metSdk += 1;
    if (within(own, stackFloor)) metStack += 1;
    rows.push(
      `  ${fn.handler.padEnd(30)} ${kib(own.bytes).padStart(9)} ${own.medianMs.toFixed(1).padStart(7)} ` +
        `${kib(sdkFloor.bytes).padStart(8)} ${sdkMs.toFixed(1).padStart(7)} ${ratio(own.bytes, sdkFloor.bytes).padStart(7)} ${ratio(ownMs, sdkMs).padStart(7)} ${within(own, sdkFloor) ? 'ok' : '  '} ` +
        `${kib(stackFloor.bytes).padStart(8)} ${stackMs.toFixed(1).padStart(7)} ${ratio(own.bytes, stackFloor.bytes).padStart(7)} ${ratio(ownMs, stackMs).padStart(7)} ${within(own, stackFloor) ? 'ok' : '  '}  ${[...new Set(fn.services)].sort().join('+') || '(none)'}`,
    );
  }
  const [trivialMs] = importTimes([trivialFile]) as [number];
  console.log(
    `Cold start: each function's deploy bundle and the median of ${RUNS} imports in a fresh Node ${process.version} process, beside two floors: the SDK packages of the services its role may call (sdk), and those with the handler stack every function carries (+stack)`,
  );
  console.log(
    `  ${'function'.padEnd(30)} ${'size'.padStart(9)} ${'ms'.padStart(7)} ${'sdk'.padStart(8)} ${'ms'.padStart(7)} ${'size/sdk'.padStart(7)} ${'ms/sdk'.padStart(7)} ok ${'+stack'.padStart(8)} ${'ms'.padStart(7)} ${'size/+st'.padStart(7)} ${'ms/+st'.padStart(7)} ok  services`,
  );
  for (const row of rows) console.log(row);
  console.log(`  ${'(trivial handler)'.padEnd(30)} ${kib(trivialBytes).padStart(9)} ${trivialMs.toFixed(1).padStart(7)}`);
  console.log(
    `  ${metSdk} of ${functions.length} functions within 1.25x of their SDK floor in both size and import time; ${metStack} of ${functions.length} within 1.25x of the SDK floor with the handler stack`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
