import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestUsage, ledgerTable } from '@cellbook/core/metering/ledger';
import type { CellSlo, NoisyNeighbourView, TenantSlo } from '@cellbook/core/metering/slo';
import type { UsageEvent } from '@cellbook/core/metering/usage-event';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * `GET /admin/slo` through the router (DESIGN §10): tenants and cells burning their error budget,
 * computed from the ledger's gateway buckets — filled here as the usage ingestion fills them, with
 * gateway usage events (each delivered twice: the ledger counts it once) — and a tenant's noisy
 * neighbours. The percentiles it answers equal those of the raw latencies the events carried.
 */
let env: TestPlatform;
let noisy: TestTenant;
let victim: TestTenant;
let calm: TestTenant;
/** The end of the windows asked about: the last 5-minute boundary before the spec ran. */
let at: Date;
const raw = new Map<string, number[]>();

const MINUTE = 60_000;

interface Observation {
  status: number;
  latencyMs: number;
  outcome?: 'integration' | 'throttled';
}

/** One gateway event per observation, spread over the bucket that starts `minutesAgo` before `at`. */
function gatewayEvents(tenant: TestTenant, minutesAgo: number, observations: Observation[]): UsageEvent[] {
  const start = at.getTime() - minutesAgo * MINUTE;
  return observations.map((observation, i) => {
    const requestId = randomUUID();
    if (observation.outcome !== 'throttled') raw.set(tenant.tenantId, [...(raw.get(tenant.tenantId) ?? []), observation.latencyMs]);
    return {
      tenantId: tenant.tenantId,
      cellId: tenant.cellId,
      tier: tenant.tier,
      eventId: requestId,
      idempotencyKey: `gateway:${requestId}`,
      occurredAt: new Date(start + Math.floor((i * 5 * MINUTE) / observations.length)).toISOString(),
      actor: 'gateway',
      data: { kind: 'gateway', route: 'GET /cases', status: observation.status, latencyMs: observation.latencyMs, outcome: observation.outcome ?? 'integration' },
    };
  });
}

const times = (count: number, observation: Observation): Observation[] => Array.from({ length: count }, () => observation);

/** The nearest-rank percentile of a raw list, by the textbook. */
function rawPercentile(latencies: readonly number[], percentile: number): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.ceil((percentile / 100) * sorted.length) - 1]!;
}

const slo = (query = '', token = env.operatorToken) => env.call('GET', `/admin/slo${query}`, { token });

beforeAll(async () => {
  env = await bootTestPlatform({ cells: [{ cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 10 }] });
  [noisy, victim, calm] = [await env.onboard('basic'), await env.onboard('basic'), await env.onboard('basic')];
  at = new Date(Math.floor(Date.now() / (5 * MINUTE)) * 5 * MINUTE);

  // The last hour, bucket by bucket (basic: 99.5 % available, p99 within 2,000 ms):
  // - noisy: 20 requests, 4 answered 503 (20 % bad: 40× its budget), all slower than 2,000 ms;
  // - victim: 10 requests, one of them at 2,100 ms (10 % slow: 10× the latency budget), no error;
  // - calm: 10 quick requests and 30 throttled at its own rate (429: not valid events).
  const events: UsageEvent[] = [];
  for (let bucket = 1; bucket <= 12; bucket++) {
    const minutesAgo = bucket * 5;
    events.push(...gatewayEvents(noisy, minutesAgo, [...times(16, { status: 200, latencyMs: 2_500 + bucket }), ...times(4, { status: 503, latencyMs: 3_000 })]));
    events.push(
      ...gatewayEvents(victim, minutesAgo, [{ status: 200, latencyMs: 2_100 }, ...Array.from({ length: 9 }, (_, i) => ({ status: 200, latencyMs: 100 + 10 * i + bucket }))]),
    );
    events.push(
      ...gatewayEvents(calm, minutesAgo, [...times(10, { status: 200, latencyMs: 40 }), ...times(30, { status: 429, latencyMs: 2, outcome: 'throttled' as const })]),
    );
  }
  // Written as the ingestion writes them (its identity, its table), each event delivered twice.
  Object.assign(process.env, env.platform.controlFunctionEnv('control/usage-ingest'));
  const ledger = ledgerTable();
  for (const delivery of [events, [...events].reverse()]) {
    for (let i = 0; i < delivery.length; i += 100) await ingestUsage(ledger, delivery.slice(i, i + 100));
  }
}, 180_000);
afterAll(() => env?.stop());

