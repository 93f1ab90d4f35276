/**
 * TEMPORARY stub of the lead's orchestrator (its exports only), so that the AWS adapters compile in
 * this branch. Dropped at merge: the real module replaces it.
 */
import type { CellDeployer, CellProbe, CellTelemetry } from './ports.js';

export interface GateSettings {
  bakeSeconds: number;
  minRequests: number;
  probeIntervalSeconds: number;
  maxGateSeconds: number;
}

export interface ReleaseDeps {
  deployer: CellDeployer;
  telemetry: CellTelemetry;
  probe: CellProbe;
  owner: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReleaseRun {
  releaseId: string;
  status: string;
}

const notYet = (): never => {
  throw new Error('the release orchestrator is not in this branch (TEMP stub)');
};

export async function startRelease(_input: unknown, _options: { actor: string }): Promise<ReleaseRun> {
  return notYet();
}

export async function driveRelease(_releaseId: string, _deps: ReleaseDeps, _options?: { stopBefore?: 'dedicated'; deadlineMs?: number }): Promise<ReleaseRun> {
  return notYet();
}

export async function advanceActiveRelease(_deps: ReleaseDeps, _options: { deadlineMs: number }): Promise<void> {
  return notYet();
}

export async function getRelease(_releaseId: string): Promise<ReleaseRun | undefined> {
  return notYet();
}
