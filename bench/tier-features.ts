/**
 * Tier features, measured (issue 10):
 *  1. Evidence: 1 MB files uploaded and downloaded through the API as a client does it (create →
 *     presigned PUT → complete; get → presigned GET), side by side with the same bytes put and got
 *     straight through the IAM-enforcing S3 endpoint with the tenant's session (the floor: what the
 *     API's three extra calls cost).
 *  2. Analytics: GET /analytics for a tenant with 10,000 cases, side by side with the same call for a
 *     tenant with 10 cases and with GET /cases?limit=20 — aggregates maintained on write, so the
 *     answer should not grow with the tenant.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type HistoricCase, seedCaseHistory } from '@cellbook/core/analytics/seed';
import * as Keys from '@cellbook/core/keys/keys';
import { newId } from '@cellbook/core/shared/ids';
import { tenantS3Config } from '@cellbook/core/tenancy/tenant-bucket';
import { withTenant } from '@cellbook/core/tenancy/tenant-context';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { call, signIn } from '@cellbook/local/client';
import type { LocalPlatform } from '@cellbook/local/platform';
import { concurrently } from './concurrently.js';
import { percentile } from './percentile.js';

const FILES = Number(process.env.BENCH_EVIDENCE_FILES ?? 60);
const FILE_BYTES = 1_000_000;
const ANALYTICS_CASES = Number(process.env.BENCH_ANALYTICS_CASES ?? 10_000);
const ANALYTICS_CALLS = Number(process.env.BENCH_ANALYTICS_CALLS ?? 200);
const DAY_MS = 86_400_000;
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;

interface Tenant {
  tenantId: string;
  cellId: string;
  token: string;
}

async function onboard(platform: LocalPlatform, operator: string, name: string, tier: string): Promise<Tenant> {
  const onboarded = await call(platform.url, 'POST', '/admin/tenants', {
    token: operator,
    body: { name, tier, adminEmail: `${name.replace(/\W/g, '').toLowerCase()}@example.com` },
  });
  const { tenantId, cellId, admin } = onboarded.body as { tenantId: string; cellId: string; admin: { username: string; temporaryPassword: string } };
  // Measure the platform, not the plan: lift this cell's plan throttle for the run (an operator action).
  const cell = platform.cells.find((c) => c.cellId === cellId);
  if (!cell) throw new Error(`no cell ${cellId}`);
  for (const plan of Object.values(cell.usagePlans)) platform.apiGateway.updateUsagePlan(plan, { throttle: { rateLimit: 1e6, burstLimit: 1e6 }, quota: null });
  const token = await signIn(platform.url, admin.username, admin.temporaryPassword, 'Bench-Pass-123');
  return { tenantId, cellId, token };
}

function summary(label: string, latencies: number[], seconds: number, bytes: number): void {
  latencies.sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(46)} ${(bytes / 1e6 / seconds).toFixed(1).padStart(6)} MB/s   per file ms p50 ${percentile(latencies, 50).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}`,
  );
}

export async function evidenceThroughput(platform: LocalPlatform, operator: string): Promise<void> {
  const tenant = await onboard(platform, operator, 'Evidence Bench', 'premium');
  const api = (method: string, path: string, body?: unknown) => call(platform.url, method, path, { token: tenant.token, ...(body === undefined ? {} : { body }) });
  const { body: opened } = await api('POST', '/cases', { title: 'Bench evidence', priority: 'low' });
  const caseId = (opened as { caseId: string }).caseId;
  const file = randomBytes(FILE_BYTES);
  const sha256 = createHash('sha256').update(file).digest('hex');

  const cell = platform.cells.find((c) => c.cellId === tenant.cellId);
  if (!cell) throw new Error(`no cell ${tenant.cellId}`);
  const session = platform.iam.issueRoleSession(cell.roles.tenantAccess, 'bench', { TenantId: tenant.tenantId });
  const s3 = new S3Client({ ...tenantS3Config(sdkCredentials(session)), region: platform.region, endpoint: platform.endpoints.s3 });

  async function direct(): Promise<void> {
    const Key = Keys.evidenceObjectKey(tenant.tenantId, caseId, newId());
    await s3.send(new PutObjectCommand({ Bucket: cell?.evidenceBucket, Key, Body: file, ContentLength: file.length }));
    const got = await s3.send(new GetObjectCommand({ Bucket: cell?.evidenceBucket, Key }));
    const bytes = await got.Body?.transformToByteArray();
    if (bytes?.length !== FILE_BYTES) throw new Error('short download');
  }

  async function throughApi(): Promise<void> {
    const created = await api('POST', `/cases/${caseId}/evidence`, { name: 'scan.pdf', contentType: 'application/pdf', size: file.length, sha256 });
    if (created.status !== 201) throw new Error(`evidence request answered ${created.status}`);
    const { evidenceId, upload } = created.body as { evidenceId: string; upload: { url: string; headers: Record<string, string> } };
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: file });
    if (put.status !== 200) throw new Error(`upload answered ${put.status}`);
    const completed = await api('POST', `/cases/${caseId}/evidence/${evidenceId}/complete`);
    if (completed.status !== 200) throw new Error(`complete answered ${completed.status}`);
    const got = await api('GET', `/cases/${caseId}/evidence/${evidenceId}`);
    const link = (got.body as { download: { url: string } }).download.url;
    const downloaded = await fetch(link);
    if ((await downloaded.arrayBuffer()).byteLength !== FILE_BYTES) throw new Error('short download');
  }

  async function run(task: () => Promise<void>, concurrency: number): Promise<{ latencies: number[]; seconds: number }> {
    const latencies: number[] = [];
    const started = performance.now();
    await concurrently(FILES, concurrency, async () => {
      const t0 = performance.now();
      await task();
      latencies.push(performance.now() - t0);
    });
    return { latencies, seconds: (performance.now() - started) / 1000 };
  }

  // Warm both paths (workers, sessions, connections), then interleave the measured runs.
  await run(direct, 4);
  await run(throughApi, 4);
  console.log(`Evidence: ${FILES} files of 1 MB, each uploaded and downloaded (MB/s counts both directions)`);
  for (const concurrency of [1, 4]) {
    const raw = await run(direct, concurrency);
    const viaApi = await run(throughApi, concurrency);
    summary(`S3 endpoint directly, concurrency ${concurrency}`, raw.latencies, raw.seconds, 2 * FILES * FILE_BYTES);
    summary(`through the API + presigned URLs, concurrency ${concurrency}`, viaApi.latencies, viaApi.seconds, 2 * FILES * FILE_BYTES);
  }
  s3.destroy();
}

/**
 * A history of `count` cases over the last 90 days, a third of them moved on (some resolved, some
 * closed, some reopened), written in bulk through the tenant's own session with core's
 * `seedCaseHistory` — the items and aggregates the API's writes would have left (a spec compares
 * the two). Through the API, 10,000 audited premium creates take minutes on this machine.
 */
