/**
 * The release orchestrator against a real DynamoDB (dynalite) with scripted adapters: what an
 * operator would notice of a rollout — which cells run what, in which order, what the gate saw,
 * what was refused — and that a driver crashing at any step is resumed to the same end.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { cellbookTable } from '@cellbook/local/aws/cellbook-table';
import { startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as Cell from '../cells/cell.js';
import type { AlarmState } from '../cells/alarms.js';
import * as Audit from '../events/audit.js';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { systemDocumentClient } from '../shared/dynamo.js';
import { releaseIdOf, type ReleaseManifest } from './manifest.js';
import { advanceRelease, driveRelease, releaseHold, startRelease, stopRelease, type ReleaseDeps } from './orchestrator.js';
import { DeployFailed, type CellObservation, type ProbeResult } from './ports.js';
import { activeLease, getRollout, registerManifest } from './release.js';

const TENANTS = 'orchestrator-tenants';
const CELLS = 'orchestrator-cells';
const CELL_IDS = ['cell-1', 'cell-2', 'cell-3', 'cell-4', 'cell-d1'] as const;

const manifest = (commit: string): ReleaseManifest => ({ commit, artefacts: { 'api.mjs': 'a'.repeat(64) }, config: {} });
const BOOT = manifest('boot');
const BOOT_ID = releaseIdOf(BOOT);
const GATE = { bakeSeconds: 10, minRequests: 20, probeIntervalSeconds: 1, maxGateSeconds: 60 };

let dynamo: LocalDynamo;
const bus = mockClient(EventBridgeClient);

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    TENANTS_TABLE: TENANTS,
    CELLS_TABLE: CELLS,
    EVENT_BUS_NAME: 'bus',
  });
  await systemDocumentClient().send(new CreateTableCommand(cellbookTable(TENANTS, { listingIndex: true })));
  await systemDocumentClient().send(new CreateTableCommand(cellbookTable(CELLS)));
});
afterAll(async () => {
  await dynamo?.close();
});

/** Every cell deployed and running the boot release; nothing else in either table. */
beforeEach(async () => {
  bus.reset();
  bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  for (const table of [TENANTS, CELLS]) {
    const { Items = [] } = await systemDocumentClient().send(new ScanCommand({ TableName: table }));
    for (const item of Items) await systemDocumentClient().send(new DeleteCommand({ TableName: table, Key: { PK: item.PK, SK: item.SK } }));
  }
  await registerManifest(BOOT);
  for (const [index, cellId] of CELL_IDS.entries()) {
    const placement = cellId.startsWith('cell-d') ? 'dedicated' : 'pooled';
    await Cell.register(
      {
        cellId,
        placement,
        wave: index,
        region: 'us-east-1',
        capacity: 10,
        status: 'active',
        tableName: `t-${cellId}`,
        apiId: `api-${cellId}`,
        stage: 'prod',
        tenantRoleArn: 'arn:aws:iam::000000000000:role/x',
        evidenceBucket: 'x-evidence',
        usagePlans: { basic: 'b', standard: 's', premium: 'p', enterprise: 'e' },
      },
      { db: systemDocumentClient(), tableName: CELLS },
    );
    await Cell.recordRelease(cellId, { releaseId: BOOT_ID, previousReleaseId: null, since: new Date(0).toISOString() });
  }
});

