import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import type { LocalRelease } from '@cellbook/local/release/build';
import { controlRoleArn } from '@cellbook/local/roles/control-roles';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * DESIGN §9 end to end, through the operator API, on a running platform with its release driver:
 * a faulty release is stopped in the canary and rolled back there while every other cell's tenants
 * see zero failed requests; a good one reaches every cell wave by wave with zero failed requests
 * anywhere; operators get clear refusals for what cannot be done.
 */
const GATE = { bakeSeconds: 2, minRequests: 10, probeIntervalSeconds: 0.25, maxGateSeconds: 30 };

let env: TestPlatform;
let inCell1: TestTenant;
let inCell2: TestTenant;
let caseIn1: string;
let caseIn2: string;
let bootReleaseId: string;

beforeAll(async () => {
  env = await bootTestPlatform({ releaseDriver: { pollMs: 100 }, releaseGate: GATE });
  const first = await env.onboard('premium');
  const second = await env.onboard('premium');
  [inCell1, inCell2] = first.cellId === 'cell-1' ? [first, second] : [second, first];
  expect([inCell1.cellId, inCell2.cellId]).toEqual(['cell-1', 'cell-2']);
  caseIn1 = (await inCell1.call('POST', '/cases', { body: { title: 'canary tenant', priority: 'low' } })).body.caseId;
  caseIn2 = (await inCell2.call('POST', '/cases', { body: { title: 'later-wave tenant', priority: 'low' } })).body.caseId;
  bootReleaseId = env.platform.cells[0]!.releaseId;
}, 120_000);
afterAll(() => env?.stop());