async function seed(platform: LocalPlatform, tenant: Tenant, count: number): Promise<void> {
  const cell = platform.cells.find((c) => c.cellId === tenant.cellId);
  if (!cell) throw new Error(`no cell ${tenant.cellId}`);
  // In-process, as the analytics spec seeds: the platform's control-plane environment (endpoints, region,
  // credentials trusted by the tenant access role), and the tenant's own session in its cell.
  Object.assign(process.env, platform.controlPlaneEnv, { TENANT_ROLE_ARN: cell.roles.tenantAccess, TABLE_NAME: cell.tableName });
  const now = Date.now();
  const history: HistoricCase[] = Array.from({ length: count }, (_, i) => {
    const created = now - 90 * DAY_MS + Math.floor((i * 90 * DAY_MS) / count);
    const at = (hours: number) => new Date(Math.min(now - 1000, created + hours * 3_600_000)).toISOString();
    const moves =
      i % 3 !== 0
        ? []
        : [
            { status: 'IN_PROGRESS' as const, at: at(2) },
            { status: 'RESOLVED' as const, at: at(2 + (i % 97)) },
            ...(i % 9 === 0 ? [{ status: 'CLOSED' as const, at: at(100 + (i % 97)) }] : []),
            ...(i % 27 === 0 ? [{ status: 'OPEN' as const, at: at(200 + (i % 97)) }] : []),
          ];
    return { priority: PRIORITIES[i % 4] ?? 'low', createdAt: new Date(created).toISOString(), moves };
  });
  const context = { tenantId: tenant.tenantId, tier: 'premium' as const, cellId: tenant.cellId, userId: 'bench', username: 'bench', roles: ['admin'], overrides: {} };
  await withTenant(context, () => seedCaseHistory(history));
}

export async function analyticsLatency(platform: LocalPlatform, operator: string): Promise<void> {
  const big = await onboard(platform, operator, 'Analytics Bench Large', 'premium');
  const small = await onboard(platform, operator, 'Analytics Bench Small', 'premium');
  const seedStarted = performance.now();
  await seed(platform, big, ANALYTICS_CASES);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  await seed(platform, small, 10);

  async function measure(tenant: Tenant, path: string): Promise<number[]> {
    for (let i = 0; i < 20; i++) await call(platform.url, 'GET', path, { token: tenant.token });
    const latencies: number[] = [];
    for (let i = 0; i < ANALYTICS_CALLS; i++) {
      const t0 = performance.now();
      const response = await call(platform.url, 'GET', path, { token: tenant.token });
      latencies.push(performance.now() - t0);
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    }
    return latencies.sort((a, b) => a - b);
  }
  const line = (label: string, latencies: number[]) =>
    console.log(
      `  ${label.padEnd(44)} p50 ${percentile(latencies, 50).toFixed(2)} ms  p90 ${percentile(latencies, 90).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    );
  console.log(`Analytics: ${ANALYTICS_CALLS} sequential calls each (${ANALYTICS_CASES} cases over 90 days seeded in bulk in ${seedSeconds.toFixed(0)} s)`);
  line(`GET /analytics, ${ANALYTICS_CASES} cases`, await measure(big, '/analytics'));
  line('GET /analytics, 10 cases', await measure(small, '/analytics'));
  line(`GET /cases?limit=20, ${ANALYTICS_CASES} cases`, await measure(big, '/cases?limit=20'));
}
