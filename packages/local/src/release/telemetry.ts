/**
 * What each local cell served, from its own gateway and its own function hosts, kept in memory (the
 * last samples of each cell, a ring buffer), and the release orchestrator's ports over it: its
 * `CellTelemetry` (a cell's figures and alarms over a window, with the stacks' thresholds) and its
 * `CellDeployer` (a cell brought to a release by swapping its function bundles).
 */
import { evaluateCellAlarms, p99 } from '@cellbook/core/cells/alarms';
import { DeployFailed, type CellDeployer, type CellObservation, type CellTelemetry, type DeployProgress, type ReleaseRef } from '@cellbook/core/releases/ports';
import { releaseIdOf } from '@cellbook/core/releases/manifest';
import type { InvocationRecord } from '../lambda/function-host.js';
import type { LocalRelease } from './build.js';

/** One request the cell's gateway answered. */
export interface RequestSample {
  /** When it was answered (epoch ms). */
  atMs: number;
  status: number;
  latencyMs: number;
}

/** One invocation of one of the cell's functions, once answered. */
export interface InvocationSample {
  atMs: number;
  ok: boolean;
  throttled: boolean;
  errorName?: string;
  durationMs: number;
}

/** The last `capacity` items, oldest overwritten first. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }
  get size(): number {
    return this.items.length;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (const item of this.items) yield item;
  }
}

interface CellSeries {
  requests: Ring<RequestSample>;
  invocations: Ring<InvocationSample>;
}

export interface LocalCellTelemetryOptions {
  /** Samples kept per cell and per kind (requests, invocations); 50,000 by default. */
  capacity?: number;
  /** Stamps the samples; the wall clock by default (the orchestrator's windows are wall-clock times). */
  now?: () => number;
  /** Whether a cell exists: `observe` refuses any other. Every cell is accepted by default. */
  isCell?: (cellId: string) => boolean;
}

export const DEFAULT_TELEMETRY_CAPACITY = 50_000;

/** Each local cell's request and invocation series, and the `CellTelemetry` port over them. */
export class LocalCellTelemetry implements CellTelemetry {
  private readonly series = new Map<string, CellSeries>();
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(private readonly options: LocalCellTelemetryOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_TELEMETRY_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.now = options.now ?? Date.now;
  }

  private of(cellId: string): CellSeries {
    let series = this.series.get(cellId);
    if (!series) {
      series = { requests: new Ring(this.capacity), invocations: new Ring(this.capacity) };
      this.series.set(cellId, series);
    }
    return series;
  }

  /** The cell's gateway answered a request. */
  recordRequest(cellId: string, answer: { status: number; latencyMs: number }): void {
    this.of(cellId).requests.push({ atMs: this.now(), status: answer.status, latencyMs: answer.latencyMs });
  }

  /** One of the cell's functions answered an invocation. */
  recordInvocation(cellId: string, record: InvocationRecord): void {
    this.of(cellId).invocations.push({
      atMs: this.now(),
      ok: record.ok,
      throttled: record.throttled,
      ...(record.errorName ? { errorName: record.errorName } : {}),
      durationMs: record.durationMs,
    });
  }

  /** How many samples of each kind the cell keeps now (at most the capacity). */
  retained(cellId: string): { requests: number; invocations: number } {
    const series = this.series.get(cellId);
    return { requests: series?.requests.size ?? 0, invocations: series?.invocations.size ?? 0 };
  }

  /** What the cell served from `fromMs` to `toMs` (both included), and its alarms over exactly that window. */
  async observe(cellId: string, window: { fromMs: number; toMs: number }): Promise<CellObservation> {
    if (this.options.isCell && !this.options.isCell(cellId)) throw new Error(`no cell ${cellId} on this platform`);
    if (!(window.toMs >= window.fromMs)) throw new RangeError(`the window must end after it starts (from ${window.fromMs} to ${window.toMs})`);
    const within = (sample: { atMs: number }) => sample.atMs >= window.fromMs && sample.atMs <= window.toMs;
    const series = this.series.get(cellId);
    const latencies: number[] = [];
    let serverErrors = 0;
    for (const request of series?.requests ?? []) {
      if (!within(request)) continue;
      latencies.push(request.latencyMs);
      if (request.status >= 500) serverErrors += 1;
    }
    let functionErrors = 0;
    let functionThrottles = 0;
    for (const invocation of series?.invocations ?? []) {
      if (!within(invocation) || invocation.ok) continue;
      // As Lambda's metrics: a throttled invocation never ran, so it is a throttle and not an error.
      if (invocation.throttled) functionThrottles += 1;
      else functionErrors += 1;
    }
    const figures = { requests: latencies.length, serverErrors, p99LatencyMs: p99(latencies), functionErrors, functionThrottles };
    return { ...figures, alarms: evaluateCellAlarms({ ...figures, windowMs: window.toMs - window.fromMs }) };
  }
}

/** What the deployer needs of a local cell. */
export interface DeployableCell {
  readonly cellId: string;
  readonly releaseId: string;
  deploy(release: LocalRelease): Promise<void>;
}

/**
 * The `CellDeployer` port over the local platform's cells: loads (and so verifies) the release from
 * the release store, then swaps the cell's function bundles to it. An unknown cell is a programming
 * error (throws); a release that cannot be loaded or fails verification, or a swap that fails, is
 * `DeployFailed` (the cell keeps serving the release it had).
 */
export function localDeployer(cells: () => Iterable<DeployableCell>, load: (releaseId: string) => Promise<LocalRelease>): CellDeployer {
  /** The deployments on their way, by cell: the release each is bringing. */
  const pending = new Map<string, string>();
  return {
    async deploy(cellId: string, release: ReleaseRef): Promise<DeployProgress> {
      const cell = [...cells()].find((candidate) => candidate.cellId === cellId);
      if (!cell) throw new Error(`no cell ${cellId} on this platform`);
      if (cell.releaseId === release.releaseId) return 'deployed';
      if (pending.get(cellId) === release.releaseId) return 'in-progress';
      if (releaseIdOf(release.manifest) !== release.releaseId)
        throw new DeployFailed(cellId, `release ${release.releaseId}: its manifest is that of ${releaseIdOf(release.manifest)}`);
      pending.set(cellId, release.releaseId);
      try {
        let loaded: LocalRelease;
        try {
          loaded = await load(release.releaseId);
        } catch (error) {
          throw new DeployFailed(cellId, error instanceof Error ? error.message : String(error));
        }
        try {
          await cell.deploy(loaded);
        } catch (error) {
          throw new DeployFailed(cellId, `swapping ${cellId} to ${release.releaseId} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        return 'deployed';
      } finally {
        if (pending.get(cellId) === release.releaseId) pending.delete(cellId);
      }
    },
  };
}
