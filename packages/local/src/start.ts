/**
 * `npm start`: the whole product offline on one laptop. Prints what runs where and how to log in.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startPlatform } from './platform.js';
import { seedDemoTenants } from './seed.js';

// Lambda runs Node 22; on a Node 20 laptop the SDK's deprecation notice is known (README). The
// SDK reads this when the first client is created, which happens inside startPlatform.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const port = Number(process.env.PORT ?? 3000);
const operatorPassword = process.env.LOCAL_OPERATOR_PASSWORD || 'operator';
const logDir = resolve(process.env.CELLBOOK_LOG_DIR ?? '.cellbook/logs');
mkdirSync(logDir, { recursive: true });
const logFile = resolve(logDir, 'functions.jsonl');
// The cells' releases outlive a run: a release built once is found again by its id.
const releasesDir = resolve(process.env.CELLBOOK_RELEASES_DIR ?? '.cellbook/releases');
const log = createWriteStream(logFile, { flags: 'a' });

const started = Date.now();
const platform = await startPlatform({
  port,
  operatorPassword,
  warm: true,
  releases: { outRoot: releasesDir },
  // Rolls out what `npm run release` (or POST /admin/releases) starts, wave by wave.
  releaseDriver: {},
  browserOrigins: process.env.CELLBOOK_BROWSER_ORIGINS?.split(',').filter((origin) => origin.trim() !== ''),
  onLog: (source, line) => log.write(`${JSON.stringify({ source, line })}\n`),
});
const tenants = await seedDemoTenants(platform.url, operatorPassword);

const rows = [
  ['router (use this)', platform.url],
  ['control plane API', platform.controlPlaneUrl],
  ...platform.cells.map((cell) => [`${cell.cellId} API`, cell.url]),
  ['DynamoDB (IAM-enforcing)', platform.endpoints.dynamodb],
  ['S3 (IAM-enforcing, evidence buckets)', platform.endpoints.s3],
  ['STS', platform.endpoints.sts],
  ['Cognito (IdP, JWKS)', platform.endpoints.cognito],
  ['API Gateway management', platform.endpoints.apiGateway],
];
const width = Math.max(...rows.map(([name]) => name!.length));
console.log(`\nCellbook is running offline (ready in ${Date.now() - started} ms)\n`);
for (const [name, url] of rows) console.log(`  ${name!.padEnd(width)}  ${url}`);
console.log(`\n  operator login: operator / ${operatorPassword === 'operator' ? 'operator' : '$LOCAL_OPERATOR_PASSWORD'}`);
console.log('\n  demo tenants (username / password → tier, cell):');
for (const tenant of tenants) {
  console.log(`    ${tenant.username} / ${tenant.password}  → ${tenant.tier}, ${tenant.cellId} (${tenant.tenantId})`);
}
console.log(`\n  function and gateway logs: ${logFile}`);
console.log(`  cells run release ${platform.cells[0]!.releaseId} (releases: ${releasesDir})`);
console.log(`  release canary by cell: npm run release   (a faulty one: npm run release -- --fault "GET /cases:error")`);
console.log(`\n  try: curl -s -X POST ${platform.url}/auth/token -H 'content-type: application/json' \\
         -d '{"username":"operator","password":"${operatorPassword === 'operator' ? 'operator' : '…'}"}'\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    void platform.stop().then(() => {
      log.end();
      process.exit(0);
    });
  });
}
