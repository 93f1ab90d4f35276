import { randomUUID } from 'node:crypto';
import { seedCaseHistory } from '@cellbook/core/analytics/seed';
import * as Cell from '@cellbook/core/cells/cell';
import * as Keys from '@cellbook/core/keys/keys';
import { withTenant } from '@cellbook/core/tenancy/tenant-context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/** GET /analytics: figures kept on write, per tenant, premium and up (issue 10, item 3). */
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

async function open(tenant: TestTenant, priority: string): Promise<{ caseId: string; createdAt: string }> {
  const response = await tenant.call('POST', '/cases', { body: { title: `A ${priority} case`, priority } });
  expect(response.status).toBe(201);
  return response.body;
}

async function move(tenant: TestTenant, caseId: string, ...statuses: string[]): Promise<{ updatedAt: string }> {
  let last: { updatedAt: string } = { updatedAt: '' };
  for (const status of statuses) {
    const response = await tenant.call('PATCH', `/cases/${caseId}`, { body: { status } });
    expect(response.status, `${caseId} → ${status}`).toBe(200);
    last = response.body;
  }
  return last;
}

/** The exact nearest-rank percentile of some durations, in seconds. */
function exactPercentile(durationsMs: number[], p: number): number {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]! / 1000;
}

describe('GET /analytics', () => {
  it('counts a known sequence of creates, transitions, a reopen and a priority change exactly', async () => {
    const tenant = await env.onboard('premium');
    const a = await open(tenant, 'high');
    const b = await open(tenant, 'low');
    const c = await open(tenant, 'urgent');
    const d = await open(tenant, 'high');
    const aResolved = await move(tenant, a.caseId, 'IN_PROGRESS', 'RESOLVED');
    const bResolved = await move(tenant, b.caseId, 'IN_PROGRESS', 'RESOLVED');
    await move(tenant, b.caseId, 'CLOSED', 'OPEN');
    await move(tenant, c.caseId, 'IN_PROGRESS');
    expect((await tenant.call('PATCH', `/cases/${d.caseId}`, { body: { priority: 'medium', title: 'Renamed' } })).status).toBe(200);
    // Refused changes count nothing.
    expect((await tenant.call('PATCH', `/cases/${d.caseId}`, { body: { status: 'RESOLVED' } })).status).toBe(409);
    expect((await tenant.call('POST', '/cases', { body: { title: '', priority: 'low' } })).status).toBe(422);

    const response = await tenant.call('GET', '/analytics');

    expect(response.status).toBe(200);
    const zero = { low: 0, medium: 0, high: 0, urgent: 0 };
    expect(response.body.cases).toEqual({
      byStatus: {
        OPEN: { ...zero, low: 1, medium: 1, total: 2 },
        IN_PROGRESS: { ...zero, urgent: 1, total: 1 },
        RESOLVED: { ...zero, high: 1, total: 1 },
        CLOSED: { ...zero, total: 0 },
      },
      active: 4,
    });
    expect(response.body.range).toEqual({ from: daysAgo(29), to: today() });
    expect(response.body.daily).toHaveLength(30);
    expect(response.body.daily.at(-1)).toEqual({ date: today(), created: 4, resolved: 2, reopened: 1 });
    expect(response.body.daily.slice(0, -1).every((day: { created: number; resolved: number }) => day.created === 0 && day.resolved === 0)).toBe(true);

    const durations = [Date.parse(aResolved.updatedAt) - Date.parse(a.createdAt), Date.parse(bResolved.updatedAt) - Date.parse(b.createdAt)];
    const { resolutions, p50Seconds, p90Seconds } = response.body.timeToResolve;
    expect(resolutions).toBe(2);
    // Bucketed: never below the exact percentile, at most 10% plus a second above it.
    for (const [reported, p] of [
      [p50Seconds, 0.5],
      [p90Seconds, 0.9],
    ] as const) {
      expect(reported).toBeGreaterThanOrEqual(exactPercentile(durations, p));
      expect(reported).toBeLessThanOrEqual(exactPercentile(durations, p) * 1.1 + 1);
    }
    expect(response.body.pastTargetAge).toMatchObject({ targetAgeHours: 72, count: 0 });
  });

  it('counts a status change once when two clients make it at the same time', async () => {
    const tenant = await env.onboard('premium');
    const { caseId } = await open(tenant, 'medium');
    await move(tenant, caseId, 'IN_PROGRESS');

    const answers = await Promise.all([1, 2, 3].map(() => tenant.call('PATCH', `/cases/${caseId}`, { body: { status: 'RESOLVED' } })));

    // One applies; the others either lose the race (409) or find the case already resolved (a repeat, 200).
    expect(answers.every((answer) => answer.status === 200 || answer.status === 409)).toBe(true);
    const { body } = await tenant.call('GET', '/analytics');
    expect(body.daily.at(-1)).toMatchObject({ created: 1, resolved: 1 });
    expect(body.cases.byStatus.RESOLVED.total).toBe(1);
    expect(body.cases.byStatus.IN_PROGRESS.total).toBe(0);
    expect(body.timeToResolve.resolutions).toBe(1);
  });

  it('counts nothing for a change that loses a race on the case it read (its counts go with it)', async () => {
    const tenant = await env.onboard('premium');
    const { caseId } = await open(tenant, 'medium');
    await move(tenant, caseId, 'IN_PROGRESS');
    const casePk = Keys.caseKey(tenant.tenantId, caseId).PK;
    // Holds the first write of the case (a TransactWriteItems led by the case's own update) until released.
    let held = false;
    let reached: () => void = () => undefined;
    const atWrite = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stop = env.platform.interceptDynamoDb(async ({ operation, body }) => {
      const first = (body.TransactItems as { Update?: { Key?: { PK?: { S?: string } } } }[] | undefined)?.[0];
      if (operation !== 'TransactWriteItems' || first?.Update?.Key?.PK?.S !== casePk || held) return;
      held = true;
      reached();
      await released;
    });
    try {
      const slow = tenant.call('PATCH', `/cases/${caseId}`, { body: { status: 'RESOLVED' } });
      await atWrite;
      // Another client reads the same version and resolves the case first.
      expect((await tenant.call('PATCH', `/cases/${caseId}`, { body: { status: 'RESOLVED' } })).status).toBe(200);
      release();
      const lost = await slow;
      expect(lost.status).toBe(409);
      expect(lost.body.error.code).toBe('CONCURRENT_MODIFICATION');
    } finally {
      release();
      stop();
    }

    const { body } = await tenant.call('GET', '/analytics');
    expect(body.daily.at(-1)).toMatchObject({ created: 1, resolved: 1 });
    expect(body.cases.byStatus.RESOLVED.total).toBe(1);
    expect(body.cases.byStatus.IN_PROGRESS.total).toBe(0);
    expect(body.timeToResolve.resolutions).toBe(1);
  });

  it("never counts another tenant's cases (t-1 and t-10 side by side)", async () => {
    const first = await env.onboard('premium');
    const second = await env.onboard('premium');
    await open(first, 'low');
    for (const priority of ['urgent', 'urgent', 'high']) await open(second, priority);

    const mine = (await first.call('GET', '/analytics')).body;
    const theirs = (await second.call('GET', '/analytics')).body;

    expect(mine.cases.active).toBe(1);
    expect(mine.cases.byStatus.OPEN).toMatchObject({ low: 1, urgent: 0, high: 0, total: 1 });
    expect(mine.daily.at(-1).created).toBe(1);
    expect(theirs.cases.active).toBe(3);
    expect(theirs.cases.byStatus.OPEN).toMatchObject({ low: 0, urgent: 2, high: 1, total: 3 });
  });

  it('takes a range of days (both ends included) and refuses one out of bounds with 422 and details', async () => {
    const tenant = await env.onboard('premium');
    const week = await tenant.call('GET', `/analytics?from=${daysAgo(6)}&to=${today()}`);
    expect(week.status).toBe(200);
    expect(week.body.daily.map((day: { date: string }) => day.date)).toEqual([6, 5, 4, 3, 2, 1, 0].map(daysAgo));
    expect((await tenant.call('GET', `/analytics?from=${daysAgo(91)}`)).status).toBe(200);

    const bad: [string, string][] = [
      [`from=${today()}&to=${daysAgo(1)}`, 'from'],
      [`from=${daysAgo(92)}`, 'from'],
      [`from=${daysAgo(400)}&to=${daysAgo(200)}`, 'from'],
      [`to=${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}`, 'to'],
      ['from=2026-02-30', 'from'],
      ['from=yesterday', 'from'],
      ['tenantId=t-1', '(query)'],
    ];
    for (const [query, path] of bad) {
      const response = await tenant.call('GET', `/analytics?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.error.code, query).toBe('VALIDATION_FAILED');
      expect(
        response.body.error.details.map((detail: { path: string }) => detail.path),
        query,
      ).toContain(path);
    }
  });

  it('answers 403 FEATURE_NOT_ENTITLED below premium', async () => {
    for (const tier of ['basic', 'standard'] as const) {
      const tenant = await env.onboard(tier);
      for (const [method, path, body] of [
        ['GET', '/analytics', undefined],
        ['GET', '/analytics/settings', undefined],
        ['PATCH', '/analytics/settings', { targetAgeHours: 24 }],
      ] as const) {
        const response = await tenant.call(method, path, body ? { body } : {});
        expect(response.status, `${tier} ${method} ${path}`).toBe(403);
        expect(response.body.error.code).toBe('FEATURE_NOT_ENTITLED');
      }
    }
  });
});

describe('/analytics/settings', () => {
  it('lets a tenant admin read and change the target age, which GET /analytics then uses', async () => {
    const tenant = await env.onboard('premium');
    expect((await tenant.call('GET', '/analytics/settings')).body).toEqual({ targetAgeHours: 72 });

    const changed = await tenant.call('PATCH', '/analytics/settings', { body: { targetAgeHours: 24 } });

    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ targetAgeHours: 24 });
    expect((await tenant.call('GET', '/analytics/settings')).body).toEqual({ targetAgeHours: 24 });
    expect((await tenant.call('GET', '/analytics')).body.pastTargetAge.targetAgeHours).toBe(24);
  });

  it('refuses a target age out of bounds or malformed with 422 and keeps the old one', async () => {
    const tenant = await env.onboard('premium');
    for (const body of [{ targetAgeHours: 0 }, { targetAgeHours: 1.5 }, { targetAgeHours: 8761 }, { targetAgeHours: '24' }, {}, { targetAgeHours: 24, tenantId: 'x' }]) {
      const response = await tenant.call('PATCH', '/analytics/settings', { body });
      expect(response.status, JSON.stringify(body)).toBe(422);
    }
    expect((await tenant.call('GET', '/analytics/settings')).body).toEqual({ targetAgeHours: 72 });
  });

  it('refuses a tenant user who is not an admin (403 FORBIDDEN), who may still read the analytics', async () => {
    const tenant = await env.onboard('premium');
    const email = `agent-${randomUUID().slice(0, 8)}@example.com`;
    const invited = await tenant.call('POST', '/users', { body: { email, role: 'user' } });
    const token = await env.signIn(email, invited.body.temporaryPassword, 'Agent-Pass-123');

    const refused = await env.call('PATCH', '/analytics/settings', { token, body: { targetAgeHours: 1 } });

    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await env.call('GET', '/analytics', { token })).status).toBe(200);
    expect((await tenant.call('GET', '/analytics/settings')).body).toEqual({ targetAgeHours: 72 });
  });
});

describe('seedCaseHistory (for benchmarks)', () => {
  it('writes the same analytics as the same history made through the API', async () => {
    const live = await env.onboard('premium');
    const seeded = await env.onboard('premium');
    const a = await open(live, 'high');
    const b = await open(live, 'low');
    const c = await open(live, 'urgent');
    const aMoves = [await move(live, a.caseId, 'IN_PROGRESS'), await move(live, a.caseId, 'RESOLVED')];
    const bMoves = [
      await move(live, b.caseId, 'IN_PROGRESS'),
      await move(live, b.caseId, 'RESOLVED'),
      await move(live, b.caseId, 'CLOSED'),
      await move(live, b.caseId, 'OPEN'),
    ];
    const history = [
      { priority: 'high' as const, createdAt: a.createdAt, moves: ['IN_PROGRESS', 'RESOLVED'].map((status, i) => ({ status: status as 'OPEN', at: aMoves[i]!.updatedAt })) },
      {
        priority: 'low' as const,
        createdAt: b.createdAt,
        moves: ['IN_PROGRESS', 'RESOLVED', 'CLOSED', 'OPEN'].map((status, i) => ({ status: status as 'OPEN', at: bMoves[i]!.updatedAt })),
      },
      { priority: 'urgent' as const, createdAt: c.createdAt },
    ];
    // In-process, as a benchmark seeds: the tenant's own session in its cell.
    const cell = await Cell.get(seeded.cellId);
    Object.assign(process.env, { TENANT_ROLE_ARN: cell?.tenantRoleArn, TABLE_NAME: cell?.tableName });
    const me = (await seeded.call('GET', '/me')).body;
    const context = {
      tenantId: seeded.tenantId,
      tier: 'premium' as const,
      cellId: seeded.cellId,
      userId: me.username,
      username: me.username,
      roles: ['admin'],
      overrides: {},
    };

    expect(await withTenant(context, () => seedCaseHistory(history))).toEqual({ cases: 3, aggregates: 3 });

    const [fromApi, fromSeed] = await Promise.all([live.call('GET', '/analytics'), seeded.call('GET', '/analytics')]);
    const { asOf: _a, ...apiTarget } = fromApi.body.pastTargetAge;
    const { asOf: _b, ...seedTarget } = fromSeed.body.pastTargetAge;
    expect({ ...fromSeed.body, pastTargetAge: seedTarget }).toEqual({ ...fromApi.body, pastTargetAge: apiTarget });
    expect((await seeded.call('GET', '/me')).body.usage.activeCases).toBe(3);
    expect((await seeded.call('GET', '/cases')).body.items.map((item: { status: string }) => item.status).sort()).toEqual(['OPEN', 'OPEN', 'RESOLVED']);
  });
});
