import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeployFailed } from '@cellbook/core/releases/ports';
import type { LocalRelease } from '@cellbook/local/release/build';
import type { LocalCellHandle } from '@cellbook/local/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * DESIGN §9: a local cell swaps its function bundles to another release while it serves traffic,
 * without failing a request in flight; its alarms come from its own gateway and functions.
 */
const SLOW_MS = 2_000;

let env: TestPlatform;
let inCell1: TestTenant;
let inCell2: TestTenant;
let cell1: LocalCellHandle;
let cell2: LocalCellHandle;
let caseId1: string;
let caseId2: string;
let bootReleaseId: string;
let good: LocalRelease;
let slow: LocalRelease;
let failing: LocalRelease;

beforeAll(async () => {
  env = await bootTestPlatform();
  const first = await env.onboard('premium');
  const second = await env.onboard('premium');
  [inCell1, inCell2] = first.cellId === 'cell-1' ? [first, second] : [second, first];
  expect([inCell1.cellId, inCell2.cellId]).toEqual(['cell-1', 'cell-2']);
  cell1 = env.platform.cells.find((cell) => cell.cellId === 'cell-1')!;
  cell2 = env.platform.cells.find((cell) => cell.cellId === 'cell-2')!;
  caseId1 = (await inCell1.call('POST', '/cases', { body: { title: 'served throughout', priority: 'low' } })).body.caseId;
  caseId2 = (await inCell2.call('POST', '/cases', { body: { title: 'elsewhere', priority: 'low' } })).body.caseId;
  bootReleaseId = cell1.releaseId;
  // Another release of the same sources, and two deliberately faulty ones.
  good = await env.platform.releases.build({ commit: 'spec-next' });
  slow = await env.platform.releases.build({ commit: 'spec-next', fault: { route: 'GET /cases', kind: 'slow', delayMs: SLOW_MS } });
  failing = await env.platform.releases.build({ commit: 'spec-next', fault: { route: 'GET /cases', kind: 'error' } });
});
afterAll(() => env?.stop());

