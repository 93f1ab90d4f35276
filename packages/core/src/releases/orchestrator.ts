/**
 * The release orchestrator (DESIGN §9): one state machine, the same code in AWS and locally; only
 * its adapters (ports.ts) differ. A rollout moves one step at a time, and every step is recorded
 * before the next is taken, so a driver that crashes anywhere is resumed by the next one (the
 * scheduled driver in AWS, the platform's driver locally, or `driveRelease` again) where it was:
 *
 *   start → for each wave, in order:
 *     pending → deploying (each cell brought to the release; idempotent)
 *             → baking (probe every cell, read that cell's own alarms and figures)
 *             → promoted (bake time AND minimum requests AND alarms green AND probes passing)
 *             | rolling-back → rolled-back (any alarm, a failed probe, a failed deploy, or no
 *               traffic in time: the wave returns to its previous release, the release halts)
 *   finished | halted; an operator's abort (while rolling) or rollback (once finished) takes every
 *   wave that has the release back, last wave first: aborted | rolled-back.
 *
 * Events and cell audit records of a step go in the rollout's outbox with the step itself and are
 * sent by the next step (at least once, each under a stable idempotency key or audit id).
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import * as Cell from '../cells/cell.js';
import * as Audit from '../events/audit.js';
import * as Events from '../events/events.js';
import { isCellId } from '../keys/keys.js';
import {
  ConcurrentModification,
  InvalidReleasePlan,
  ValidationFailed,
  ReleaseAlreadyRunning,
  ReleaseAlreadyStarted,
  ReleaseInProgress,
  ReleaseNotActive,
  ReleaseNotFound,
} from '../shared/errors.js';
import { deterministicId } from '../shared/ids.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { PageLimit, Reason, parse } from '../shared/validation.js';
import { ReleaseManifest, isReleaseId, releaseIdOf } from './manifest.js';
import { planWaves, type ReleaseWave, type WaveKind } from './plan.js';
import { DeployFailed, type CellDeployer, type CellProbe, type CellTelemetry, type ReleaseRef } from './ports.js';
import {
  FINAL_STATUSES,
  PRODUCTION_GATE,
  activeLease,
  createRollout,
  getRollout,
  listRollouts,
  registerManifest,
  releaseLease,
  requireManifest,
  requireRollout,
  saveRollout,
  takeLease,
  type GateFigures,
  type GateSettings,
  type OutboxEntry,
  type Rollout,
  type WaveRollout,
} from './release.js';

export type { GateSettings, Rollout } from './release.js';

export interface ReleaseDeps {
  deployer: CellDeployer;
  telemetry: CellTelemetry;
  probe: CellProbe;
  /** Who drives (a function instance, a CI job): the rollout's driver lease names it. */
  owner: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long a driver's lease lasts after its last step; another driver resumes once it runs out. */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;
/** How often a driver looks again at a release held for an approval. */
const HOLD_POLL_MS = 15_000;
/** How often a driver asks again about a deployment still in progress. */
const DEPLOY_POLL_MS = 1_000;

const GateInput = z.strictObject({
  bakeSeconds: z.optional(z.number().check(z.minimum(0), z.maximum(7 * 24 * 3600))),
  minRequests: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(1_000_000))),
  probeIntervalSeconds: z.optional(z.number().check(z.minimum(0.05), z.maximum(3600))),
  maxGateSeconds: z.optional(z.number().check(z.minimum(1), z.maximum(7 * 24 * 3600))),
});

const CellIdInput = z.string().check(z.refine(isCellId, 'must be a cell id'));

export const StartReleaseInput = z.strictObject({
  manifest: ReleaseManifest,
  /** An explicit plan (cell ids per wave); the catalog's plan when absent. */
  waves: z.optional(z.array(z.array(CellIdInput).check(z.minLength(1, 'a wave needs at least one cell'))).check(z.minLength(1), z.maxLength(50))),
  gate: z.optional(GateInput),
  /** Hold the release before its first dedicated wave until `releaseHold` (CI: an approval) lets it go on. */
  holdBefore: z.optional(z.literal('dedicated')),
});

export const StopInput = z.strictObject({ reason: Reason });