/** A world the orchestrator deploys into: cells that run releases, a clock, alarms and probes a test scripts. */
function world(
  options: {
    owner?: string;
    failingCells?: Set<string>;
    deployFailsIn?: Set<string>;
    rollbackFailsIn?: Set<string>;
    /** Cells whose deploys take a few polls to land, as CloudFormation's do. */
    slowCells?: Set<string>;
    requestsPerObservation?: number;
    quietCells?: Set<string>;
  } = {},
) {
  const inFlight = new Map<string, { releaseId: string; remaining: number }>();
  let clock = Date.parse('2026-12-03T10:00:00Z');
  const running = new Map<string, string>(CELL_IDS.map((cellId) => [cellId, BOOT_ID]));
  const deploys: { cellId: string; releaseId: string }[] = [];
  const failingRelease = { id: '' };
  const failing = options.failingCells ?? new Set<string>();
  const isFaulty = (cellId: string) => failing.has(cellId) && running.get(cellId) === failingRelease.id;
  const deps: ReleaseDeps = {
    owner: options.owner ?? 'driver-1',
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    leaseMs: 5_000,
    deployer: {
      async deploy(cellId, release) {
        // A deploy on its way lands first (or keeps the cell busy): the next one waits for it.
        const flying = inFlight.get(cellId);
        if (flying) {
          flying.remaining -= 1;
          if (flying.remaining > 0) return 'in-progress';
          inFlight.delete(cellId);
          running.set(cellId, flying.releaseId);
        }
        if (options.deployFailsIn?.has(cellId) && release.releaseId === failingRelease.id) throw new DeployFailed(cellId, 'UPDATE_ROLLBACK_COMPLETE');
        if (options.rollbackFailsIn?.has(cellId) && release.releaseId === BOOT_ID) throw new DeployFailed(cellId, 'UPDATE_FAILED: template gone');
        if (running.get(cellId) === release.releaseId) return 'deployed';
        deploys.push({ cellId, releaseId: release.releaseId });
        if (options.slowCells?.has(cellId)) {
          inFlight.set(cellId, { releaseId: release.releaseId, remaining: 3 });
          return 'in-progress';
        }
        running.set(cellId, release.releaseId);
        return 'deployed';
      },
    },
    telemetry: {
      async observe(cellId, window): Promise<CellObservation> {
        const requests = options.quietCells?.has(cellId) ? 0 : Math.floor((window.toMs - window.fromMs) / 1000) * (options.requestsPerObservation ?? 5);
        const alarms: AlarmState[] = [{ name: '5xx-rate', state: isFaulty(cellId) ? 'ALARM' : 'OK', ...(isFaulty(cellId) ? { reason: '40.0% ≥ 5%' } : {}) }];
        return { requests, serverErrors: isFaulty(cellId) ? requests : 0, p99LatencyMs: 12, functionErrors: 0, functionThrottles: 0, alarms };
      },
    },
    probe: {
      async run(cellId): Promise<ProbeResult> {
        return isFaulty(cellId)
          ? { ok: false, steps: [{ step: 'list', status: 502, ms: 3 }], error: 'list answered 502' }
          : { ok: true, steps: [{ step: 'create', status: 201, ms: 3 }] };
      },
    },
  };
  /** Lets every deploy still on its way land, as it would after the driver stopped asking. */
  const settle = () => {
    for (const [cellId, flying] of inFlight) running.set(cellId, flying.releaseId);
    inFlight.clear();
  };
  return { deps, running, deploys, failingRelease, settle, advance: (ms: number) => (clock += ms) };
}

async function publishedEvents(): Promise<{ name: string; cellId: string | null; key: string }[]> {
  return bus.commandCalls(PutEventsCommand).map((call) => {
    const entry = call.args[0].input.Entries![0]!;
    const detail = JSON.parse(entry.Detail!) as { cellId: string | null; idempotencyKey: string };
    return { name: entry.DetailType!, cellId: detail.cellId, key: detail.idempotencyKey };
  });
}

