/**
 * Runs the local release driver (driver-worker.ts) and answers its deployer and telemetry calls with
 * the platform's: the worker asks, the platform swaps a cell's bundles or reads its telemetry.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { DeployFailed, type CellDeployer, type CellTelemetry } from '@cellbook/core/releases/ports';
import type { LogSink } from '../lambda/function-host.js';
import type { DriverCall, DriverMessage, DriverWorkerData } from './driver-protocol.js';

export interface ReleaseDriverOptions {
  /** The bundled driver-worker module. */
  script: string;
  /** Its environment: endpoints, tables, the release-driver role's credentials. */
  env: Record<string, string>;
  data: DriverWorkerData;
  deployer: CellDeployer;
  telemetry: CellTelemetry;
  onLog: LogSink;
  group: string;
}

export interface ReleaseDriver {
  stop(): Promise<void>;
}

export function startReleaseDriver(options: ReleaseDriverOptions): ReleaseDriver {
  const worker = new Worker(options.script, { workerData: options.data, env: options.env, stdout: true, stderr: true });
  for (const stream of [worker.stdout, worker.stderr]) {
    createInterface({ input: stream }).on('line', (line) => options.onLog(options.group, line, `local/${options.group}/${worker.threadId}`));
  }
  const reply = (message: DriverMessage) => worker.postMessage(message);
  worker.on('message', (message: DriverCall | { type: 'stopped' }) => {
    if (message.type !== 'call') return;
    const answer = message.op === 'deploy' ? options.deployer.deploy(message.cellId, message.release) : options.telemetry.observe(message.cellId, message.window);
    answer.then(
      (value) => reply({ type: 'reply', id: message.id, ok: true, value }),
      (error: unknown) =>
        reply({
          type: 'reply',
          id: message.id,
          ok: false,
          error: {
            name: error instanceof Error ? error.name : 'Error',
            message: error instanceof Error ? error.message : String(error),
            ...(error instanceof DeployFailed ? { cellId: error.cellId } : {}),
          },
        }),
    );
  });
  worker.unref();
  return {
    async stop() {
      // A driver stopped mid-step is what a crash is: the next one resumes from the recorded state.
      await worker.terminate();
    },
  };
}