describe('GET /admin/slo', () => {
  it('lists the tenants burning their budget with the alerts that fire and the burn rate of every window', async () => {
    const response = await slo(`?at=${at.toISOString()}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.at).toBe(at.toISOString());
    const tenants = new Map((response.body.tenants as TenantSlo[]).map((tenant) => [tenant.tenantId, tenant]));
    expect([...tenants.keys()].sort()).toEqual([noisy.tenantId, victim.tenantId].sort());
    // The fastest burner first.
    expect(response.body.tenants[0].tenantId).toBe(noisy.tenantId);

    expect(tenants.get(noisy.tenantId)).toMatchObject({
      tier: 'basic',
      cellIds: ['cell-1'],
      objectives: { availabilityPercent: 99.5, p99LatencyMs: 2_000 },
      availability: { objectivePercent: 99.5, alerts: ['fast', 'slow'] },
      latency: { objectivePercent: 99, alerts: ['fast', 'slow'] },
      traffic: { requests: 240, serverErrors: 48, throttled: 0 },
    });
    for (const rate of Object.values(tenants.get(noisy.tenantId)!.availability.burnRates)) expect(rate).toBeCloseTo(0.2 / 0.005, 6);

    // 10 % slow against a 1 % budget: 10× — the slow alert, not the fast one; no error at all.
    expect(tenants.get(victim.tenantId)).toMatchObject({ availability: { alerts: [] }, latency: { alerts: ['slow'] } });
    expect(tenants.get(victim.tenantId)!.latency.burnRates['1h']).toBeCloseTo(10, 6);
  });

  it('lists the cell burning its budget, per tier, its tenants counted together; throttled requests burn nothing', async () => {
    const { body } = await slo(`?at=${at.toISOString()}`);
    const cells = body.cells as CellSlo[];
    expect(cells).toHaveLength(1);
    // 48 errors in 240 + 120 + 120 valid requests (calm's 360 throttled ones are not valid): 10 % → 20×.
    expect(cells[0]).toMatchObject({ cellId: 'cell-1', tier: 'basic', tenants: 3, availability: { alerts: ['fast', 'slow'] }, traffic: { throttled: 360 } });
    expect(cells[0]!.availability.burnRates['1h']).toBeCloseTo(0.1 / 0.005, 6);
    expect((body.tenants as TenantSlo[]).map((tenant) => tenant.tenantId)).not.toContain(calm.tenantId);
  });

  it("shows a tenant's percentiles, equal to the raw latencies', next to its cell's other tenants in the same hour", async () => {
    const response = await slo(`?at=${encodeURIComponent(at.toISOString())}&tenantId=${victim.tenantId}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const view = response.body.neighbours as NoisyNeighbourView;
    expect(view).toMatchObject({ tenantId: victim.tenantId, window: { from: new Date(at.getTime() - 60 * MINUTE).toISOString(), to: at.toISOString() } });
    expect(view.cells).toHaveLength(1);
    const cell = view.cells[0]!;
    const percentilesOf = (tenantId: string) => ({
      p50: rawPercentile(raw.get(tenantId)!, 50),
      p95: rawPercentile(raw.get(tenantId)!, 95),
      p99: rawPercentile(raw.get(tenantId)!, 99),
    });
    expect(cell.tenant).toMatchObject({ tenantId: victim.tenantId, requests: 120, errorRate: 0, ...percentilesOf(victim.tenantId) });
    expect(cell.neighbours).toEqual([
      expect.objectContaining({ tenantId: calm.tenantId, requests: 480, throttled: 360, errorRate: 0 }),
      expect.objectContaining({ tenantId: noisy.tenantId, requests: 240, errorRate: 0.2, ...percentilesOf(noisy.tenantId) }),
    ]);
  });

  it('answers nothing burning for a moment before the traffic', async () => {
    const { status, body } = await slo(`?at=${new Date(at.getTime() - 2 * 60 * MINUTE).toISOString()}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ tenants: [], cells: [] });
  });

  it.each([
    ['a moment in the future', () => `?at=${new Date(Date.now() + 10 * MINUTE).toISOString()}`, 'at'],
    ['a moment whose windows the ledger no longer keeps', () => `?at=${new Date(Date.now() - 10 * 24 * 60 * MINUTE).toISOString()}`, 'at'],
    ['a moment that is not a timestamp', () => '?at=yesterday', 'at'],
    ['a tenant id that cannot be one', () => '?tenantId=T*1', 'tenantId'],
    ['an unknown parameter', () => '?window=1h', '(query)'],
  ])('refuses %s with the error body', async (_case, query, path) => {
    const response = await slo(query());
    expect(response.status, JSON.stringify(response.body)).toBe(422);
    expect(response.body).toEqual({
      error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: [expect.objectContaining({ path })] },
      requestId: expect.any(String),
    });
  });

  it("shows live traffic from the gateway's access log: percentiles equal the raw log's, the bucket in progress included", async () => {
    // Standard: a burst of 100, so none of its 26 requests meets its own rate limit however fast they go.
    const live = await env.onboard('standard');
    const created = await live.call('POST', '/cases', { body: { title: 'Live', priority: 'low' } });
    expect(created.status).toBe(201);
    for (let i = 0; i < 20; i++) expect((await live.call('GET', `/cases/${created.body.caseId}`)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await live.call('GET', '/cases/01J00000000000000000000000')).status).toBe(404);
    await env.platform.usageDelivered();

    // The raw log: every access log record of the tenant, and the latencies of those a function answered.
    const records = env.logs
      .filter(({ source }) => source.endsWith(`-${live.cellId}-gateway`))
      .map(({ line }) => JSON.parse(line) as { tenantId: string; status: number; responseLatency: number; errorType: string })
      .filter((record) => record.tenantId === live.tenantId);
    expect(records.length).toBeGreaterThanOrEqual(26);
    const answered = records.filter((record) => record.errorType === '-').map((record) => record.responseLatency);

    const response = await slo(`?tenantId=${live.tenantId}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const view = response.body.neighbours as NoisyNeighbourView;
    expect(view.cells.map((cell) => cell.cellId)).toEqual([live.cellId]);
    expect(view.cells[0]!.tenant).toMatchObject({
      tenantId: live.tenantId,
      tier: 'standard',
      requests: records.length,
      serverErrors: records.filter((record) => record.status >= 500).length,
      p50: rawPercentile(answered, 50),
      p95: rawPercentile(answered, 95),
      p99: rawPercentile(answered, 99),
    });
    expect(view.cells[0]!.neighbours.map((neighbour) => neighbour.tenantId)).toContain(victim.tenantId);
  });

  it("is the operator's: a tenant's token is refused", async () => {
    expect((await slo('', victim.token)).status).toBe(401);
  });
});