describe('a good release', () => {
  it('reaches every cell wave by wave — the canary alone first, dedicated cells last — each gate recorded with its figures', async () => {
    const w = world();
    const release = manifest('good-1');
    const started = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
    expect(started.waves.map((wave) => [wave.kind, wave.cells.map((cell) => cell.cellId)])).toEqual([
      ['canary', ['cell-1']],
      ['pooled', ['cell-2']],
      ['pooled', ['cell-3', 'cell-4']],
      ['dedicated', ['cell-d1']],
    ]);
    const done = await driveRelease(started.releaseId, w.deps);
    expect(done.status).toBe('finished');
    expect(w.deploys.map((deploy) => deploy.cellId)).toEqual(['cell-1', 'cell-2', 'cell-3', 'cell-4', 'cell-d1']);
    for (const wave of done.waves) {
      expect(wave.state).toBe('promoted');
      for (const cell of wave.cells) {
        expect(cell.previousReleaseId).toBe(BOOT_ID);
        expect(cell.gate!.requests).toBeGreaterThanOrEqual(GATE.minRequests);
        expect(cell.gate!.probes.failed).toBe(0);
        expect(Date.parse(wave.promotedAt!) - Date.parse(wave.deployedAt!)).toBeGreaterThanOrEqual(GATE.bakeSeconds * 1000);
      }
    }
    const cells = await Cell.list();
    expect(cells.map((cell) => [cell.cellId, cell.release?.releaseId, cell.release?.previousReleaseId])).toEqual(
      CELL_IDS.map((cellId) => [cellId, started.releaseId, BOOT_ID]),
    );
    const names = (await publishedEvents()).map((event) => `${event.name}:${event.cellId ?? '-'}`);
    expect(names[0]).toBe('ReleaseStarted:-');
    expect(names.at(-1)).toBe('ReleaseFinished:-');
    expect(names.indexOf('WavePromoted:cell-1')).toBeLessThan(names.indexOf('WaveDeployed:cell-2'));
    expect(await activeLease()).toBeUndefined();
    const trail = await Audit.listCell('cell-2', {});
    expect(trail.items.map((item) => item.action)).toEqual(['release.deployed', 'release.promoted']);
  });

  it('waits for the minimum of requests even after the bake time, and fails a wave that never gets them', async () => {
    const w = world({ quietCells: new Set(['cell-1']) });
    const started = await startRelease({ manifest: manifest('quiet'), gate: GATE }, { actor: 'ops' });
    const done = await driveRelease(started.releaseId, w.deps);
    expect(done.status).toBe('halted');
    expect(done.waves[0]!.verdict).toMatch(/cell-1 served fewer than 20 requests in 60 s/);
    expect(w.running.get('cell-1')).toBe(BOOT_ID);
    expect(w.deploys.filter((deploy) => deploy.cellId !== 'cell-1')).toEqual([]);
  });
});

describe('a release held for an approval', () => {
  it('waits before its dedicated wave, whoever drives it, until the hold is released', async () => {
    const w = world();
    const { releaseId } = await startRelease({ manifest: manifest('held'), gate: GATE, holdBefore: 'dedicated' }, { actor: 'ci' });
    const held = await driveRelease(releaseId, w.deps, { deadlineMs: w.deps.now!() + 600_000 });
    expect(held.status).toBe('rolling-out');
    expect(held.waves.map((wave) => wave.state)).toEqual(['promoted', 'promoted', 'promoted', 'pending']);
    expect(w.running.get('cell-d1')).toBe(BOOT_ID);
    await releaseHold(releaseId, { actor: 'approver' });
    expect((await driveRelease(releaseId, w.deps)).status).toBe('finished');
    expect(w.running.get('cell-d1')).toBe(releaseId);
  });
});

