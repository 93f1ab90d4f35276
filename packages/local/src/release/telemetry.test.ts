import { DeployFailed, type ReleaseRef } from '@cellbook/core/releases/ports';
import { releaseIdOf, type ReleaseManifest } from '@cellbook/core/releases/manifest';
import { describe, expect, it } from 'vitest';
import type { LocalRelease } from './build.js';
import { LocalCellTelemetry, localDeployer, type DeployableCell } from './telemetry.js';

/** A clock the spec moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; set: (ms: number) => void } {
  let ms = start;
  return {
    now: () => ms,
    set: (value) => {
      ms = value;
    },
  };
}

const alarm = (observation: { alarms: { name: string; state: string }[] }, name: string) => observation.alarms.find((candidate) => candidate.name === name)?.state;

describe('LocalCellTelemetry', () => {
  it("counts one cell's requests, 5xx, p99, function errors and throttles over exactly the window asked", async () => {
    const clock = manualClock();
    const telemetry = new LocalCellTelemetry({ now: clock.now });
    clock.set(999);
    telemetry.recordRequest('cell-1', { status: 500, latencyMs: 9_000 }); // before the window
    clock.set(1_000);
    for (let i = 0; i < 98; i += 1) telemetry.recordRequest('cell-1', { status: 200, latencyMs: 10 });
    telemetry.recordRequest('cell-1', { status: 502, latencyMs: 20 });
    telemetry.recordRequest('cell-1', { status: 429, latencyMs: 4_000 });
    telemetry.recordInvocation('cell-1', { functionName: 'cases/list', ok: false, errorName: 'Error', throttled: false, durationMs: 3 });
    telemetry.recordInvocation('cell-1', { functionName: 'cases/list', ok: false, errorName: 'FunctionTimeout', throttled: true, durationMs: 50 });
    telemetry.recordInvocation('cell-1', { functionName: 'cases/list', ok: true, throttled: false, durationMs: 5 });
    telemetry.recordRequest('cell-2', { status: 500, latencyMs: 10 }); // another cell
    clock.set(2_001);
    telemetry.recordRequest('cell-1', { status: 500, latencyMs: 9_000 }); // after the window

    const observation = await telemetry.observe('cell-1', { fromMs: 1_000, toMs: 2_000 });
    expect(observation).toMatchObject({ requests: 100, serverErrors: 1, p99LatencyMs: 20, functionErrors: 1, functionThrottles: 1 });
    expect(Object.fromEntries(observation.alarms.map((entry) => [entry.name, entry.state]))).toEqual({
      '5xx-rate': 'OK',
      'latency-p99': 'OK',
      throttles: 'ALARM',
      'function-errors': 'OK',
    });
  });

  it("puts a cell's 5xx rate and function errors in ALARM, and leaves a quiet cell OK", async () => {
    const telemetry = new LocalCellTelemetry({ isCell: (cellId) => cellId === 'cell-1' || cellId === 'cell-2' });
    const fromMs = Date.now();
    for (let i = 0; i < 10; i += 1) {
      telemetry.recordRequest('cell-1', { status: 502, latencyMs: 5 });
      telemetry.recordInvocation('cell-1', { functionName: 'cases/list', ok: false, errorName: 'Error', throttled: false, durationMs: 2 });
    }
    const window = { fromMs, toMs: Date.now() };
    const failing = await telemetry.observe('cell-1', window);
    expect(alarm(failing, '5xx-rate')).toBe('ALARM');
    expect(alarm(failing, 'function-errors')).toBe('ALARM');
    const quiet = await telemetry.observe('cell-2', window);
    expect(quiet).toMatchObject({ requests: 0, serverErrors: 0, p99LatencyMs: null, functionErrors: 0, functionThrottles: 0 });
    expect(quiet.alarms.every((entry) => entry.state === 'OK')).toBe(true);
    await expect(telemetry.observe('cell-9', window)).rejects.toThrow('no cell cell-9');
    await expect(telemetry.observe('cell-1', { fromMs: 10, toMs: 5 })).rejects.toThrow(RangeError);
  });

  it('keeps only the last samples of each cell (a bounded ring buffer)', async () => {
    const clock = manualClock(0);
    const telemetry = new LocalCellTelemetry({ capacity: 3, now: clock.now });
    for (const [at, status] of [
      [1, 500],
      [2, 500],
      [3, 200],
      [4, 200],
      [5, 200],
    ] as const) {
      clock.set(at);
      telemetry.recordRequest('cell-1', { status, latencyMs: at });
    }
    expect(telemetry.retained('cell-1')).toEqual({ requests: 3, invocations: 0 });
    // The two oldest (the 500s) were overwritten.
    expect(await telemetry.observe('cell-1', { fromMs: 0, toMs: 10 })).toMatchObject({ requests: 3, serverErrors: 0, p99LatencyMs: 5 });
  });
});

describe('localDeployer', () => {
  const manifest = (commit: string): ReleaseManifest => ({ commit, artefacts: { 'health.mjs': 'a'.repeat(64) }, config: {} });
  const ref = (commit: string): ReleaseRef => ({ releaseId: releaseIdOf(manifest(commit)), manifest: manifest(commit) });
  const release = (commit: string): LocalRelease => ({ ...ref(commit), dir: '/nowhere', workerHost: '/nowhere/w.mjs', functions: {} });

  function fakeCell(cellId: string, releaseId: string, deploy: (release: LocalRelease) => Promise<void> = async () => undefined): DeployableCell & { deployed: string[] } {
    const cell = {
      cellId,
      releaseId,
      deployed: [] as string[],
      async deploy(next: LocalRelease) {
        await deploy(next);
        cell.deployed.push(next.releaseId);
        cell.releaseId = next.releaseId;
      },
    };
    return cell;
  }

  it("brings a cell to a release it loads from the store, and answers 'deployed' at once for the release it runs", async () => {
    const cell = fakeCell('cell-1', ref('old').releaseId);
    const loads: string[] = [];
    const deployer = localDeployer(
      () => [cell],
      async (id) => {
        loads.push(id);
        return release('new');
      },
    );
    await expect(deployer.deploy('cell-1', ref('new'))).resolves.toBe('deployed');
    expect(cell.deployed).toEqual([ref('new').releaseId]);
    await expect(deployer.deploy('cell-1', ref('new'))).resolves.toBe('deployed');
    expect(loads).toEqual([ref('new').releaseId]);
  });

  it("answers 'in-progress' while that deployment is on its way", async () => {
    let finish: () => void = () => undefined;
    const cell = fakeCell('cell-1', ref('old').releaseId, () => new Promise<void>((resolve) => (finish = resolve)));
    const deployer = localDeployer(
      () => [cell],
      async () => release('new'),
    );
    const first = deployer.deploy('cell-1', ref('new'));
    await expect(deployer.deploy('cell-1', ref('new'))).resolves.toBe('in-progress');
    await new Promise((resolve) => setImmediate(resolve));
    finish();
    await expect(first).resolves.toBe('deployed');
  });

  it('throws for an unknown cell, and DeployFailed when the release cannot be loaded or verified, leaving the cell as it was', async () => {
    const cell = fakeCell('cell-1', ref('old').releaseId);
    const deployer = localDeployer(
      () => [cell],
      async (id) => {
        throw new Error(`release ${id}: artefact cases/list.mjs does not match its sha256 in the manifest (tampered with?)`);
      },
    );
    await expect(deployer.deploy('cell-9', ref('new'))).rejects.toThrow('no cell cell-9');
    const failure = await deployer.deploy('cell-1', ref('new')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeployFailed);
    expect(failure).toMatchObject({ cellId: 'cell-1', message: expect.stringContaining('does not match its sha256') });
    expect(cell.releaseId).toBe(ref('old').releaseId);
    // A ref whose manifest is not that of its id is refused before anything is loaded.
    await expect(deployer.deploy('cell-1', { releaseId: ref('new').releaseId, manifest: manifest('other') })).rejects.toBeInstanceOf(DeployFailed);
  });
});
