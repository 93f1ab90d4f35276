/**
 * `npm start`: the whole product offline on one laptop, keeping its data between runs. Prints what
 * runs where, how to log in, where the data lives and how to inspect it.
 *
 *   npm start                 start on the data in .cellbook/data (or CELLBOOK_DATA_DIR)
 *   npm start -- --reset      delete that data first: an empty platform, demo tenants seeded afresh
 *                             (refused while another platform uses it, or when the directory is
 *                             not one a platform made: it deletes nothing then)
 *
 * Ports: the router on PORT (3000), the rest in a fixed block from CELLBOOK_PORT_BASE (4600;
 * platform/ports.ts says which is which).
 */
import { chmodSync, createWriteStream, mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as Cell from '@cellbook/core/cells/cell';
import { startPlatform } from './platform.js';
import { AWS_PROFILE_NAME, awsConfigText } from './platform/aws-config.js';
import { DataDirInUseError, NotADataDirError, PRIVATE_DIR_MODE, resetDataDir, writeFileAtomic } from './platform/persistence.js';
import { DEFAULT_PORT_BASE, PortInUseError, stablePorts } from './platform/ports.js';
import { seedDemoTenants } from './seed.js';

// Lambda runs Node 22; on a Node 20 laptop the SDK's deprecation notice is known (README). The
// SDK reads this when the first client is created, which happens inside startPlatform.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({ options: { reset: { type: 'boolean', default: false } } });

const portFromEnv = (name: string, fallback: number, lowest: number, highest = 65_535): number => {
  const value = process.env[name];
  const port = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isInteger(port) || port < lowest || port > highest) throw new Error(`${name} must be a port number from ${lowest} to ${highest}, not "${value}"`);
  return port;
};
// PORT=0: the router on a free port, as before ports were fixed.
const port = portFromEnv('PORT', 3000, 0);
// The block spans the base and 10 + one port per catalogued cell above it.
const portBase = portFromEnv('CELLBOOK_PORT_BASE', DEFAULT_PORT_BASE, 1, 65_535 - 10 - Cell.CELL_CATALOG.length);
const operatorPassword = process.env.LOCAL_OPERATOR_PASSWORD || 'operator';
// .cellbook holds the AWS profile's administrator keys (and, by default, the data): its owner's
// alone, also when an older version made it readable to everyone.
mkdirSync('.cellbook', { recursive: true, mode: PRIVATE_DIR_MODE });
chmodSync('.cellbook', PRIVATE_DIR_MODE);
const logDir = resolve(process.env.CELLBOOK_LOG_DIR ?? '.cellbook/logs');
mkdirSync(logDir, { recursive: true });
const logFile = resolve(logDir, 'functions.jsonl');
// The cells' releases outlive a run: a release built once is found again by its id.
const releasesDir = resolve(process.env.CELLBOOK_RELEASES_DIR ?? '.cellbook/releases');
// The platform's state: tables, evidence, users, keys, plans, dead letters.
const dataDir = resolve(process.env.CELLBOOK_DATA_DIR ?? '.cellbook/data');
const awsConfigFile = resolve(process.env.CELLBOOK_AWS_CONFIG ?? '.cellbook/aws-config');
/** Says why the start is refused, and how to go on, instead of a stack trace. */
const refuse = (error: unknown): never => {
  if (error instanceof DataDirInUseError) {
    console.error(`\ncellbook: ${error.message}. Stop it first, or start on other data with CELLBOOK_DATA_DIR=<dir> npm start.`);
    process.exit(1);
  }
  if (error instanceof NotADataDirError) {
    console.error(`\ncellbook: ${error.message}. Check CELLBOOK_DATA_DIR, or empty the directory yourself.`);
    process.exit(1);
  }
  throw error;
};
// Claimed before anything is deleted: a reset never empties the directory of a platform that runs.
if (flags.reset) await resetDataDir(dataDir).catch(refuse);
const log = createWriteStream(logFile, { flags: 'a' });

