/**
 * What the release orchestrator needs from the world it deploys into (DESIGN §9). The orchestrator
 * is the same code in AWS and locally; only these adapters differ: CloudFormation and CloudWatch
 * in AWS, the local platform's function hosts and gateway telemetry offline.
 */
import type { AlarmState } from '../cells/alarms.js';
import type { ReleaseManifest } from './manifest.js';

export interface ReleaseRef {
  releaseId: string;
  manifest: ReleaseManifest;
}

export type DeployProgress = 'deployed' | 'in-progress';

/** Raised by a deployer when a cell could not be brought to a release (the wave then rolls back). */
export class DeployFailed extends Error {
  constructor(
    readonly cellId: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeployFailed';
  }
}

export interface CellDeployer {
  /**
   * Brings `cellId` to `release`. Idempotent: asking again while it is on its way answers
   * `in-progress`, once the cell serves it `deployed`, and a cell that already runs it answers
   * `deployed` at once. Throws `DeployFailed` when the deployment failed (and was undone).
   */
  deploy(cellId: string, release: ReleaseRef): Promise<DeployProgress>;
}

/** What one cell served since a moment, and its alarms: the gate's evidence. */
export interface CellObservation {
  requests: number;
  serverErrors: number;
  /** null when no request was seen. */
  p99LatencyMs: number | null;
  functionErrors: number;
  functionThrottles: number;
  /** The cell's own alarms (never an aggregate across cells). */
  alarms: AlarmState[];
}

export interface CellTelemetry {
  /** What `cellId` served from `fromMs` to `toMs` (epoch milliseconds), and its alarms now. */
  observe(cellId: string, window: { fromMs: number; toMs: number }): Promise<CellObservation>;
}

export type ProbeStep = 'sign-in' | 'create' | 'list' | 'read' | 'update';

export interface ProbeResult {
  ok: boolean;
  steps: { step: ProbeStep; status: number; ms: number }[];
  /** What failed, in words, when `ok` is false. */
  error?: string;
}

/** The synthetic probe tenant of each cell: one round of create, list, read and update of a case through the router. */
export interface CellProbe {
  run(cellId: string): Promise<ProbeResult>;
}