/**
 * Starts rolling a release out: records its manifest (under the id its content gives), plans its
 * waves from the cell catalog (or checks the operator's plan against it), takes the one-release
 * lease and writes the rollout. Nothing is deployed here: the driver takes it from there.
 */
export async function startRelease(input: unknown, options: { actor: string; defaults?: Partial<GateSettings>; now?: () => number }): Promise<Rollout> {
  const request = parse(StartReleaseInput, input);
  const now = options.now ?? Date.now;
  const cells = await Cell.list();
  if (!cells.some((cell) => cell.placement === 'pooled' && cell.status !== 'provisioning')) {
    throw new InvalidReleasePlan('A release starts in a pooled cell (its canary), and no pooled cell is deployed.');
  }
  const waves = request.waves ? checkPlan(request.waves, cells) : planWaves(cells);
  const gate: GateSettings = { ...PRODUCTION_GATE, ...options.defaults, ...stripUndefined(request.gate ?? {}) };
  if (gate.maxGateSeconds < gate.bakeSeconds || gate.probeIntervalSeconds < 0.05) {
    throw new ValidationFailed('The request is not valid.', {
      details: [{ path: 'gate', message: 'maxGateSeconds must be at least bakeSeconds, and probeIntervalSeconds at least 0.05' }],
    });
  }
  const unrecorded = waves.flatMap((wave) => wave.cellIds).filter((cellId) => !cells.find((cell) => cell.cellId === cellId)?.release);
  if (unrecorded.length > 0) {
    throw new InvalidReleasePlan(`No release is recorded for ${unrecorded.join(', ')}: there would be nothing to roll back to.`, {
      details: unrecorded.map((cellId) => ({ path: 'waves', message: `${cellId} runs no recorded release` })),
    });
  }
  const releaseId = releaseIdOf(request.manifest);
  if (await getRollout(releaseId)) throw new ReleaseAlreadyStarted();
  const planned = waves.flatMap((wave) => wave.cellIds);
  if (planned.every((cellId) => cells.find((cell) => cell.cellId === cellId)?.release?.releaseId === releaseId)) {
    throw new ReleaseAlreadyRunning(`Every cell of the plan already runs ${releaseId}: change something (code, a setting, a label) to make a new release.`);
  }
  const startedAt = new Date(now()).toISOString();
  const token = randomUUID();
  if (!(await takeLease(releaseId, startedAt, token))) {
    const active = await activeLease();
    throw new ReleaseInProgress(`Release ${active?.releaseId ?? 'another release'} is rolling; one release at a time. Wait for it, or abort it.`);
  }
  try {
    await registerManifest(request.manifest);
    const rollout: Rollout = {
      releaseId,
      commit: request.manifest.commit,
      status: 'rolling-out',
      gate,
      waves: waves.map((wave) => ({ index: wave.index, kind: wave.kind, state: 'pending', cells: wave.cellIds.map((cellId) => ({ cellId, previousReleaseId: null })) })),
      actor: options.actor,
      ...(request.holdBefore ? { hold: request.holdBefore } : {}),
      startedAt,
      updatedAt: startedAt,
      outbox: [event('ReleaseStarted', releaseId, null, null, { releaseId, commit: request.manifest.commit, waves: waves.map((wave) => wave.cellIds) })],
      version: 0,
    };
    if (!(await createRollout(rollout))) throw new ReleaseAlreadyStarted();
    return rollout;
  } catch (error) {
    // Only the lease this call took: a concurrent start of the same release may hold its own.
    await releaseLease(releaseId, { token });
    throw error;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * An operator's plan, checked against the catalog by the rules `planWaves` follows: every cell known
 * and deployed, none twice, the first wave a single pooled cell, no pooled cell after a dedicated one.
 */
function checkPlan(plan: readonly (readonly string[])[], cells: readonly Cell.CellRecord[]): ReleaseWave[] {
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  let dedicatedSeen = false;
  const kinds: WaveKind[] = plan.map((wave, index) => {
    const records = wave.map((cellId, position) => {
      const cell = cells.find((candidate) => candidate.cellId === cellId);
      if (!cell) problems.push({ path: `waves.${index}.${position}`, message: `${cellId} is not a deployed cell` });
      else if (cell.status === 'provisioning') problems.push({ path: `waves.${index}.${position}`, message: `${cellId} is not deployed yet` });
      if (seen.has(cellId)) problems.push({ path: `waves.${index}.${position}`, message: `${cellId} appears twice in the plan` });
      seen.add(cellId);
      return cell;
    });
    const dedicated = records.some((cell) => cell?.placement === 'dedicated');
    const pooled = records.some((cell) => cell?.placement === 'pooled');
    if (dedicated && pooled) problems.push({ path: `waves.${index}`, message: 'a wave holds pooled or dedicated cells, not both' });
    if (pooled && dedicatedSeen) problems.push({ path: `waves.${index}`, message: 'pooled cells come before dedicated ones' });
    dedicatedSeen ||= dedicated;
    return index === 0 ? 'canary' : dedicated ? 'dedicated' : 'pooled';
  });
  const canary = plan[0] ?? [];
  const canaryCell = cells.find((cell) => cell.cellId === canary[0]);
  if (canary.length !== 1 || canaryCell?.placement !== 'pooled') problems.push({ path: 'waves.0', message: 'the first wave (the canary) is exactly one pooled cell' });
  if (problems.length > 0) throw new InvalidReleasePlan('The release plan is not valid.', { details: problems });
  return plan.map((cellIds, index) => ({ index, kind: kinds[index] ?? 'pooled', cellIds: [...cellIds] }));
}

/**
 * An operator stops a release: `abort` while it is rolling out (every wave that has it goes back),
 * `rollback` once it has finished (every wave, last first). The driver carries it out.
 */
export async function stopRelease(releaseId: string, mode: 'abort' | 'rollback', input: unknown, options: { actor: string; now?: () => number }): Promise<Rollout> {
  const { reason } = parse(StopInput, input);
  const now = options.now ?? Date.now;
  if (!isReleaseId(releaseId)) throw new ReleaseNotFound();
  for (;;) {
    const rollout = await requireRollout(releaseId);
    if (mode === 'abort' && rollout.status !== 'rolling-out') {
      throw new ReleaseNotActive(
        `This release is ${rollout.status}; only a release that is rolling out can be aborted${rollout.status === 'finished' ? ' (roll a finished one back instead)' : ''}.`,
      );
    }
    if (mode === 'abort' && rollout.stopRequested) return rollout;
    let token: string | undefined;
    if (mode === 'rollback') {
      if (rollout.status !== 'finished' && rollout.status !== 'halted') {
        throw new ReleaseNotActive(
          `This release is ${rollout.status}; only a finished or halted release can be rolled back${rollout.status === 'rolling-out' ? ' (abort it instead)' : ''}.`,
        );
      }
      // Rolling back takes the lease like a release: it deploys too.
      token = randomUUID();
      if (!(await takeLease(releaseId, new Date(now()).toISOString(), token))) throw new ReleaseInProgress('A release is rolling; roll this one back once it is done.');
      const stale = await staleCells(rollout);
      if (stale.length > 0) {
        await releaseLease(releaseId, { token });
        throw new ReleaseNotActive(`${stale.join(', ')} no longer run${stale.length === 1 ? 's' : ''} this release; roll back the release they run instead.`);
      }
    }
    const at = new Date(now()).toISOString();
    try {
      return await saveRollout(
        {
          ...rollout,
          ...(mode === 'rollback' ? { status: 'rolling-back' as const, reason: `rolled back by ${options.actor}: ${reason}` } : {}),
          stopRequested: { mode, actor: options.actor, reason, at },
          updatedAt: at,
        },
        rollout.version,
      );
    } catch (error) {
      if (token) await releaseLease(releaseId, { token });
      if (!(error instanceof ConcurrentModification)) throw error;
    }
  }
}

/** Cells of a rollout's promoted waves that now run another release (a later one reached them). */
async function staleCells(rollout: Rollout): Promise<string[]> {
  const cells = await Cell.list();
  return rollout.waves
    .filter((wave) => wave.state === 'promoted')
    .flatMap((wave) => wave.cells)
    .filter((cell) => cells.find((record) => record.cellId === cell.cellId)?.release?.releaseId !== rollout.releaseId)
    .map((cell) => cell.cellId);
}

/** Lets a held release go on (its approval was given); a release not held is left as it is. */
export async function releaseHold(releaseId: string, options: { actor: string; now?: () => number }): Promise<Rollout> {
  for (;;) {
    const rollout = await requireRollout(releaseId);
    if (rollout.status !== 'rolling-out') throw new ReleaseNotActive(`This release is ${rollout.status}; there is no hold to release.`);
    if (!rollout.hold) return rollout;
    const { hold: _hold, ...rest } = rollout;
    try {
      return await saveRollout({ ...rest, reason: `hold released by ${options.actor}`, updatedAt: new Date((options.now ?? Date.now)()).toISOString() }, rollout.version);
    } catch (error) {
      if (!(error instanceof ConcurrentModification)) throw error;
    }
  }
}

export interface StepResult {
  rollout: Rollout;
  /** How long to wait before the next step; null once the rollout is over (and its outbox sent). */
  waitMs: number | null;
}

/**
 * Takes the rollout one step further and records it. Safe to call from several drivers at once
 * (one holds the lease; every write is conditional on the version read) and after a crash at any
 * point (each step is idempotent: deploys, probes and reads may repeat, a transition is recorded once).
 */
export async function advanceRelease(releaseId: string, deps: ReleaseDeps): Promise<StepResult> {
  const now = deps.now ?? Date.now;
  const rollout = await requireRollout(releaseId);
  const at = now();
  if (rollout.driver && rollout.driver.owner !== deps.owner && rollout.driver.until > at) {
    return { rollout, waitMs: Math.min(rollout.driver.until - at, DEFAULT_LEASE_MS) };
  }
  const lease = { owner: deps.owner, until: at + (deps.leaseMs ?? DEFAULT_LEASE_MS) };
  if (rollout.outbox.length > 0) {
    await flushOutbox(rollout);
    return commit(rollout, { ...rollout, outbox: [], driver: lease }, 0);
  }
  if (FINAL_STATUSES.has(rollout.status)) {
    await releaseLease(releaseId);
    return { rollout, waitMs: null };
  }
  const next = structuredClone(rollout);
  next.driver = lease;
  next.updatedAt = new Date(at).toISOString();
  const waitMs = await step(next, deps, at);
  return commit(rollout, next, waitMs);
}

async function commit(read: Rollout, next: Rollout, waitMs: number): Promise<StepResult> {
  try {
    return { rollout: await saveRollout(next, read.version), waitMs };
  } catch (error) {
    // Another driver moved it meanwhile: read again at once.
    if (error instanceof ConcurrentModification) return { rollout: read, waitMs: 0 };
    throw error;
  }
}

/** Decides and performs the next step on `r` (mutated: the state to record); returns how long to wait after it. */
async function step(r: Rollout, deps: ReleaseDeps, at: number): Promise<number> {
  const iso = new Date(at).toISOString();
  if (r.status === 'rolling-out' && r.stopRequested?.mode === 'abort') {
    r.status = 'rolling-back';
    r.reason = `aborted by ${r.stopRequested.actor}: ${r.stopRequested.reason}`;
    for (const wave of r.waves) if (wave.state === 'deploying' || wave.state === 'baking') wave.verdict = 'aborted by an operator';
    return 0;
  }
  if (r.status === 'rolling-back') {
    // Abort or rollback: the last wave that has the release goes back first.
    const wave = [...r.waves].reverse().find((candidate) => ['deploying', 'baking', 'promoted', 'rolling-back'].includes(candidate.state));
    if (!wave) return finish(r, r.stopRequested?.mode === 'rollback' ? 'rolled-back' : 'aborted', iso);
    wave.state = 'rolling-back';
    return rollBackWave(r, wave, deps, iso, false);
  }
  const wave = r.waves.find((candidate) => candidate.state !== 'promoted');
  if (!wave) return finish(r, 'finished', iso);
  switch (wave.state) {
    case 'pending': {
      // Held for an approval: every driver (the scheduled one too) waits here until it is given.
      if (r.hold === wave.kind) return HOLD_POLL_MS;
      const cells = await Cell.list();
      for (const cell of wave.cells) cell.previousReleaseId = cells.find((record) => record.cellId === cell.cellId)?.release?.releaseId ?? null;
      wave.state = 'deploying';
      return 0;
    }
    case 'deploying':
      return deployWave(r, wave, deps, iso);
    case 'baking':
      return judgeWave(r, wave, deps, at, iso);
    case 'rolling-back':
      return rollBackWave(r, wave, deps, iso, true);
    default:
      // A rolled-back wave halts the release in the same step; nothing is left to do here.
      return finish(r, 'halted', iso);
  }
}

async function releaseRef(releaseId: string): Promise<ReleaseRef> {
  return { releaseId, manifest: await requireManifest(releaseId) };
}

async function deployWave(r: Rollout, wave: WaveRollout, deps: ReleaseDeps, iso: string): Promise<number> {
  const release = await releaseRef(r.releaseId);
  let pending = false;
  for (const cell of wave.cells) {
    if (cell.deployedAt) continue;
    try {
      if ((await deps.deployer.deploy(cell.cellId, release)) === 'in-progress') {
        pending = true;
        continue;
      }
    } catch (error) {
      if (!(error instanceof DeployFailed)) throw error;
      wave.state = 'rolling-back';
      wave.verdict = `deploy to ${cell.cellId} failed: ${error.message}`;
      return 0;
    }
    // Its gate window starts once it serves the release, not when the wave began.
    const deployedAt = new Date((deps.now ?? Date.now)()).toISOString();
    await Cell.recordRelease(cell.cellId, { releaseId: r.releaseId, previousReleaseId: cell.previousReleaseId, since: deployedAt });
    cell.deployedAt = deployedAt;
    r.outbox.push(audit(r, cell.cellId, 'release.deployed', iso, `wave ${wave.index}`), event('WaveDeployed', r.releaseId, cell.cellId, wave.index, waveData(r, wave)));
  }
  if (pending) return DEPLOY_POLL_MS;
  wave.state = 'baking';
  wave.deployedAt = iso;
  return 0;
}

async function judgeWave(r: Rollout, wave: WaveRollout, deps: ReleaseDeps, at: number, iso: string): Promise<number> {
  const deployedAt = Date.parse(wave.deployedAt ?? iso);
  const failures: string[] = [];
  for (const cell of wave.cells) {
    const probe = await deps.probe.run(cell.cellId);
    // Up to now, after the probe: its own requests count among the cell's.
    const observation = await deps.telemetry.observe(cell.cellId, { fromMs: Date.parse(cell.deployedAt ?? iso), toMs: (deps.now ?? Date.now)() });
    const probes = cell.gate?.probes ?? { passed: 0, failed: 0 };
    const figures: GateFigures = {
      observedAt: iso,
      requests: observation.requests,
      serverErrors: observation.serverErrors,
      serverErrorRate: observation.requests === 0 ? 0 : observation.serverErrors / observation.requests,
      p99LatencyMs: observation.p99LatencyMs,
      functionErrors: observation.functionErrors,
      functionThrottles: observation.functionThrottles,
      alarms: observation.alarms,
      probes: { passed: probes.passed + (probe.ok ? 1 : 0), failed: probes.failed + (probe.ok ? 0 : 1), last: probe },
    };
    cell.gate = figures;
    for (const alarm of observation.alarms.filter((candidate) => candidate.state === 'ALARM')) {
      failures.push(`${cell.cellId} alarm ${alarm.name}${alarm.reason ? ` (${alarm.reason})` : ''}`);
    }
    if (!probe.ok) failures.push(`${cell.cellId} probe failed${probe.error ? `: ${probe.error}` : ''}`);
  }
  const elapsedMs = at - deployedAt;
  if (failures.length === 0 && elapsedMs > r.gate.maxGateSeconds * 1000) {
    const short = wave.cells.filter((cell) => (cell.gate?.requests ?? 0) < r.gate.minRequests).map((cell) => cell.cellId);
    if (short.length > 0) failures.push(`${short.join(', ')} served fewer than ${r.gate.minRequests} requests in ${r.gate.maxGateSeconds} s`);
  }
  if (failures.length > 0) {
    wave.state = 'rolling-back';
    wave.verdict = failures.join('; ');
    return 0;
  }
  const baked = elapsedMs >= r.gate.bakeSeconds * 1000;
  const enoughTraffic = wave.cells.every((cell) => (cell.gate?.requests ?? 0) >= r.gate.minRequests);
  if (!baked || !enoughTraffic) return r.gate.probeIntervalSeconds * 1000;
  wave.state = 'promoted';
  wave.promotedAt = iso;
  for (const cell of wave.cells) {
    r.outbox.push(
      audit(r, cell.cellId, 'release.promoted', iso, `wave ${wave.index}: ${cell.gate?.requests ?? 0} requests, alarms OK, probes passing`),
      event('WavePromoted', r.releaseId, cell.cellId, wave.index, { ...waveData(r, wave), requests: cell.gate?.requests ?? 0 }),
    );
  }
  return r.waves.every((candidate) => candidate.state === 'promoted') ? finish(r, 'finished', iso) : 0;
}

/** Brings every cell of `wave` that has the release back to the release it ran before. */
async function rollBackWave(r: Rollout, wave: WaveRollout, deps: ReleaseDeps, iso: string, halts: boolean): Promise<number> {
  let pending = false;
  for (const cell of wave.cells) {
    if (cell.rolledBackAt || !cell.previousReleaseId) {
      // Nothing recorded to go back to (a plan refuses such cells): nothing to undo.
      cell.rolledBackAt ??= iso;
      continue;
    }
    // Every cell of the wave, reached or not: a deploy still on its way (or one whose record was
    // lost to a concurrent abort) may yet land, and going back to the release a cell runs is a no-op.
    const previous = await releaseRef(cell.previousReleaseId);
    let progress: Awaited<ReturnType<CellDeployer['deploy']>>;
    try {
      progress = await deps.deployer.deploy(cell.cellId, previous);
    } catch (error) {
      if (!(error instanceof DeployFailed)) throw error;
      wave.verdict = `${wave.verdict ? `${wave.verdict}; ` : ''}rolling ${cell.cellId} back to ${previous.releaseId} failed: ${error.message}`;
      r.reason = `${cell.cellId} could not be taken back to ${previous.releaseId} (${error.message}): it needs an operator`;
      return finish(r, 'rollback-failed', iso);
    }
    if (progress === 'in-progress') {
      pending = true;
      continue;
    }
    await Cell.recordRelease(cell.cellId, { releaseId: previous.releaseId, previousReleaseId: r.releaseId, since: iso });
    cell.rolledBackAt = iso;
    const reason = wave.verdict ?? r.reason ?? 'rolled back';
    r.outbox.push(
      audit(r, cell.cellId, 'release.rolled-back', iso, `wave ${wave.index}: ${reason}`),
      event('WaveRolledBack', r.releaseId, cell.cellId, wave.index, { ...waveData(r, wave), reason, previousReleaseId: previous.releaseId }),
    );
  }
  if (pending) return DEPLOY_POLL_MS;
  wave.state = 'rolled-back';
  wave.rolledBackAt = iso;
  if (halts) {
    r.reason = `wave ${wave.index} (${wave.kind}) failed its gate: ${wave.verdict ?? 'unknown'}`;
    return finish(r, 'halted', iso);
  }
  return 0;
}

function finish(r: Rollout, status: 'finished' | 'halted' | 'aborted' | 'rolled-back' | 'rollback-failed', iso: string): number {
  r.status = status;
  r.finishedAt = iso;
  r.outbox.push(event('ReleaseFinished', r.releaseId, null, null, { releaseId: r.releaseId, commit: r.commit, outcome: status, ...(r.reason ? { reason: r.reason } : {}) }));
  return 0;
}

function waveData(r: Rollout, wave: WaveRollout) {
  return { releaseId: r.releaseId, commit: r.commit, wave: wave.index, kind: wave.kind, cellIds: wave.cells.map((cell) => cell.cellId) };
}

function event(
  name: Extract<OutboxEntry, { kind: 'event' }>['name'],
  releaseId: string,
  cellId: string | null,
  wave: number | null,
  detail: Record<string, unknown>,
): OutboxEntry {
  // Stable per fact: a step retried after a crash publishes the same key again.
  const phase = name === 'ReleaseFinished' ? `${detail.outcome}` : '';
  return { kind: 'event', name, cellId, wave, idempotencyKey: [name, releaseId, wave ?? '-', cellId ?? '-', phase].join('#'), detail };
}

function audit(r: Rollout, cellId: string, action: string, at: string, reason: string): OutboxEntry {
  return {
    kind: 'audit',
    cellId,
    auditId: deterministicId(Date.parse(at), `${r.releaseId}#${cellId}#${action}#${at}`),
    at,
    action,
    reason,
    after: { releaseId: r.releaseId },
  };
}

/** Sends what earlier steps recorded: events (under their idempotency keys) and cell audit records (under their ids). */
async function flushOutbox(rollout: Rollout): Promise<void> {
  for (const entry of rollout.outbox) {
    if (entry.kind === 'audit') {
      await Audit.writeCellRecord({
        cellId: entry.cellId,
        actor: `release:${rollout.releaseId}`,
        action: entry.action,
        ...(entry.reason ? { reason: entry.reason } : {}),
        tenants: [],
        after: entry.after,
        auditId: entry.auditId,
        at: entry.at,
      });
    } else {
      await Events.publishSystemEvent(entry.name, {
        cellId: entry.cellId,
        actor: rollout.actor,
        // The outbox keeps each event's data as the catalog declares it; the publisher checks it again.
        data: entry.detail as never,
        idempotencyKey: entry.idempotencyKey,
      });
    }
  }
}

/**
 * Drives a release until it is over (or until `stopBefore` names the kind of the next wave to
 * deploy, or the deadline passes), waiting between steps as they ask. Returns the rollout as last
 * recorded.
 */
export async function driveRelease(releaseId: string, deps: ReleaseDeps, options: { stopBefore?: 'dedicated'; deadlineMs?: number } = {}): Promise<Rollout> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (;;) {
    const current = await requireRollout(releaseId);
    if (options.stopBefore && current.status === 'rolling-out' && current.outbox.length === 0) {
      const next = current.waves.find((wave) => wave.state !== 'promoted');
      if (next?.state === 'pending' && next.kind === options.stopBefore) return current;
    }
    const { rollout, waitMs } = await advanceRelease(releaseId, deps);
    if (waitMs === null) return rollout;
    if (options.deadlineMs !== undefined && now() + waitMs >= options.deadlineMs) return rollout;
    if (waitMs > 0) await sleep(waitMs);
  }
}

/**
 * For a scheduled driver (a Lambda every minute, the local platform's loop): drives the release
 * holding the lease, if any, until it is over or the deadline is near.
 */
export async function advanceActiveRelease(deps: ReleaseDeps, options: { deadlineMs: number }): Promise<Rollout | undefined> {
  const lease = await activeLease();
  if (!lease) return undefined;
  const rollout = await getRollout(lease.releaseId);
  if (!rollout) {
    // A start that crashed between taking the lease and writing its rollout: free the lease once it is old.
    const now = deps.now ?? Date.now;
    if (now() - Date.parse(lease.since) > (deps.leaseMs ?? DEFAULT_LEASE_MS)) await releaseLease(lease.releaseId);
    return undefined;
  }
  return driveRelease(lease.releaseId, deps, { deadlineMs: options.deadlineMs });
}

/** What operators see of a rollout: everything but the driver's bookkeeping (outbox, lease, version). */
export type ReleaseView = Omit<Rollout, 'outbox' | 'driver' | 'version'>;

export function releaseView({ outbox: _outbox, driver: _driver, version: _version, ...view }: Rollout): ReleaseView {
  return view;
}

/** `GET /admin/releases/{id}`. */
export async function getRelease(releaseId: string): Promise<ReleaseView> {
  return releaseView(await requireRollout(releaseId));
}

export const ListInput = z.strictObject({ limit: PageLimit(50, 20), cursor: z.optional(z.string()) });

/** `GET /admin/releases`: newest first, a page at a time. */
export async function listReleases(input: unknown): Promise<{ items: ReleaseView[]; nextCursor: string | null }> {
  const { limit, cursor } = parse(ListInput, input, '(query)');
  const after = decodeCursor(cursor, {
    attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'],
    accept: (key) =>
      key.GSI1PK === 'RELEASES' &&
      key.SK === 'ROLLOUT' &&
      isReleaseId(key.PK?.slice('RELEASE#'.length)) &&
      key.GSI1SK?.endsWith(`#${key.PK?.slice('RELEASE#'.length)}`) === true,
  });
  const page = await listRollouts({ limit, ...(after ? { after } : {}) });
  return { items: page.items.map(releaseView), nextCursor: encodeCursor(page.lastKey as Record<string, string> | undefined) };
}
