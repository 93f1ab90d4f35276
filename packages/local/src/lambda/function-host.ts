import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { FunctionCode } from './bundle.js';
import type { FlushLogsMessage, HostMessage, ResultMessage, WorkerData } from './protocol.js';

/**
 * Where function output goes: `source` is the function group, `stream` the execution environment
 * that wrote the line (its log stream, as `context.logStreamName` and CloudWatch name it).
 */
export type LogSink = (source: string, line: string, stream?: string) => void;

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

/** One invocation as Lambda's metrics see it (Invocations, Errors, Throttles, Duration). */
export interface InvocationRecord {
  functionName: string;
  ok: boolean;
  /** The error's name when it failed (`TypeError`, `Runtime.ExitError`, `FunctionTimeout`…). */
  errorName?: string;
  /** It timed out waiting in the queue for an execution environment: Lambda would have throttled it. */
  throttled: boolean;
  /** From the call to its answer, queueing included. */
  durationMs: number;
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
  /**
   * How many execution environments (workers) may exist at once — Lambda's reserved concurrency.
   * Invocations beyond it wait, first come first served, and the wait counts toward their timeout.
   */
  maxConcurrency?: number;
  /** Told of every invocation once it is answered (not of warm-ups). */
  onInvocation?: (record: InvocationRecord) => void;
}

export const DEFAULT_MAX_CONCURRENCY = 4;

/** One worker thread: the local stand-in for one Lambda execution environment. */
interface Environment {
  readonly worker: Worker;
  /** The one invocation (or warm-up) it is running; Lambda never gives an environment two. */
  job: Job | undefined;
  /** Discarded (timed out, crashed, stopped): never handed another job. */
  discarded: boolean;
  /** `flushLogs` markers written to it and not read back yet, each with its waiter. */
  readonly flushes: Map<string, () => void>;
}

