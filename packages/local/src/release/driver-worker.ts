/**
 * The local release driver (DESIGN §9), in a worker thread of its own with the `release-driver`
 * role's credentials, as the scheduled driver function runs in AWS: it drives whichever release
 * holds the lease with core's orchestrator. Its probe is core's (real HTTP through the router); its
 * deployer and telemetry are the platform's, reached over the worker's message port — the local
 * counterparts of CloudFormation and CloudWatch.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { CellObservation, DeployProgress, ReleaseRef } from '@cellbook/core/releases/ports';
import { DeployFailed } from '@cellbook/core/releases/ports';
import { advanceActiveRelease } from '@cellbook/core/releases/orchestrator';
import { routerProbe } from '@cellbook/core/releases/probe';
import type { DriverCall, DriverMessage, DriverRequest, DriverWorkerData } from './driver-protocol.js';

const { pollMs, routerUrl } = workerData as DriverWorkerData;
const port = parentPort!;
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextId = 1;
let stopping = false;

port.on('message', (message: DriverMessage) => {
  if (message.type === 'stop') {
    stopping = true;
    return;
  }
  const call = waiting.get(message.id);
  if (!call) return;
  waiting.delete(message.id);
  if (message.ok) call.resolve(message.value);
  else call.reject(message.error.name === 'DeployFailed' ? new DeployFailed(message.error.cellId ?? '', message.error.message) : new Error(message.error.message));
});

function ask<T>(call: DriverRequest): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    port.postMessage({ type: 'call', id, ...call } as DriverCall);
  });
}

const deps = {
  owner: `local-driver-${threadId}-${process.pid}`,
  deployer: { deploy: (cellId: string, release: ReleaseRef) => ask<DeployProgress>({ op: 'deploy', cellId, release }) },
  telemetry: { observe: (cellId: string, window: { fromMs: number; toMs: number }) => ask<CellObservation>({ op: 'observe', cellId, window }) },
  probe: routerProbe({ routerUrl }),
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function loop(): Promise<void> {
  while (!stopping) {
    try {
      const rollout = await advanceActiveRelease(deps, { deadlineMs: Date.now() + 60_000 });
      if (rollout) console.log(JSON.stringify({ level: 'INFO', message: 'release driven', releaseId: rollout.releaseId, status: rollout.status }));
    } catch (error) {
      // The next round resumes from the recorded state, as the next scheduled run would in AWS.
      console.error(JSON.stringify({ level: 'ERROR', message: 'release driver step failed', error: error instanceof Error ? error.message : String(error) }));
    }
    await sleep(pollMs);
  }
  port.postMessage({ type: 'stopped' });
}

void loop();