/** A tenant's steady traffic (its cases, one case, itself), every answer kept. */
class Traffic {
  readonly answers: { path: string; status: number }[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(tenant: TestTenant, caseId: string) {
    const paths = ['/cases', `/cases/${caseId}`, '/me'];
    this.loops = [0, 1].map(async (offset) => {
      for (let i = offset; this.running; i += 1) {
        const path = paths[i % paths.length]!;
        const answer = await tenant.call('GET', path).catch(() => ({ status: 0 }));
        this.answers.push({ path, status: answer.status });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
  }

  failures(): { path: string; status: number }[] {
    return this.answers.filter((answer) => answer.status !== 200);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the release as the operator API answers it.
async function release(releaseId: string): Promise<any> {
  const { status, body } = await env.call('GET', `/admin/releases/${releaseId}`, { token: env.operatorToken });
  expect(status).toBe(200);
  return body;
}

async function finished(releaseId: string) {
  await vi.waitFor(async () => expect(['finished', 'halted', 'aborted', 'rolled-back']).toContain((await release(releaseId)).status), { timeout: 150_000, interval: 200 });
  return release(releaseId);
}

async function cellReleases(): Promise<Record<string, string>> {
  const { body } = await env.call('GET', '/admin/cells', { token: env.operatorToken });
  return Object.fromEntries((body.items as { cellId: string; release: { releaseId: string } | null }[]).map((cell) => [cell.cellId, cell.release?.releaseId ?? '-']));
}

const start = (built: LocalRelease, extra: object = {}) => env.call('POST', '/admin/releases', { token: env.operatorToken, body: { manifest: built.manifest, ...extra } });

describe('releases on a running platform', () => {
  it('GET /admin/cells shows the release each cell runs', async () => {
    expect(bootReleaseId).toMatch(/^r-[0-9a-f]{16}$/);
    expect(await cellReleases()).toEqual({ 'cell-1': bootReleaseId, 'cell-2': bootReleaseId });
  });

  it('a faulty release is detected in the canary and rolled back there; the next wave never runs it and its tenants lose nothing', async () => {
    const faulty = await env.platform.releases.build({ commit: 'spec-faulty', fault: { route: 'GET /cases', kind: 'error' } });
    const canary = new Traffic(inCell1, caseIn1);
    const elsewhere = new Traffic(inCell2, caseIn2);
    let outcome: Awaited<ReturnType<typeof release>>;
    try {
      const started = await start(faulty);
      expect(started.status).toBe(201);
      expect(started.body.releaseId).toBe(faulty.releaseId);
      outcome = await finished(faulty.releaseId);
    } finally {
      await Promise.all([canary.stop(), elsewhere.stop()]);
    }
    expect(outcome.status).toBe('halted');
    expect(outcome.waves.map((wave: { kind: string; state: string }) => `${wave.kind}:${wave.state}`)).toEqual(['canary:rolled-back', 'pooled:pending']);
    expect(outcome.waves[0].verdict).toMatch(/cell-1 (alarm (5xx-rate|function-errors)|probe failed)/);
    expect(outcome.waves[0].cells[0].gate.probes.failed).toBeGreaterThan(0);
    expect(await cellReleases()).toEqual({ 'cell-1': bootReleaseId, 'cell-2': bootReleaseId });
    // Contained: the fault reached only the canary's listing route, and only there.
    expect(elsewhere.answers.length).toBeGreaterThan(20);
    expect(elsewhere.failures()).toEqual([]);
    expect(canary.failures().every((failure) => failure.path === '/cases' && failure.status >= 500)).toBe(true);
    // Rolled back: the canary's tenant is served again.
    expect((await inCell1.call('GET', '/cases')).status).toBe(200);
  }, 180_000);

  it('a good release reaches every cell wave by wave, each gate recorded with its figures, with zero failed requests anywhere', async () => {
    const good = await env.platform.releases.build({ commit: 'spec-good' });
    const traffic = [new Traffic(inCell1, caseIn1), new Traffic(inCell2, caseIn2)];
    let outcome: Awaited<ReturnType<typeof release>>;
    try {
      expect((await start(good)).status).toBe(201);
      // One release at a time.
      const second = await start(await env.platform.releases.build({ commit: 'spec-second' }));
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('RELEASE_IN_PROGRESS');
      outcome = await finished(good.releaseId);
    } finally {
      await Promise.all(traffic.map((load) => load.stop()));
    }
    expect(outcome.status).toBe('finished');
    for (const wave of outcome.waves) {
      expect(wave.state).toBe('promoted');
      expect(Date.parse(wave.promotedAt) - Date.parse(wave.deployedAt)).toBeGreaterThanOrEqual(GATE.bakeSeconds * 1000);
      for (const cell of wave.cells) {
        expect(cell.previousReleaseId).toBe(bootReleaseId);
        expect(cell.gate.requests).toBeGreaterThanOrEqual(GATE.minRequests);
        expect(cell.gate.probes).toMatchObject({ failed: 0 });
        expect(cell.gate.probes.passed).toBeGreaterThan(0);
        expect(cell.gate.alarms.every((alarm: { state: string }) => alarm.state === 'OK')).toBe(true);
      }
    }
    expect(Date.parse(outcome.waves[1].deployedAt)).toBeGreaterThanOrEqual(Date.parse(outcome.waves[0].promotedAt));
    expect(await cellReleases()).toEqual({ 'cell-1': good.releaseId, 'cell-2': good.releaseId });
    for (const load of traffic) {
      expect(load.answers.length).toBeGreaterThan(20);
      expect(load.failures()).toEqual([]);
    }
    const listed = await env.call('GET', '/admin/releases', { token: env.operatorToken });
    expect(listed.body.items.map((item: { releaseId: string }) => item.releaseId).slice(0, 2)).toEqual([good.releaseId, expect.stringMatching(/^r-/)]);
    // The cell's own audit trail says which release reached it.
    const trail = await env.call('GET', '/admin/cells/cell-2/audit', { token: env.operatorToken });
    expect(trail.body.items.map((item: { action: string }) => item.action)).toEqual(expect.arrayContaining(['release.deployed', 'release.promoted']));
  }, 180_000);

  it('an operator rolls a finished release back, wave by wave in reverse', async () => {
    const { body: list } = await env.call('GET', '/admin/releases', { token: env.operatorToken });
    const good = list.items.find((item: { status: string }) => item.status === 'finished');
    const rolled = await env.call('POST', `/admin/releases/${good.releaseId}/rollback`, { token: env.operatorToken, body: { reason: 'regression reported' } });
    expect(rolled.status).toBe(202);
    const outcome = await finished(good.releaseId);
    expect(outcome.status).toBe('rolled-back');
    expect(Date.parse(outcome.waves[0].rolledBackAt)).toBeGreaterThanOrEqual(Date.parse(outcome.waves[1].rolledBackAt));
    expect(await cellReleases()).toEqual({ 'cell-1': bootReleaseId, 'cell-2': bootReleaseId });
  }, 180_000);

  it('bad input gets a clear error and changes nothing', async () => {
    const before = await cellReleases();
    const built = await env.platform.releases.build({ commit: 'spec-bad-input' });
    const operator = { token: env.operatorToken };
    const cases: [string, Promise<{ status: number; body: { error: { code: string } } }>, number, string][] = [
      ['an unknown release', env.call('GET', '/admin/releases/r-0123456789abcdef', operator), 404, 'RELEASE_NOT_FOUND'],
      ['a malformed release id', env.call('GET', '/admin/releases/nope', operator), 404, 'RELEASE_NOT_FOUND'],
      ['aborting an unknown release', env.call('POST', '/admin/releases/r-0123456789abcdef/abort', { ...operator, body: { reason: 'x' } }), 404, 'RELEASE_NOT_FOUND'],
      ['a plan with an unknown cell', start(built, { waves: [['cell-1'], ['cell-9']] }), 422, 'INVALID_RELEASE_PLAN'],
      ['a malformed plan', start(built, { waves: 'cell-1' }), 422, 'VALIDATION_FAILED'],
      ['a malformed manifest', env.call('POST', '/admin/releases', { ...operator, body: { manifest: { commit: 'x' } } }), 422, 'VALIDATION_FAILED'],
    ];
    for (const [name, answer, status, code] of cases) {
      const { status: got, body } = await answer;
      expect({ name, status: got, code: body.error.code }).toEqual({ name, status, code });
    }
    const { body: list } = await env.call('GET', '/admin/releases', operator);
    const finishedOne = list.items.find((item: { status: string }) => item.status !== 'rolling-out');
    const abort = await env.call('POST', `/admin/releases/${finishedOne.releaseId}/abort`, { ...operator, body: { reason: 'too late' } });
    expect(abort.status).toBe(409);
    expect(abort.body.error.code).toBe('RELEASE_NOT_ACTIVE');
    expect(list.items.some((item: { releaseId: string }) => item.releaseId === built.releaseId)).toBe(false);
    expect(await cellReleases()).toEqual(before);
    // Tenants never reach the operator API.
    expect((await inCell1.call('GET', '/admin/releases')).status).toBe(401);
  });
});

describe("the release driver's role", () => {
  it("writes the releases' and the probes' registry partitions, and not a customer tenant's record", async () => {
    const db = documentClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.dynamodb,
      credentials: sdkCredentials(env.platform.sessionFor(controlRoleArn('cellbook-local', 'release-driver'))),
    });
    const TableName = 'cellbook-local-tenants';
    const denied = (promise: Promise<unknown>) => expect(promise).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await denied(db.send(new GetCommand({ TableName, Key: { PK: `TENANT#${inCell1.tenantId}`, SK: 'TENANT' } })));
    await denied(
      db.send(
        new UpdateCommand({
          TableName,
          Key: { PK: `TENANT#${inCell1.tenantId}`, SK: 'TENANT' },
          UpdateExpression: 'SET cellId = :c',
          ExpressionAttributeValues: { ':c': 'cell-2' },
        }),
      ),
    );
    await denied(db.send(new PutCommand({ TableName, Item: { PK: 'IDEMPOTENCY#operator#x', SK: 'IDEMPOTENCY' } })));
    // Its own: the releases' partitions, and a probe's.
    await expect(db.send(new GetCommand({ TableName, Key: { PK: 'RELEASE#ACTIVE', SK: 'LEASE' } }))).resolves.toBeDefined();
    await expect(db.send(new GetCommand({ TableName, Key: { PK: 'TENANT#probe-cell-1-abc123', SK: 'TENANT' } }))).resolves.toBeDefined();
  });

  it('no customer may take a probe-like name, so no customer record is ever in its reach', async () => {
    const { status, body } = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      headers: { 'Idempotency-Key': 'probe-squat' },
      body: { name: 'Probe cell-1', tier: 'basic', adminEmail: 'squat@example.com' },
    });
    expect(status).toBe(422);
    expect(JSON.stringify(body.error.details)).toContain('reserved for the release probes');
  });
});