interface Job {
  readonly message: HostMessage;
  readonly label: string;
  readonly timeoutMs: number;
  readonly submittedAt: number;
  timer: NodeJS.Timeout | undefined;
  env: Environment | undefined;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * A group of functions sharing one IAM role, run the way Lambda runs them: a pool of execution
 * environments (worker threads), each handling exactly one invocation at a time, so module-level
 * state (Powertools' appended log keys, metric dimensions, cached clients) is never shared by two
 * concurrent requests.
 *
 * An invocation takes an idle environment, or cold-starts a new one while the pool is below
 * `maxConcurrency`, or else waits in a FIFO queue. An environment whose invocation timed out is
 * discarded (terminated) — it may be stuck in a loop — and a crash (uncaught error, out of memory,
 * `process.exit`) fails only that environment's in-flight invocation; later invocations cold-start
 * fresh environments. No other group is touched, so one failing cell cannot take the others down.
 */
export class FunctionHost {
  private readonly environments = new Set<Environment>();
  /** Idle environments, most recently used last (reused first, as Lambda keeps warm ones busy). */
  private readonly idle: Environment[] = [];
  private readonly queue: Job[] = [];
  private readonly maxConcurrency: number;
  private nextId = 1;
  private stopped = false;
  /** Resolved by `drain()`'s waiters once nothing runs or waits. */
  private drainWaiters: (() => void)[] = [];
  /** How many workers were started in total (cold starts, including replacements after crashes). */
  starts = 0;

  constructor(private readonly options: FunctionHostOptions) {
    const max = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrency must be a positive integer, got ${max}`);
    this.maxConcurrency = max;
  }

  invoke(functionName: string, event: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.nextId++;
    return this.submit(
      // The deadline runs from the call: time spent waiting for an environment counts, as for the caller.
      { type: 'invoke', id, functionName, event, requestId: randomUUID(), deadline: Date.now() + timeoutMs },
      functionName,
      timeoutMs,
    );
  }

  /** Loads every function in one environment now, so the first real request does not pay the cold start. */
  async warm(): Promise<void> {
    const functionNames = Object.keys(this.options.functions);
    await this.submit({ type: 'warm', id: this.nextId++, functionNames }, `${this.options.group} warm-up`, 60_000);
  }

  /**
   * Kills every current worker as if their execution environments crashed: their in-flight
   * invocations fail, and later (or queued) invocations cold-start new workers. Other hosts are
   * untouched.
   */
  async crash(): Promise<void> {
    const environments = [...this.environments];
    await Promise.all(environments.map((env) => this.discard(env, `${this.options.group}: execution environment crashed`)));
  }

  /**
   * The same functions under the same group, environment (role session), limits and hooks, run from
   * another build of them: what a cell swaps to when it deploys a release. `code.functions` must
   * hold every function this host runs.
   */
  successor(code: FunctionCode): FunctionHost {
    const functions: Record<string, string> = {};
    for (const name of Object.keys(this.options.functions)) {
      const path = code.functions[name];
      if (!path) throw new Error(`${this.options.group}: the new build has no function ${name}`);
      functions[name] = path;
    }
    return new FunctionHost({ ...this.options, workerHost: code.workerHost, functions });
  }

  /**
   * Resolves once every line each current execution environment has written to its standard output
   * — up to the end of what it is running now — has reached the log sink. Worker output and results
   * travel apart, so a caller that has an invocation's answer may not have its log lines yet.
   */
  async flushLogs(): Promise<void> {
    await Promise.all(
      [...this.environments].map(
        (env) =>
          new Promise<void>((resolve) => {
            const marker = `cellbook-log-flush:${randomUUID()}`;
            env.flushes.set(marker, resolve);
            env.worker.postMessage({ type: 'flush-logs', marker } satisfies FlushLogsMessage);
          }),
      ),
    );
  }

  /** Whether an invocation (or warm-up) is running or waiting. */
  get busy(): boolean {
    return this.queue.length > 0 || [...this.environments].some((env) => env.job !== undefined);
  }

  /**
   * Lets every invocation already running or queued finish (each within its own timeout), then
   * stops. The caller routes no new work here first (a cell switches its gateway to the new hosts).
   */
  async drain(): Promise<void> {
    if (this.busy) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.stop();
  }

  /** Terminates every worker; in-flight and queued invocations fail, later ones are refused. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) this.settle(job, new Error(`${this.options.group} is stopped`));
    const environments = [...this.environments];
    await Promise.all(environments.map((env) => this.discard(env, `${this.options.group} is stopped`)));
  }

  private submit(message: HostMessage, label: string, timeoutMs: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error(`${this.options.group} is stopped`));
    return new Promise((resolve, reject) => {
      const job: Job = { message, label, timeoutMs, submittedAt: Date.now(), timer: undefined, env: undefined, settled: false, resolve, reject };
      job.timer = setTimeout(() => this.timeOut(job), timeoutMs);
      job.timer.unref();
      this.queue.push(job);
      this.pump();
    });
  }

  /** Hands queued jobs, oldest first, to idle environments or to new ones while there is room. */
  private pump(): void {
    while (!this.stopped && this.queue.length > 0) {
      const env = this.idle.pop() ?? (this.environments.size < this.maxConcurrency ? this.spawn() : undefined);
      if (!env) return;
      const job = this.queue.shift()!;
      env.job = job;
      job.env = env;
      env.worker.postMessage(job.message);
    }
  }

  private spawn(): Environment {
    const data: WorkerData = { functions: this.options.functions, group: this.options.group };
    const worker = new Worker(this.options.workerHost, {
      workerData: data,
      env: this.options.env,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldGenerationSizeMb ?? 512 },
    });
    const env: Environment = { worker, job: undefined, discarded: false, flushes: new Map() };
    this.environments.add(env);
    this.starts += 1;
    // The worker host names its log stream after its thread id (see lambdaContext in worker-host.ts).
    const logStream = `local/${this.options.group}/${worker.threadId}`;
    createInterface({ input: worker.stdout }).on('line', (line) => {
      const flushed = env.flushes.get(line);
      if (flushed) {
        env.flushes.delete(line);
        flushed();
      } else this.options.onLog(this.options.group, line, logStream);
    });
    createInterface({ input: worker.stderr }).on('line', (line) => this.options.onLog(this.options.group, line, logStream));
    worker.on('message', (message: ResultMessage) => this.complete(env, message));
    worker.on('error', (error: Error) => void this.discard(env, error.message));
    worker.on('exit', (code) => void this.discard(env, `worker exited with code ${code}`));
    // A forgotten host never keeps the process alive.
    worker.unref();
    return env;
  }

  private complete(env: Environment, message: ResultMessage): void {
    const job = env.job;
    if (env.discarded || !job || job.message.id !== message.id) return;
    env.job = undefined;
    this.settle(job, message.ok ? undefined : new FunctionError(message.error.name, message.error.message), message.ok ? message.value : undefined);
    this.idle.push(env);
    this.pump();
  }

  private timeOut(job: Job): void {
    if (job.settled) return;
    this.settle(job, new FunctionTimeout(job.label, job.timeoutMs));
    const env = job.env;
    if (env) {
      // The handler may be stuck: Lambda discards an environment whose invocation timed out.
      env.job = undefined;
      void this.discard(env, `${job.label} timed out`);
    } else {
      const index = this.queue.indexOf(job);
      if (index >= 0) this.queue.splice(index, 1);
    }
  }

  /**
   * Takes an environment out of the pool for good and terminates its worker; its in-flight
   * invocation (if any) fails. Idempotent: a crash reports both `error` and `exit`.
   */
  private discard(env: Environment, reason: string): Promise<unknown> {
    if (!env.discarded) {
      env.discarded = true;
      this.environments.delete(env);
      const index = this.idle.indexOf(env);
      if (index >= 0) this.idle.splice(index, 1);
      const job = env.job;
      env.job = undefined;
      if (job) this.settle(job, new FunctionError('Runtime.ExitError', reason));
      // A worker that is gone writes no more: nothing to wait for.
      for (const flushed of env.flushes.values()) flushed();
      env.flushes.clear();
      // The freed slot may serve a queued invocation with a fresh environment.
      this.pump();
    }
    return env.worker.terminate();
  }

  private settle(job: Job, error: Error | undefined, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (job.message.type === 'invoke') {
      this.options.onInvocation?.({
        functionName: job.message.functionName,
        ok: !error,
        ...(error ? { errorName: error instanceof FunctionError ? error.errorName : error.name } : {}),
        // Timed out before any environment took it: the pool was exhausted.
        throttled: error instanceof FunctionTimeout && job.env === undefined,
        durationMs: Date.now() - job.submittedAt,
      });
    }
    if (error) job.reject(error);
    else job.resolve(value);
    // Checked once the caller (complete, timeOut, discard) has finished updating the pool.
    if (this.drainWaiters.length > 0) queueMicrotask(() => this.releaseDrainers());
  }

  private releaseDrainers(): void {
    if (this.busy) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
