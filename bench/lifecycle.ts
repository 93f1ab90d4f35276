/**
 * `npm run bench:lifecycle`: control-plane lifecycle figures for this machine, printed, never asserted.
 *  1. Onboarding latency: `POST /admin/tenants` through the router, sequentially (one warm-up
 *     onboarding first, not counted).
 *  2. Onboarding many tenants at a fixed concurrency: total time, tenants/s, failures.
 *  3. Moving a tenant with many cases to the other pooled cell: total time, items copied, items/s,
 *     how long a writer's `POST /cases` was refused (`TENANT_MOVING`), and a check of `GET /me` after.
 *  4. Peak RSS of the process (the platform, dynalite and the function workers are all in it).
 * Progress goes to stderr; the figures to stdout.
 */
import { BatchWriteCommand, UpdateCommand, type BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import * as Case from '@cellbook/core/cases/case';
import * as Keys from '@cellbook/core/keys/keys';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import type { CaseView } from '@cellbook/core/cases/case';
import { documentClient, releaseDocumentClient } from '@cellbook/core/shared/dynamo';
import { newId } from '@cellbook/core/shared/ids';
import type { OnboardResult } from '@cellbook/core/lifecycle/onboarding';
import type { TenantSummary } from '@cellbook/core/tenants/record';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { call, signIn, type JsonResponse } from '@cellbook/local/client';
import { startPlatform } from '@cellbook/local/platform';
import { concurrently } from './concurrently.js';
import { percentile } from './percentile.js';

// Lambda runs Node 22; the SDK's Node 20 notice is documented in the README.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ONBOARD_SAMPLES = Number(process.env.BENCH_ONBOARD_SAMPLES ?? 50);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const ONBOARD_CONCURRENCY = Number(process.env.BENCH_ONBOARD_CONCURRENCY ?? 8);
const MOVE_CASES = Number(process.env.BENCH_MOVE_CASES ?? 10_000);
/** BatchWriteItem requests in flight while seeding the moved tenant's cases. */
const SEED_CONCURRENCY = 8;
const BATCH_SIZE = 25;
const MOVE_POLL_MS = 100;
const WRITER_PERIOD_MS = 50;
/** The mover's own function timeout is 900 s; past that plus a margin the move is not coming. */
const MOVE_TIMEOUT_MS = 960_000;
const PLATFORM_ADMIN_ROLE = 'arn:aws:iam::000000000000:role/cellbook-local-platform-admin';
const POOLED_TIERS: readonly TierName[] = ['basic', 'standard', 'premium'];

type CaseItem = Keys.ItemKey & Keys.CaseListingKey & CaseView & { type: 'case'; tenantId: string; createdBy: string; version: number };

interface ErrorBody {
  error?: { code?: string; message?: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (message: string) => console.error(`[bench:lifecycle] ${message}`);

let peakRss = process.memoryUsage().rss;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const rssSampler = setInterval(sampleRss, 500);
rssSampler.unref();

// Every onboarded tenant fits: the default catalog's 200-tenant pooled cells would run out.
const capacity = Math.max(1000, ONBOARD_SAMPLES + TENANTS + 2);
const platform = await startPlatform({
  port: 0,
  warm: true,
  cells: [
    { cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity },
    { cellId: 'cell-2', placement: 'pooled', wave: 1, region: 'us-east-1', capacity },
  ],
});
const rows: [string, string][] = [];
const admin = documentClient({
  region: platform.region,
  endpoint: platform.endpoints.dynamodb,
  credentials: sdkCredentials(platform.sessionFor(PLATFORM_ADMIN_ROLE)),
});
try {
  const operator = await signIn(platform.url, 'operator', 'operator');
  let tenantNumber = 0;
  const onboard = (tier: TierName): Promise<JsonResponse<OnboardResult & ErrorBody>> => {
    const n = ++tenantNumber;
    return call(platform.url, 'POST', '/admin/tenants', {
      token: operator,
      body: { name: `Bench Tenant ${n}`, tier, adminEmail: `admin-${n}@bench.example.com` },
    });
  };
  const mustOnboard = async (tier: TierName): Promise<OnboardResult> => {
    const response = await onboard(tier);
    if (response.status !== 201) throw new Error(`onboarding failed: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };

  // 1. onboarding latency, sequential
  await mustOnboard('basic');
  progress(`onboarding ${ONBOARD_SAMPLES} tenants sequentially`);
  const latencies: number[] = [];
  for (let i = 0; i < ONBOARD_SAMPLES; i++) {
    const t0 = performance.now();
    await mustOnboard(POOLED_TIERS[i % POOLED_TIERS.length]!);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length;
  rows.push([
    `onboarding latency, sequential (n=${ONBOARD_SAMPLES})`,
    `p50 ${percentile(latencies, 50).toFixed(0)} ms  p90 ${percentile(latencies, 90).toFixed(0)} ms  p99 ${percentile(latencies, 99).toFixed(0)} ms  mean ${mean.toFixed(0)} ms`,
  ]);

  // 2. onboarding many tenants at a fixed concurrency
  progress(`onboarding ${TENANTS} tenants, concurrency ${ONBOARD_CONCURRENCY}`);
  const failures = new Map<string, number>();
  let succeeded = 0;
  const started = performance.now();
  await concurrently(TENANTS, ONBOARD_CONCURRENCY, async (i) => {
    const response = await onboard(POOLED_TIERS[i % POOLED_TIERS.length]!);
    if (response.status === 201) succeeded++;
    else {
      const outcome = `${response.status} ${response.body?.error?.code ?? 'no code'}`;
      failures.set(outcome, (failures.get(outcome) ?? 0) + 1);
    }
    if ((i + 1) % 100 === 0) progress(`  ${i + 1}/${TENANTS} requested`);
  });
  const onboardSeconds = (performance.now() - started) / 1000;
  rows.push([
    `onboard ${TENANTS} tenants, concurrency ${ONBOARD_CONCURRENCY}`,
    `${onboardSeconds.toFixed(1)} s  ${(succeeded / onboardSeconds).toFixed(1)} tenants/s  ${succeeded} onboarded`,
  ]);
  rows.push(['  failures', failures.size === 0 ? 'none' : [...failures].map(([outcome, count]) => `${count} × ${outcome}`).join(', ')]);

  // 3. moving a tenant with many cases
  const mover = await mustOnboard('premium');
  const { tenantId } = mover;
  const fromCellId = mover.cellId;
  const toCellId = fromCellId === 'cell-1' ? 'cell-2' : 'cell-1';
  const cell = platform.cells.find((candidate) => candidate.cellId === fromCellId)!;
  const token = await signIn(platform.url, mover.admin.username, mover.admin.temporaryPassword!, 'Bench-Move-Pass-123');

  progress(`seeding ${MOVE_CASES} cases into ${cell.tableName} for ${tenantId}`);
  // The same items Case.create writes; the counter goes up by the same amount afterwards.
  const caseItem = (i: number): CaseItem => {
    const caseId = newId();
    const now = new Date().toISOString();
    return {
      ...Keys.caseKey(tenantId, caseId),
      ...Keys.caseListingKey(tenantId, 'OPEN', now, caseId),
      type: 'case',
      tenantId,
      caseId,
      title: `Seeded case ${i}`,
      description: `Seeded by bench/lifecycle.ts: case ${i} of ${MOVE_CASES}.`,
      priority: Case.Priority.options[i % Case.Priority.options.length]!,
      status: 'OPEN',
      assignee: null,
      createdAt: now,
      updatedAt: now,
      createdBy: mover.admin.username,
      version: 1,
    };
  };
  const batches: CaseItem[][] = [];
  for (let i = 0; i < MOVE_CASES; i += BATCH_SIZE) {
    batches.push(Array.from({ length: Math.min(BATCH_SIZE, MOVE_CASES - i) }, (_, j) => caseItem(i + j)));
  }
  const writeBatch = async (items: CaseItem[]) => {
    let requests: NonNullable<BatchWriteCommandOutput['UnprocessedItems']> = {
      [cell.tableName]: items.map((Item) => ({ PutRequest: { Item } })),
    };
    for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
      if (attempt === 10) throw new Error(`BatchWriteItem left items unprocessed after ${attempt} attempts`);
      if (attempt > 0) await sleep(Math.min(50 * 2 ** attempt, 1_000));
      const { UnprocessedItems } = await admin.send(new BatchWriteCommand({ RequestItems: requests }));
      requests = UnprocessedItems ?? {};
    }
  };
  const seedStarted = performance.now();
  await concurrently(batches.length, SEED_CONCURRENCY, (i) => writeBatch(batches[i]!));
  await admin.send(
    new UpdateCommand({
      TableName: cell.tableName,
      Key: Keys.tenantMetaKey(tenantId),
      UpdateExpression: 'ADD activeCases :seeded',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':seeded': MOVE_CASES },
    }),
  );
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  rows.push([`seed ${MOVE_CASES} cases (BatchWriteItem ×${SEED_CONCURRENCY})`, `${seedSeconds.toFixed(1)} s  ${(MOVE_CASES / seedSeconds).toFixed(0)} items/s`]);

  const asTenant = <T>(method: string, path: string, body?: unknown) => call<T & ErrorBody>(platform.url, method, path, { token, ...(body === undefined ? {} : { body }) });
  const firstPage = await asTenant<{ items: CaseView[] }>('GET', '/cases?limit=1');
  if (firstPage.status !== 200 || firstPage.body.items.length !== 1) {
    throw new Error(`GET /cases?limit=1 after seeding: ${firstPage.status} ${JSON.stringify(firstPage.body)}`);
  }
  progress(`seeded in ${seedSeconds.toFixed(1)} s; GET /cases?limit=1 → ${firstPage.status}, ${firstPage.body.items[0]!.title}`);

  // A writer opening a case every 50 ms shows how long the freeze refuses writes.
  const writer = { running: true, accepted: 0, refused: 0, other: new Map<string, number>() };
  const refusedAt: number[] = [];
  const acceptedAt: number[] = [];
  const writing = (async () => {
    for (let i = 0; writer.running; i++) {
      const t0 = performance.now();
      const response = await asTenant('POST', '/cases', { title: `Written during the move ${i}`, priority: 'low' });
      const at = performance.now();
      if (response.status === 201) {
        writer.accepted++;
        acceptedAt.push(at);
      } else if (response.status === 503 && response.body?.error?.code === 'TENANT_MOVING') {
        writer.refused++;
        refusedAt.push(at);
      } else {
        const outcome = `${response.status} ${response.body?.error?.code ?? 'no code'}`;
        writer.other.set(outcome, (writer.other.get(outcome) ?? 0) + 1);
      }
      await sleep(Math.max(0, WRITER_PERIOD_MS - (performance.now() - t0)));
    }
  })();

  progress(`moving ${tenantId} from ${fromCellId} to ${toCellId}`);
  const moveStarted = performance.now();
  let moved: TenantSummary;
  const stateSeen = new Map<string, number>();
  try {
    const requested = await call<ErrorBody>(platform.url, 'POST', `/admin/tenants/${tenantId}/move`, { token: operator, body: { cellId: toCellId } });
    if (requested.status !== 202) throw new Error(`POST /admin/tenants/${tenantId}/move: ${requested.status} ${JSON.stringify(requested.body)}`);
    for (;;) {
      const tenant = await call<TenantSummary>(platform.url, 'GET', `/admin/tenants/${tenantId}`, { token: operator });
      const state = tenant.body.move?.state;
      if (state && !stateSeen.has(state)) {
        stateSeen.set(state, performance.now() - moveStarted);
        progress(`  ${state} at ${((performance.now() - moveStarted) / 1000).toFixed(1)} s`);
      }
      if (state === 'FAILED') throw new Error(`move of ${tenantId} FAILED: ${tenant.body.move?.error ?? 'no error recorded'}`);
      if (state === 'DONE') {
        moved = tenant.body;
        break;
      }
      if (performance.now() - moveStarted > MOVE_TIMEOUT_MS) throw new Error(`move of ${tenantId} still ${state} after ${MOVE_TIMEOUT_MS / 1000} s`);
      await sleep(MOVE_POLL_MS);
    }
  } finally {
    writer.running = false;
    await writing;
  }
  const moveSeconds = (performance.now() - moveStarted) / 1000;
  const copied = moved.move?.copied?.count ?? 0;
  rows.push([
    `move a ${MOVE_CASES}-case tenant ${fromCellId} → ${toCellId}`,
    `${moveSeconds.toFixed(1)} s until DONE  ${copied} items copied  ${(copied / moveSeconds).toFixed(0)} items/s`,
  ]);
  rows.push(['  move states first seen at', [...stateSeen].map(([state, ms]) => `${state} ${(ms / 1000).toFixed(1)} s`).join(', ')]);

  const firstRefused = refusedAt[0];
  const lastRefused = refusedAt.at(-1);
  if (firstRefused === undefined || lastRefused === undefined) {
    rows.push(['  writes refused (TENANT_MOVING)', `none observed by a writer every ${WRITER_PERIOD_MS} ms`]);
  } else {
    const lastAcceptedBefore = acceptedAt.filter((at) => at < firstRefused).at(-1);
    const firstAcceptedAfter = acceptedAt.find((at) => at > lastRefused);
    const gap =
      lastAcceptedBefore !== undefined && firstAcceptedAfter !== undefined
        ? `; ${((firstAcceptedAfter - lastAcceptedBefore) / 1000).toFixed(2)} s from the last accepted write before to the first after`
        : '';
    rows.push(['  writes refused (TENANT_MOVING)', `for ${((lastRefused - firstRefused) / 1000).toFixed(2)} s (first to last 503, ${writer.refused} refused)${gap}`]);
  }
  rows.push([
    '  writer during the move',
    `${writer.accepted} accepted, ${writer.refused} refused` +
      (writer.other.size === 0 ? '' : `, other: ${[...writer.other].map(([outcome, count]) => `${count} × ${outcome}`).join(', ')}`),
  ]);

  const me = await asTenant<{ cellId: string; usage: { activeCases: number } }>('GET', '/me');
  const expectedCases = MOVE_CASES + writer.accepted;
  const meOk = me.status === 200 && me.body.cellId === toCellId && me.body.usage?.activeCases === expectedCases;
  rows.push([
    '  GET /me after the move',
    `${me.status} cellId ${me.body.cellId} (expected ${toCellId}), usage.activeCases ${me.body.usage?.activeCases} ` +
      `(expected ${MOVE_CASES} seeded + ${writer.accepted} written = ${expectedCases}): ${meOk ? 'OK' : 'MISMATCH'}`,
  ]);

  sampleRss();
  rows.push(['peak RSS (sampled every 500 ms)', `${(peakRss / 1024 / 1024).toFixed(0)} MiB (function workers included: they are threads)`]);

  const width = Math.max(...rows.map(([label]) => label.length));
  console.log('Control-plane lifecycle, this machine (figures, not assertions)');
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
} finally {
  clearInterval(rssSampler);
  releaseDocumentClient(admin);
  await platform.stop();
}