/** Continuous concurrent requests from one tenant: reads of the tenant's cases, of one case, and of itself. */
class Traffic {
  readonly statuses: number[] = [];
  readonly failures: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly tenant: TestTenant,
    caseId: string,
    concurrency: number,
  ) {
    const paths = ['/cases', `/cases/${caseId}`, '/me'];
    this.loops = Array.from({ length: concurrency }, (_, loop) => this.loop(paths, loop));
  }

  private async loop(paths: string[], offset: number): Promise<void> {
    for (let i = offset; this.running; i += 1) {
      const path = paths[i % paths.length]!;
      const outcome = await this.tenant.call('GET', path).catch((error: unknown) => error as Error);
      if (outcome instanceof Error) this.failures.push(`GET ${path}: ${outcome.message}`);
      else {
        this.statuses.push(outcome.status);
        if (outcome.status !== 200) this.failures.push(`GET ${path}: ${outcome.status} ${JSON.stringify(outcome.body)}`);
      }
      // Paced under the premium plan's rate: a 429 here would be the usage plan, not the swap.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

async function timed(tenant: TestTenant, path: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const { status } = await tenant.call('GET', path);
  return { status, ms: performance.now() - started };
}

describe('a cell deploying releases under load', () => {
  it('swaps its bundles again and again without failing one request, and serves each new release once deployed', async () => {
    const load = new Traffic(inCell1, caseId1, 3);
    const elsewhere = new Traffic(inCell2, caseId2, 1);
    try {
      await vi.waitFor(() => expect(load.statuses.length).toBeGreaterThan(20), { timeout: 20_000, interval: 20 });

      const bootApi = cell1.functions.api;
      await cell1.deploy(good);
      expect(cell1.releaseId).toBe(good.releaseId);
      // New execution environments; the previous ones finished their work and stopped.
      expect(cell1.functions.api).not.toBe(bootApi);
      await expect(bootApi.invoke('me', {}, 1_000)).rejects.toThrow('is stopped');

      await cell1.deploy(slow);
      // The next requests are served by the new bundle: the slow fault is there.
      const slowRead = await timed(inCell1, '/cases');
      expect(slowRead.status).toBe(200);
      expect(slowRead.ms).toBeGreaterThanOrEqual(SLOW_MS - 50);
      // Requests are parked in the slow handler when the cell swaps away from it: they must finish.
      await vi.waitFor(() => expect(cell1.functions.api.busy).toBe(true), { timeout: 10_000, interval: 5 });
      await cell1.deploy(good);
      // The first request may start an execution environment of the new bundle (a cold start, slow on a
      // loaded machine); a warm one shows which handler serves: the good one answers well under SLOW_MS.
      expect((await timed(inCell1, '/cases')).status).toBe(200);
      expect((await timed(inCell1, '/cases')).ms).toBeLessThan(SLOW_MS);

      await cell1.deploy(slow);
      await vi.waitFor(() => expect(cell1.functions.api.busy).toBe(true), { timeout: 10_000, interval: 5 });
      // Two deploys asked at once run one after the other: the second starts once the first has
      // switched and drained (here: waited for the slow requests), and the last asked wins.
      const bootRelease = await env.platform.releases.load(bootReleaseId);
      let whenFirstDone: string | undefined;
      const first = cell1.deploy(good).then(() => {
        whenFirstDone = cell1.releaseId;
      });
      const second = cell1.deploy(bootRelease);
      await Promise.all([first, second]);
      expect(whenFirstDone).toBe(good.releaseId);
      expect(cell1.releaseId).toBe(bootReleaseId);
      // The release it runs: nothing to do, the same execution environments keep serving.
      const current = cell1.functions.api;
      await cell1.deploy(bootRelease);
      expect(cell1.functions.api).toBe(current);
    } finally {
      await Promise.all([load.stop(), elsewhere.stop()]);
    }
    expect(load.failures).toEqual([]);
    expect(elsewhere.failures).toEqual([]);
    expect(load.statuses.length).toBeGreaterThan(50);
    // The other cell never ran any of it.
    expect(cell2.releaseId).toBe(bootReleaseId);
  }, 120_000);
});

describe("each cell's own telemetry and alarms", () => {
  it("puts the faulty cell's 5xx-rate and function-errors alarms in ALARM and leaves the other cell's OK", async () => {
    const { telemetry, deployer } = env.platform.releaseAdapters;
    await expect(deployer.deploy('cell-1', failing)).resolves.toBe('deployed');
    expect(cell1.releaseId).toBe(failing.releaseId);

    const fromMs = Date.now();
    for (let i = 0; i < 10; i += 1) {
      expect((await inCell1.call('GET', '/cases')).status).toBe(502);
      expect((await inCell1.call('GET', '/me')).status).toBe(200);
      expect((await inCell2.call('GET', '/cases')).status).toBe(200);
    }
    const window = { fromMs, toMs: Date.now() };
    const faulty = await telemetry.observe('cell-1', window);
    const healthy = await telemetry.observe('cell-2', window);

    expect(faulty).toMatchObject({ requests: 20, serverErrors: 10, functionErrors: 10, functionThrottles: 0 });
    const states = (observation: typeof faulty) => Object.fromEntries(observation.alarms.map((alarm) => [alarm.name, alarm.state]));
    expect(states(faulty)).toMatchObject({ '5xx-rate': 'ALARM', 'function-errors': 'ALARM' });
    expect(healthy).toMatchObject({ requests: 10, serverErrors: 0, functionErrors: 0, functionThrottles: 0 });
    expect(states(healthy)).toEqual({ '5xx-rate': 'OK', 'latency-p99': 'OK', throttles: 'OK', 'function-errors': 'OK' });

    // Rolled back, the cell serves again.
    const bootRelease = await env.platform.releases.load(bootReleaseId);
    await expect(deployer.deploy('cell-1', bootRelease)).resolves.toBe('deployed');
    expect((await inCell1.call('GET', '/cases')).status).toBe(200);
  });

  it('refuses, through the deployer, a release whose bundle was tampered with; the cell keeps serving its own', async () => {
    const { deployer } = env.platform.releaseAdapters;
    const tampered = await env.platform.releases.build({ commit: 'spec-next', config: { note: 'to be tampered with' } });
    await appendFile(join(tampered.dir, 'cases/list.mjs'), '\n// not what was built\n');
    const before = cell1.releaseId;

    const failure = await deployer.deploy('cell-1', tampered).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeployFailed);
    expect(failure).toMatchObject({ cellId: 'cell-1', message: expect.stringContaining('artefact cases/list.mjs does not match its sha256') });
    expect(cell1.releaseId).toBe(before);
    expect((await inCell1.call('GET', '/cases')).status).toBe(200);
    await expect(deployer.deploy('cell-7', good)).rejects.toThrow('no cell cell-7');
  });
});
