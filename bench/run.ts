/**
 * `npm run bench`: figures for this machine, printed, never asserted.
 *  1. GET /cases through the router (router → gateway → authorizer cache → usage plan → worker →
 *     STS-scoped client → IAM-enforcing DynamoDB → dynalite): requests/s and latency percentiles.
 *  2. The per-request cost of the IAM-enforcing DynamoDB endpoint: GetItem through it vs dynalite.
 *  3. Noisy neighbour: one tenant's p50/p99 alone, and while another tenant of its cell sends at its
 *     plan's rate and at ten times it (bench/noisy-neighbour.ts).
 *  4. Evidence: 1 MB files up and down through the API and presigned URLs, beside the S3 endpoint
 *     straight (bench/tier-features.ts).
 *  5. Analytics: GET /analytics for a tenant with 10,000 cases, beside a tenant with 10 and GET /cases.
 * `BENCH_ONLY=noisy` runs only section 3; `BENCH_ONLY=features` (`npm run bench:features`) only 4 and 5.
 *
 * The platform runs one pooled cell, so every tenant of the run shares it.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import * as Cell from '@cellbook/core/cells/cell';
import * as Keys from '@cellbook/core/keys/keys';
import { newId } from '@cellbook/core/shared/ids';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { call, signIn } from '@cellbook/local/client';
import { startPlatform } from '@cellbook/local/platform';
import { noisyNeighbour } from './noisy-neighbour.js';
import { analyticsLatency, evidenceThroughput } from './tier-features.js';
import { concurrently } from './concurrently.js';
import { percentile } from './percentile.js';

// Lambda runs Node 22; the SDK's Node 20 notice is documented in the README.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const GETS = Number(process.env.BENCH_GETS ?? 2000);

const ONLY = process.env.BENCH_ONLY;
const firstPooled = Cell.CELL_CATALOG.find((cell) => cell.placement === 'pooled')!;
const platform = await startPlatform({
  port: 0,
  warm: true,
  cells: Cell.CELL_CATALOG.filter((cell) => cell.placement !== 'pooled' || cell.cellId === firstPooled.cellId),
});
try {
  const operator = await signIn(platform.url, 'operator', 'operator');
  if (ONLY === undefined) {
    const onboarded = await call(platform.url, 'POST', '/admin/tenants', {
      token: operator,
      body: { name: 'Bench Co', tier: 'premium', adminEmail: 'bench@example.com' },
    });
    const { tenantId, cellId, admin } = onboarded.body as { tenantId: string; cellId: string; admin: { username: string; temporaryPassword: string } };
    // Measure the platform, not the plan: lift this cell's premium throttle for the run (an operator action).
    const cell = platform.cells.find((c) => c.cellId === cellId)!;
    platform.apiGateway.updateUsagePlan(cell.usagePlans.premium, { throttle: { rateLimit: 1e6, burstLimit: 1e6 }, quota: null });
    const token = await signIn(platform.url, admin.username, admin.temporaryPassword, 'Bench-Pass-123');
    for (let i = 0; i < 50; i++) {
      await call(platform.url, 'POST', '/cases', { token, body: { title: `Case ${i}`, priority: 'medium' } });
    }
    const get = () => fetch(`${platform.url}/cases?limit=20`, { headers: { authorization: `Bearer ${token}` } });
    // Warm-up at the measured concurrency, so every execution environment the run will use has
    // cold-started and its tenant credentials are cached: the figures below are steady state.
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = 0; i < 30; i++) await (await get()).arrayBuffer();
      }),
    );

    async function load(concurrency: number, requests: number): Promise<void> {
      const latencies: number[] = [];
      let failures = 0;
      const started = performance.now();
      await concurrently(requests, concurrency, async () => {
        const t0 = performance.now();
        const response = await get();
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== 200) failures += 1;
      });
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      console.log(`GET /cases?limit=20 through the router: ${requests} requests, concurrency ${concurrency}`);
      console.log(`  throughput ${(requests / seconds).toFixed(0)} req/s, non-200: ${failures}`);
      console.log(
        `  latency ms  p50 ${percentile(latencies, 50).toFixed(2)}  p90 ${percentile(latencies, 90).toFixed(2)}  p99 ${percentile(latencies, 99).toFixed(2)}  max ${latencies.at(-1)!.toFixed(2)}`,
      );
    }
    await load(1, Math.min(REQUESTS, 1000));
    await load(CONCURRENCY, REQUESTS);

    // IAM-enforcing endpoint cost: the same GetItem with the tenant's own session, alternating rounds
    const tenantSession = platform.iam.issueRoleSession(cell.roles.tenantAccess, 'bench', { TenantId: tenantId });
    const key = Keys.caseKey(tenantId, newId());
    const item = { PK: { S: key.PK }, SK: { S: key.SK } };
    const credentials = sdkCredentials(tenantSession);
    const viaIam = new DynamoDBClient({ region: platform.region, endpoint: platform.endpoints.dynamodb, credentials });
    const direct = new DynamoDBClient({ region: platform.region, endpoint: platform.endpoints.dynamodbStorage, credentials });
    await viaIam.send(new PutItemCommand({ TableName: cell.tableName, Item: item }));
    async function round(client: DynamoDBClient, count: number): Promise<number> {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await client.send(new GetItemCommand({ TableName: cell.tableName, Key: item }));
      return (performance.now() - t0) / count;
    }
    await round(direct, 200);
    await round(viaIam, 200);
    const directRounds: number[] = [];
    const iamRounds: number[] = [];
    const perRound = Math.max(1, Math.floor(GETS / 4));
    for (let r = 0; r < 4; r++) {
      directRounds.push(await round(direct, perRound));
      iamRounds.push(await round(viaIam, perRound));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const directMs = median(directRounds);
    const iamMs = median(iamRounds);
    console.log(`GetItem with a tenant session, 4 alternating rounds of ${perRound} sequential calls (median round)`);
    console.log(`  dynalite directly            ${directMs.toFixed(3)} ms/request`);
    console.log(`  through the IAM endpoint     ${iamMs.toFixed(3)} ms/request`);
    console.log(`  cost of enforcement          ${(iamMs - directMs).toFixed(3)} ms/request (SigV4 check + iam-simulate + one proxy hop)`);
  }
  if (ONLY === undefined || ONLY === 'noisy') await noisyNeighbour(platform, operator);
  if (ONLY === undefined || ONLY === 'features') {
    await evidenceThroughput(platform, operator);
    await analyticsLatency(platform, operator);
  }
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(`platform process RSS ${rss.toFixed(0)} MiB (function workers included: they are threads)`);
} finally {
  await platform.stop();
}