const started = Date.now();
const platform = await startPlatform({
  port,
  ports: stablePorts(portBase, port, Cell.CELL_CATALOG),
  dataDir,
  operatorPassword,
  warm: true,
  releases: { outRoot: releasesDir },
  // Rolls out what `npm run release` (or POST /admin/releases) starts, wave by wave.
  releaseDriver: {},
  browserOrigins: process.env.CELLBOOK_BROWSER_ORIGINS?.split(',').filter((origin) => origin.trim() !== ''),
  onLog: (source, line) => log.write(`${JSON.stringify({ source, line })}\n`),
}).catch((error: unknown) => {
  if (error instanceof PortInUseError) {
    const variable = error.port === port ? 'PORT' : 'CELLBOOK_PORT_BASE';
    console.error(`\ncellbook: ${error.message}. Stop what holds it, or move ${error.port === port ? 'the router' : 'the block'} with ${variable}=<port> npm start.`);
    process.exit(1);
  }
  return refuse(error);
});
const tenants = await seedDemoTenants(platform.url, operatorPassword);
await writeFileAtomic(awsConfigFile, awsConfigText({ region: platform.region, credentials: platform.adminCredentials, endpoints: platform.endpoints }));

// The router listens on 127.0.0.1; browsers and the README say localhost (same origin either way).
const webApp = `http://localhost:${new URL(platform.url).port}/`;
const rows = [
  ['web app (open in a browser)', webApp],
  ['router (use this)', platform.url],
  ['control plane API', platform.controlPlaneUrl],
  ...platform.cells.map((cell) => [`${cell.cellId} API`, cell.url]),
  ['DynamoDB (IAM-enforcing)', platform.endpoints.dynamodb],
  ['S3 (IAM-enforcing, evidence buckets)', platform.endpoints.s3],
  ['STS', platform.endpoints.sts],
  ['Cognito (IdP, JWKS)', platform.endpoints.cognito],
  ['API Gateway management', platform.endpoints.apiGateway],
  ['EventBridge', platform.endpoints.eventBridge],
];
const width = Math.max(...rows.map(([name]) => name!.length));
// Inside the repository: relative, as the README writes it; elsewhere (CELLBOOK_DATA_DIR=/tmp/…): absolute.
const shown = (path: string) => {
  const inside = relative(process.cwd(), path);
  return inside === '' || inside.startsWith('..') ? path : inside;
};
console.log(`\nCellbook is running offline (ready in ${Date.now() - started} ms)\n`);
for (const [name, url] of rows) console.log(`  ${name!.padEnd(width)}  ${url}`);
console.log(`\n  ${webApp} shows the sign-in page: the operator gets the console, a tenant's users the product`);
console.log(`\n  operator login: operator / ${operatorPassword === 'operator' ? 'operator' : '$LOCAL_OPERATOR_PASSWORD'}`);
console.log('\n  demo tenants (username / password → tier, cell):');
for (const tenant of tenants) {
  console.log(`    ${tenant.username} / ${tenant.password}  → ${tenant.tier}, ${tenant.cellId} (${tenant.tenantId})${tenant.created ? '' : ', kept'}`);
}
console.log(`\n  data: ${shown(dataDir)} (kept between runs; start empty with: npm start -- --reset)`);
console.log(`  AWS profile (platform administrator, every endpoint): ${shown(awsConfigFile)}`);
console.log(`    AWS_CONFIG_FILE=${shown(awsConfigFile)} AWS_PROFILE=${AWS_PROFILE_NAME} aws dynamodb list-tables`);
console.log(`  function and gateway logs: ${logFile}`);
console.log(`  cells run release ${platform.cells[0]!.releaseId} (releases: ${releasesDir})`);
console.log(`  release canary by cell: npm run release   (a faulty one: npm run release -- --fault "GET /cases:error")`);
console.log(`\n  try: curl -s -X POST ${platform.url}/auth/token -H 'content-type: application/json' \\
         -d '{"username":"operator","password":"${operatorPassword === 'operator' ? 'operator' : '…'}"}'\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping… (saving the data)');
    void platform.stop().then(() => {
      log.end();
      process.exit(0);
    });
  });
}