describe('a faulty release', () => {
  it("is stopped by the canary's own alarm and probe, rolled back there, and never reaches a later wave", async () => {
    const w = world({ failingCells: new Set(CELL_IDS) });
    const release = manifest('faulty-1');
    w.failingRelease.id = releaseIdOf(release);
    const started = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
    const done = await driveRelease(started.releaseId, w.deps);
    expect(done.status).toBe('halted');
    expect(done.waves[0]!.state).toBe('rolled-back');
    expect(done.waves[0]!.verdict).toContain('cell-1 alarm 5xx-rate (40.0% ≥ 5%)');
    expect(done.waves[0]!.verdict).toContain('cell-1 probe failed: list answered 502');
    expect(done.waves.slice(1).every((wave) => wave.state === 'pending')).toBe(true);
    expect(w.deploys).toEqual([
      { cellId: 'cell-1', releaseId: started.releaseId },
      { cellId: 'cell-1', releaseId: BOOT_ID },
    ]);
    expect((await Cell.get('cell-1'))?.release).toMatchObject({ releaseId: BOOT_ID, previousReleaseId: started.releaseId });
    const names = (await publishedEvents()).map((event) => `${event.name}:${event.cellId ?? '-'}`);
    expect(names).toEqual(['ReleaseStarted:-', 'WaveDeployed:cell-1', 'WaveRolledBack:cell-1', 'ReleaseFinished:-']);
    expect(await activeLease()).toBeUndefined();
  });

  it('a failed deploy in a later wave rolls that wave back; the waves already promoted keep the release', async () => {
    const w = world({ deployFailsIn: new Set(['cell-3']) });
    const release = manifest('bad-deploy');
    w.failingRelease.id = releaseIdOf(release);
    const started = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
    const done = await driveRelease(started.releaseId, w.deps);
    expect(done.status).toBe('halted');
    expect(done.waves.map((wave) => wave.state)).toEqual(['promoted', 'promoted', 'rolled-back', 'pending']);
    expect(done.reason).toMatch(/deploy to cell-3 failed: UPDATE_ROLLBACK_COMPLETE/);
    expect([...w.running.entries()]).toEqual([
      ['cell-1', started.releaseId],
      ['cell-2', started.releaseId],
      ['cell-3', BOOT_ID],
      ['cell-4', BOOT_ID],
      ['cell-d1', BOOT_ID],
    ]);
  });
});

describe('deploys that take time, fail, or cannot be undone', () => {
  it('an abort while the canary is still deploying takes the canary back once its deploy lands', async () => {
    const w = world({ slowCells: new Set(['cell-1']) });
    const { releaseId } = await startRelease({ manifest: manifest('abort-in-flight'), gate: GATE }, { actor: 'ops' });
    let step = await advanceRelease(releaseId, w.deps);
    while (step.rollout.waves[0]!.state !== 'deploying' || !w.deploys.length) step = await advanceRelease(releaseId, w.deps);
    await stopRelease(releaseId, 'abort', { reason: 'changed our mind' }, { actor: 'ops' });
    const done = await driveRelease(releaseId, w.deps);
    expect(done.status).toBe('aborted');
    w.settle();
    expect(w.running.get('cell-1')).toBe(BOOT_ID);
    expect((await Cell.get('cell-1'))?.release?.releaseId).toBe(BOOT_ID);
  });

  it('a deploy that fails in a wave takes back the sibling whose deploy was still on its way', async () => {
    const w = world({ slowCells: new Set(['cell-2']), deployFailsIn: new Set(['cell-3']) });
    const release = manifest('sibling');
    w.failingRelease.id = releaseIdOf(release);
    const { releaseId } = await startRelease({ manifest: release, gate: GATE, waves: [['cell-1'], ['cell-2', 'cell-3']] }, { actor: 'ops' });
    const done = await driveRelease(releaseId, w.deps);
    expect(done.status).toBe('halted');
    w.settle();
    expect(w.running.get('cell-2')).toBe(BOOT_ID);
    expect(w.running.get('cell-1')).toBe(releaseId);
  });

  it('a rollback that cannot be done ends the release as rollback-failed, says which cell needs an operator, and frees the lease', async () => {
    const w = world({ failingCells: new Set(['cell-1']), rollbackFailsIn: new Set(['cell-1']) });
    const release = manifest('stuck');
    w.failingRelease.id = releaseIdOf(release);
    const { releaseId } = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
    const done = await driveRelease(releaseId, w.deps);
    expect(done.status).toBe('rollback-failed');
    expect(done.reason).toMatch(/cell-1 could not be taken back to r-[0-9a-f]{16} \(UPDATE_FAILED: template gone\): it needs an operator/);
    expect(await activeLease()).toBeUndefined();
  });

  it('a halted release can be rolled back: its promoted waves go back too', async () => {
    const w = world({ deployFailsIn: new Set(['cell-3']) });
    const release = manifest('halted-rollback');
    w.failingRelease.id = releaseIdOf(release);
    const { releaseId } = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
    expect((await driveRelease(releaseId, w.deps)).status).toBe('halted');
    await stopRelease(releaseId, 'rollback', { reason: 'take it all back' }, { actor: 'ops' });
    expect((await driveRelease(releaseId, w.deps)).status).toBe('rolled-back');
    expect([...w.running.values()].every((running) => running === BOOT_ID)).toBe(true);
  });
});

