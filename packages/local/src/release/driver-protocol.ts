/** Messages between the local release driver's worker and the platform (see driver-worker.ts). */
import type { ReleaseRef } from '@cellbook/core/releases/ports';

export interface DriverWorkerData {
  /** How often the driver looks for a release to drive. */
  pollMs: number;
  routerUrl: string;
}

/** What the driver asks the platform. */
export type DriverRequest = { op: 'deploy'; cellId: string; release: ReleaseRef } | { op: 'observe'; cellId: string; window: { fromMs: number; toMs: number } };

export type DriverCall = DriverRequest & { type: 'call'; id: number };

export type DriverMessage =
  | { type: 'stop' }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: { name: string; message: string; cellId?: string } };
