import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { HostMessage, ResultMessage, WorkerData } from './protocol.js';

export type LogSink = (source: string, line: string) => void;

export class FunctionError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'FunctionError';
  }
}

export class FunctionTimeout extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} did not answer within ${timeoutMs} ms`);
    this.name = 'FunctionTimeout';
  }
}

export interface FunctionHostOptions {
  /** Logical name, e.g. `cell-1-api`; also the log source. */
  group: string;
  workerHost: string;
  functions: Record<string, string>;
  /** The functions' environment: role credentials, endpoints, table names. */
  env: Record<string, string>;
  onLog: LogSink;
  maxOldGenerationSizeMb?: number;
}

/**
 * A group of functions sharing one IAM role, hosted in a worker thread. A crash (uncaught error,
 * out of memory) fails the in-flight invocations and the next invocation starts a fresh worker —
 * a cold start, as Lambda would — without touching any other group, so one failing cell cannot
 * take the others down.
 */
export class FunctionHost {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private stopped = false;
  /** How many workers were started (1 + restarts after crashes). */
  starts = 0;

  constructor(private readonly options: FunctionHostOptions) {}

  private spawn(): Worker {
    const data: WorkerData = { functions: this.options.functions, group: this.options.group };
    const worker = new Worker(this.options.workerHost, {
      workerData: data,
      env: this.options.env,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldGenerationSizeMb ?? 512 },
    });
    this.starts += 1;
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.options.onLog(this.options.group, line));
    }
    worker.on('message', (message: ResultMessage) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new FunctionError(message.error.name, message.error.message));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiter] of this.pending) {
        this.pending.delete(id);
        waiter.reject(new FunctionError('Runtime.ExitError', error.message));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)));
    worker.unref();
    return worker;
  }

  invoke(functionName: string, event: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.nextId++;
    return this.send(
      { type: 'invoke', id, functionName, event, requestId: randomUUID(), deadline: Date.now() + timeoutMs },
      functionName,
      timeoutMs,
    );
  }

  private send(message: HostMessage, label: string, timeoutMs: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error(`${this.options.group} is stopped`));
    this.worker ??= this.spawn();
    const { id } = message;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new FunctionTimeout(label, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.worker!.postMessage(message);
    });
  }

  /** Loads every function now, so the first real request does not pay the cold start. */
  async warm(): Promise<void> {
    const functionNames = Object.keys(this.options.functions);
    await this.send({ type: 'warm', id: this.nextId++, functionNames }, `${this.options.group} warm-up`, 60_000);
  }

  /**
   * Kills the current worker as if its execution environment crashed: in-flight invocations fail,
   * the next one cold-starts a new worker. Other hosts are untouched.
   */
  async crash(): Promise<void> {
    const worker = this.worker;
    if (worker) await worker.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