describe('one release at a time', () => {
  it('two starts of the same release at once: one wins, and the loser leaves the winner its lease', async () => {
    const results = await Promise.allSettled([0, 1].map(() => startRelease({ manifest: manifest('twice'), gate: GATE }, { actor: 'ops' })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect((await activeLease())?.releaseId).toBe(releaseIdOf(manifest('twice')));
    await expect(startRelease({ manifest: manifest('other'), gate: GATE }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_IN_PROGRESS' });
  });

  it('refuses a second release while one is rolling (409), and the same release twice', async () => {
    const w = world();
    const first = await startRelease({ manifest: manifest('one'), gate: GATE }, { actor: 'ops' });
    await expect(startRelease({ manifest: manifest('two'), gate: GATE }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_IN_PROGRESS', status: 409 });
    expect(await getRollout(releaseIdOf(manifest('two')))).toBeUndefined();
    await driveRelease(first.releaseId, w.deps);
    await expect(startRelease({ manifest: manifest('one'), gate: GATE }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_ALREADY_STARTED', status: 409 });
    await expect(startRelease({ manifest: manifest('two'), gate: GATE }, { actor: 'ops' })).resolves.toMatchObject({ status: 'rolling-out' });
  });

  it('a second driver waits while the first holds the rollout, and takes over once its lease runs out', async () => {
    const first = world({ owner: 'driver-1' });
    const started = await startRelease({ manifest: manifest('lease'), gate: GATE }, { actor: 'ops' });
    const one = await advanceRelease(started.releaseId, first.deps);
    const second = world({ owner: 'driver-2' });
    const blocked = await advanceRelease(started.releaseId, second.deps);
    expect(blocked.rollout.version).toBe(one.rollout.version);
    expect(blocked.waitMs).toBeGreaterThan(0);
    second.advance(10_000);
    const resumed = await advanceRelease(started.releaseId, second.deps);
    expect(resumed.rollout.version).toBe(one.rollout.version + 1);
    expect(resumed.rollout.driver?.owner).toBe('driver-2');
  });
});

describe('a driver that crashes', () => {
  /** Counts the calls a driver makes to the world and throws at the chosen one, as if the process died there. */
  function crashingAt(deps: ReleaseDeps, at: number): ReleaseDeps & { calls: () => number } {
    let calls = 0;
    const tick = () => {
      calls += 1;
      if (calls === at) throw new Error('driver crashed');
    };
    return {
      ...deps,
      calls: () => calls,
      deployer: {
        deploy: async (cellId, release) => {
          tick();
          return deps.deployer.deploy(cellId, release);
        },
      },
      telemetry: {
        observe: async (cellId, window) => {
          tick();
          return deps.telemetry.observe(cellId, window);
        },
      },
      probe: {
        run: async (cellId) => {
          tick();
          return deps.probe.run(cellId);
        },
      },
    };
  }

  it('is resumed by another driver at any step, to the same end as a run without a crash', async () => {
    // A clean run of a faulty release counts the world calls to crash at.
    const clean = world({ failingCells: new Set(['cell-2']) });
    const faulty = manifest('crash-reference');
    clean.failingRelease.id = releaseIdOf(faulty);
    const counted = crashingAt(clean.deps, Number.POSITIVE_INFINITY);
    const reference = await driveRelease((await startRelease({ manifest: faulty, gate: GATE }, { actor: 'ops' })).releaseId, counted);
    expect(reference.status).toBe('halted');
    const total = counted.calls();
    const referenceKeys = new Set(
      (await publishedEvents()).filter((event) => event.key.includes(reference.releaseId)).map((event) => event.key.replace(reference.releaseId, '<id>')),
    );
    expect([...referenceKeys].map((key) => key.split('#')[0])).toEqual([
      'ReleaseStarted',
      'WaveDeployed',
      'WavePromoted',
      'WaveDeployed',
      'WaveRolledBack',
      'ReleaseFinished',
    ]);
    expect(total).toBeGreaterThan(10);

    for (let at = 1; at <= total; at += 3) {
      const release = manifest(`crash-${at}`);
      const first = world({ failingCells: new Set(['cell-2']), owner: 'driver-1' });
      first.failingRelease.id = releaseIdOf(release);
      const { releaseId } = await startRelease({ manifest: release, gate: GATE }, { actor: 'ops' });
      await expect(driveRelease(releaseId, crashingAt(first.deps, at))).rejects.toThrow('driver crashed');
      // Another driver, after the first one's lease ran out, in the same world.
      const second = { ...first.deps, owner: 'driver-2', now: () => first.deps.now!() + 10_000 };
      const done = await driveRelease(releaseId, second);
      expect({ at, status: done.status, states: done.waves.map((wave) => wave.state) }).toEqual({
        at,
        status: 'halted',
        states: reference.waves.map((wave) => wave.state),
      });
      expect(first.running.get('cell-1')).toBe(releaseId);
      expect(first.running.get('cell-2')).toBe(BOOT_ID);
      expect(first.deploys.some((deploy) => deploy.cellId === 'cell-3' && deploy.releaseId === releaseId)).toBe(false);
      // Whatever was published twice was published under the same idempotency key.
      const keys = (await publishedEvents()).filter((event) => event.key.includes(releaseId)).map((event) => event.key.replace(releaseId, '<id>'));
      expect(new Set(keys)).toEqual(referenceKeys);
      expect(await activeLease()).toBeUndefined();
    }
  });
});

describe('operators stop releases', () => {
  it('an abort during the second wave rolls back every wave that has the release, last first', async () => {
    const w = world();
    const { releaseId } = await startRelease({ manifest: manifest('abort'), gate: GATE }, { actor: 'ops' });
    await driveRelease(releaseId, w.deps, { deadlineMs: w.deps.now!() + 15_000 });
    const midway = await getRollout(releaseId);
    expect(midway!.waves.map((wave) => wave.state).slice(0, 2)).toEqual(['promoted', 'baking']);
    await stopRelease(releaseId, 'abort', { reason: 'customer escalation' }, { actor: 'ops' });
    const done = await driveRelease(releaseId, w.deps);
    expect(done.status).toBe('aborted');
    expect(done.reason).toBe('aborted by ops: customer escalation');
    expect(w.deploys.slice(-2)).toEqual([
      { cellId: 'cell-2', releaseId: BOOT_ID },
      { cellId: 'cell-1', releaseId: BOOT_ID },
    ]);
    expect([...w.running.values()].every((running) => running === BOOT_ID)).toBe(true);
  });

  it('a finished release is rolled back wave by wave in reverse; aborting it is refused', async () => {
    const w = world();
    const { releaseId } = await startRelease({ manifest: manifest('rollback'), gate: GATE }, { actor: 'ops' });
    await driveRelease(releaseId, w.deps);
    await expect(stopRelease(releaseId, 'abort', { reason: 'late' }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_NOT_ACTIVE', status: 409 });
    await stopRelease(releaseId, 'rollback', { reason: 'regression found' }, { actor: 'ops' });
    const done = await driveRelease(releaseId, w.deps);
    expect(done.status).toBe('rolled-back');
    expect(w.deploys.slice(-5).map((deploy) => deploy.cellId)).toEqual(['cell-d1', 'cell-3', 'cell-4', 'cell-2', 'cell-1']);
    expect([...w.running.values()].every((running) => running === BOOT_ID)).toBe(true);
    await expect(stopRelease(releaseId, 'rollback', { reason: 'again' }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_NOT_ACTIVE' });
  });
});

describe('bad input changes nothing', () => {
  it.each([
    ['an unknown cell', { waves: [['cell-1'], ['cell-9']] }, 'cell-9 is not a deployed cell'],
    ['a cell twice', { waves: [['cell-1'], ['cell-2', 'cell-1']] }, 'cell-1 appears twice in the plan'],
    ['a dedicated canary', { waves: [['cell-d1'], ['cell-1']] }, 'the first wave (the canary) is exactly one pooled cell'],
    ['two canaries', { waves: [['cell-1', 'cell-2']] }, 'the first wave (the canary) is exactly one pooled cell'],
    ['pooled after dedicated', { waves: [['cell-1'], ['cell-d1'], ['cell-2']] }, 'pooled cells come before dedicated ones'],
  ])('a plan with %s → 422 INVALID_RELEASE_PLAN, no rollout, no lease', async (_name, plan, message) => {
    const release = manifest(`plan-${_name.replace(/\W/g, '')}`);
    const error = await startRelease({ manifest: release, ...plan }, { actor: 'ops' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INVALID_RELEASE_PLAN', status: 422 });
    expect(JSON.stringify((error as { details: unknown }).details)).toContain(message);
    expect(await getRollout(releaseIdOf(release))).toBeUndefined();
    expect(await activeLease()).toBeUndefined();
  });

  it.each([
    ['no artefacts', { manifest: { commit: 'x', artefacts: {}, config: {} } }],
    ['a bad digest', { manifest: { commit: 'x', artefacts: { 'a.mjs': 'nope' }, config: {} } }],
    ['a path escaping the release', { manifest: { commit: 'x', artefacts: { '../a.mjs': 'a'.repeat(64) }, config: {} } }],
    ['an unknown field', { manifest: manifest('x'), extra: true }],
    [
      'more artefacts than one registry item holds',
      { manifest: { commit: 'x', artefacts: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`chunk-${i}.mjs`, 'a'.repeat(64)])), config: {} } },
    ],
    ['too many settings', { manifest: { ...manifest('x'), config: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`s${i}`, 'v'])) } }],
    ['a negative bake', { manifest: manifest('x'), gate: { bakeSeconds: -1 } }],
  ])('a request with %s → 422 VALIDATION_FAILED, nothing written', async (_name, input) => {
    await expect(startRelease(input, { actor: 'ops' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 422 });
    expect(await activeLease()).toBeUndefined();
  });

  it('an unknown release cannot be aborted (404); a release for a cell that runs no recorded release is refused', async () => {
    await expect(stopRelease('r-0000000000000000', 'abort', { reason: 'x' }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_NOT_FOUND', status: 404 });
    await expect(stopRelease('not-a-release', 'abort', { reason: 'x' }, { actor: 'ops' })).rejects.toMatchObject({ code: 'RELEASE_NOT_FOUND' });
    await systemDocumentClient().send(new DeleteCommand({ TableName: CELLS, Key: { PK: 'CELL#cell-2', SK: 'CELL' } }));
    await Cell.register(
      {
        cellId: 'cell-2',
        placement: 'pooled',
        wave: 1,
        region: 'us-east-1',
        capacity: 10,
        status: 'active',
        tableName: 't',
        apiId: 'a',
        stage: 'prod',
        tenantRoleArn: 'arn:aws:iam::000000000000:role/x',
        evidenceBucket: 'x-evidence',
        usagePlans: { basic: 'b', standard: 's', premium: 'p', enterprise: 'e' },
      },
      { db: systemDocumentClient(), tableName: CELLS },
    );
    await expect(startRelease({ manifest: manifest('unrecorded') }, { actor: 'ops' })).rejects.toMatchObject({ code: 'INVALID_RELEASE_PLAN' });
    expect(await activeLease()).toBeUndefined();
  });
});
