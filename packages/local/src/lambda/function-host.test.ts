import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bundleFunctions } from './bundle.js';
import { FunctionError, FunctionHost, FunctionTimeout, type FunctionHostOptions, type InvocationRecord } from './function-host.js';

/**
 * Tiny handler modules, written at test time. Synchronisation goes through SharedArrayBuffers in
 * the events (structured clone shares them with the worker), never through sleeps.
 */
const HANDLERS: Record<string, string> = {
  // Sets module state, waits until `expected` invocations are all inside a handler, then reports
  // whether the module state is still its own: only true if no other invocation shares the module.
  state: `
    import { threadId } from 'node:worker_threads';
    let current;
    export const handler = async ({ id, arrived, expected }) => {
      current = id;
      Atomics.add(arrived, 0, 1);
      Atomics.notify(arrived, 0);
      for (let seen = Atomics.load(arrived, 0); seen < expected; seen = Atomics.load(arrived, 0)) {
        await Atomics.waitAsync(arrived, 0, seen).value;
      }
      return { id, ownState: current === id, threadId };
    };`,
  // Records the order it started in (gate[0] = count, gate[1..8] = ids), then holds until released
  // (gate[9 + id] = 1).
  gate: `
    import { threadId } from 'node:worker_threads';
    export const handler = async ({ id, gate }) => {
      const slot = Atomics.add(gate, 0, 1);
      Atomics.store(gate, 1 + slot, id);
      Atomics.notify(gate, 0);
      while (Atomics.load(gate, 9 + id) === 0) await Atomics.waitAsync(gate, 9 + id, 0).value;
      return { id, threadId };
    };`,
  // Writes \`lines\` numbered lines to its standard output (its log), then answers.
  chatty: `
    export const handler = async ({ lines }) => {
      for (let n = 0; n < lines; n += 1) process.stdout.write(JSON.stringify({ n, pad: 'x'.repeat(200) }) + '\\n');
      return lines;
    };`,
  echo: `
    import { threadId } from 'node:worker_threads';
    export const handler = async (event, context) => ({ event, threadId, requestId: context.awsRequestId });`,
  loop: `
    export const handler = async () => {
      for (;;) {}
    };`,
  throws: `
    export const handler = async () => {
      throw new TypeError('boom');
    };`,
  exits: `
    export const handler = async () => {
      process.exit(1);
    };`,
  // Keeps ticking after it returns, as long as its environment lives.
  ticker: `
    export const handler = async ({ ticks }) => {
      setInterval(() => Atomics.add(ticks, 0, 1), 1);
      return 'ticking';
    };`,
  'warm-a': `
    import { threadId } from 'node:worker_threads';
    globalThis.loaded = [...(globalThis.loaded ?? []), 'a'];
    let invocations = 0;
    export const handler = async () => ({
      loaded: [...globalThis.loaded].sort(),
      invocations: ++invocations,
      invokedB: globalThis.invokedB ?? 0,
      threadId,
    });`,
  'warm-b': `
    globalThis.loaded = [...(globalThis.loaded ?? []), 'b'];
    export const handler = async () => {
      globalThis.invokedB = (globalThis.invokedB ?? 0) + 1;
      return null;
    };`,
};

const LONG = 10_000;
const WAIT = { timeout: LONG, interval: 5 };

let handlersDir: string;
let bundleDir: string;
let workerHost: string;
const functions: Record<string, string> = {};
const hosts: FunctionHost[] = [];

beforeAll(async () => {
  handlersDir = await mkdtemp(join(tmpdir(), 'cellbook-handlers-'));
  for (const [name, source] of Object.entries(HANDLERS)) {
    functions[name] = join(handlersDir, `${name}.mjs`);
    await writeFile(functions[name], source);
  }
  const bundle = await bundleFunctions([]);
  bundleDir = bundle.dir;
  workerHost = bundle.workerHost;
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.stop()));
});

afterAll(async () => {
  await Promise.all([handlersDir, bundleDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

function host(options: Partial<FunctionHostOptions> = {}): FunctionHost {
  const created = new FunctionHost({ group: 'test', workerHost, functions, env: {}, onLog: () => {}, ...options });
  hosts.push(created);
  return created;
}

interface Gated {
  id: number;
  threadId: number;
}

/** Shared memory for the `gate` handler: start order and per-invocation release flags. */
class Gate {
  readonly array = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 17));
  get started(): number {
    return Atomics.load(this.array, 0);
  }
  get order(): number[] {
    return Array.from(this.array.subarray(1, 1 + this.started));
  }
  async until(started: number): Promise<void> {
    await vi.waitFor(() => expect(this.started).toBe(started), WAIT);
  }
  release(id: number): void {
    Atomics.store(this.array, 9 + id, 1);
    Atomics.notify(this.array, 9 + id);
  }
  invoke(target: FunctionHost, id: number, timeoutMs = LONG): Promise<Gated> {
    return target.invoke('gate', { id, gate: this.array }, timeoutMs) as Promise<Gated>;
  }
}

const exitError = (message?: RegExp) =>
  expect.objectContaining({ name: 'FunctionError', errorName: 'Runtime.ExitError', ...(message ? { message: expect.stringMatching(message) } : {}) });

describe('FunctionHost', () => {
  it('runs concurrent invocations in separate workers, each seeing only its own module state', async () => {
    const target = host({ maxConcurrency: 4 });
    const arrived = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    // All four must be inside the handler at once to get past the barrier.
    const results = (await Promise.all([1, 2, 3, 4].map((id) => target.invoke('state', { id, arrived, expected: 4 }, LONG)))) as {
      id: number;
      ownState: boolean;
      threadId: number;
    }[];

    expect(results.map((result) => result.ownState)).toEqual([true, true, true, true]);
    expect(new Set(results.map((result) => result.threadId)).size).toBe(4);
    expect(target.starts).toBe(4);
  });

  it('reuses an idle warm worker instead of cold-starting another', async () => {
    const target = host();
    const first = (await target.invoke('echo', { n: 1 }, LONG)) as { threadId: number; requestId: string };
    const second = (await target.invoke('echo', { n: 2 }, LONG)) as { threadId: number; requestId: string; event: unknown };

    expect(second.threadId).toBe(first.threadId);
    expect(second.event).toEqual({ n: 2 });
    expect(second.requestId).not.toBe(first.requestId);
    expect(target.starts).toBe(1);
  });

  it('grows the pool up to maxConcurrency, then queues invocations first come first served', async () => {
    const target = host({ maxConcurrency: 2 });
    const gate = new Gate();
    const a = gate.invoke(target, 0);
    const b = gate.invoke(target, 1);
    await gate.until(2);
    expect(target.starts).toBe(2);

    const c = gate.invoke(target, 2);
    const d = gate.invoke(target, 3);
    // Both wait: no third worker, nothing else started.
    expect(target.starts).toBe(2);
    expect(gate.started).toBe(2);

    gate.release(0);
    const first = await a;
    await gate.until(3);
    expect(gate.order[2]).toBe(2); // C, queued before D, goes first …
    gate.release(1);
    const second = await b;
    await gate.until(4);
    expect(gate.order[3]).toBe(3);
    gate.release(2);
    gate.release(3);

    // … each on the worker that just became free.
    expect((await c).threadId).toBe(first.threadId);
    expect((await d).threadId).toBe(second.threadId);
    expect(target.starts).toBe(2);
  });

  it('counts the time spent waiting for a worker toward the invocation timeout', async () => {
    const target = host({ maxConcurrency: 1 });
    const gate = new Gate();
    const held = gate.invoke(target, 0);
    await gate.until(1);

    await expect(target.invoke('echo', {}, 100)).rejects.toBeInstanceOf(FunctionTimeout);

    // The busy worker was not the one that timed out, so it keeps serving.
    gate.release(0);
    const { threadId } = await held;
    expect(((await target.invoke('echo', {}, LONG)) as { threadId: number }).threadId).toBe(threadId);
    expect(target.starts).toBe(1);
  });

  it('terminates the worker of a timed-out invocation and serves the next invocation from a fresh one', async () => {
    // One worker only: if the stuck one kept serving, the next invocation would time out too.
    const target = host({ maxConcurrency: 1 });
    await expect(target.invoke('loop', {}, 200)).rejects.toBeInstanceOf(FunctionTimeout);
    expect(target.starts).toBe(1);

    await expect(target.invoke('echo', { after: 'timeout' }, LONG)).resolves.toMatchObject({ event: { after: 'timeout' } });
    expect(target.starts).toBe(2);
  });

  it('fails only the in-flight invocation of a worker that exits, and replaces it on demand', async () => {
    const target = host({ maxConcurrency: 2 });
    const gate = new Gate();
    const held = gate.invoke(target, 0);
    await gate.until(1);

    await expect(target.invoke('exits', {}, LONG)).rejects.toEqual(exitError(/exited with code 1/));

    gate.release(0);
    const { threadId } = await held;
    const next = target.invoke('echo', {}, LONG) as Promise<{ threadId: number }>;
    const other = target.invoke('echo', {}, LONG) as Promise<{ threadId: number }>;
    expect((await next).threadId).toBe(threadId);
    expect((await other).threadId).not.toBe(threadId);
    expect(target.starts).toBe(3);
  });

  it('fails a throwing invocation with its error and keeps the worker, as Lambda keeps the environment', async () => {
    const target = host({ maxConcurrency: 1 });
    const { threadId } = (await target.invoke('echo', {}, LONG)) as { threadId: number };

    const error = await target.invoke('throws', {}, LONG).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorName: 'TypeError', message: 'boom' });

    expect(((await target.invoke('echo', {}, LONG)) as { threadId: number }).threadId).toBe(threadId);
    expect(target.starts).toBe(1);
  });

  it('crash() terminates every worker, fails their in-flight invocations, and later ones cold-start', async () => {
    const target = host({ maxConcurrency: 2 });
    const gate = new Gate();
    const held = [gate.invoke(target, 0), gate.invoke(target, 1)];
    await gate.until(2);

    const outcomes = Promise.allSettled(held);
    await target.crash();
    expect(await outcomes).toEqual([
      { status: 'rejected', reason: exitError() },
      { status: 'rejected', reason: exitError() },
    ]);

    await expect(target.invoke('echo', { after: 'crash' }, LONG)).resolves.toMatchObject({ event: { after: 'crash' } });
    expect(target.starts).toBe(3);
  });

  it('stop() rejects queued and in-flight invocations, terminates the workers, and refuses new work', async () => {
    const target = host({ maxConcurrency: 1 });
    const ticks = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    await target.invoke('ticker', { ticks }, LONG);
    await vi.waitFor(() => expect(Atomics.load(ticks, 0)).toBeGreaterThan(0), WAIT);

    const gate = new Gate();
    const inFlight = gate.invoke(target, 0);
    await gate.until(1);
    const queued = target.invoke('echo', {}, LONG);

    const outcomes = Promise.allSettled([queued, inFlight]);
    await target.stop();
    const [queuedOutcome, inFlightOutcome] = await outcomes;
    expect(queuedOutcome).toEqual({ status: 'rejected', reason: new Error('test is stopped') });
    expect(inFlightOutcome).toEqual({ status: 'rejected', reason: exitError(/test is stopped/) });
    await expect(target.invoke('echo', {}, LONG)).rejects.toThrow('test is stopped');

    // stop() resolved after the worker exited: its timers are gone with it.
    const after = Atomics.load(ticks, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Atomics.load(ticks, 0)).toBe(after);
  });

  it('warm() loads every function module in one worker without invoking any handler', async () => {
    const target = host({ functions: { a: functions['warm-a']!, b: functions['warm-b']! } });
    await target.warm();
    expect(target.starts).toBe(1);

    await expect(target.invoke('a', {}, LONG)).resolves.toMatchObject({ loaded: ['a', 'b'], invocations: 1, invokedB: 0 });
    expect(target.starts).toBe(1);
  });

  it('rejects a maxConcurrency that is not a positive integer', () => {
    expect(() => host({ maxConcurrency: 0 })).toThrow(RangeError);
  });
});

describe('FunctionHost.flushLogs', () => {
  it('resolves once every line an environment wrote before it was asked has reached the log sink, and keeps its markers out of the log', async () => {
    const logged: string[] = [];
    const target = host({ onLog: (_source, line) => logged.push(line) });
    const lines = 5_000;
    await target.invoke('chatty', { lines }, LONG);
    await target.flushLogs();
    expect(logged.map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(Array.from({ length: lines }, (_, n) => n));
  });

  it('does not wait on an environment that is gone', async () => {
    const target = host();
    await expect(target.invoke('exits', {}, LONG)).rejects.toEqual(exitError());
    await target.flushLogs();
  });
});

describe('FunctionHost during a release swap', () => {
  it('drain() lets the running and the queued invocations finish, then stops', async () => {
    const target = host({ maxConcurrency: 1 });
    const gate = new Gate();
    const running = gate.invoke(target, 0);
    await gate.until(1);
    const queued = gate.invoke(target, 1);

    let drained = false;
    const draining = target.drain().then(() => {
      drained = true;
    });
    gate.release(0);
    await expect(running).resolves.toMatchObject({ id: 0 });
    // The queued one still had to run: drain() waits for it too.
    await gate.until(2);
    expect(drained).toBe(false);
    gate.release(1);
    await expect(queued).resolves.toMatchObject({ id: 1 });
    await draining;

    expect(target.busy).toBe(false);
    await expect(target.invoke('echo', {}, LONG)).rejects.toThrow('test is stopped');
  });

  it('drain() of an idle host stops it at once', async () => {
    const target = host();
    await target.invoke('echo', {}, LONG);
    await target.drain();
    await expect(target.invoke('echo', {}, LONG)).rejects.toThrow('test is stopped');
  });

  it('a successor runs the same functions from another build, with the same group, environment and hooks', async () => {
    const records: InvocationRecord[] = [];
    const first = host({ functions: { greet: functions.echo! }, env: { MARK: 'same-env' }, onInvocation: (record) => records.push(record) });
    await expect(first.invoke('greet', { n: 1 }, LONG)).resolves.toMatchObject({ event: { n: 1 } });

    const next = first.successor({ workerHost, functions: { greet: functions.throws!, unrelated: functions.echo! } });
    hosts.push(next);
    await expect(next.invoke('greet', {}, LONG)).rejects.toMatchObject({ errorName: 'TypeError', message: 'boom' });
    // Only the functions the host ran: a build's other functions are not added.
    await expect(next.invoke('unrelated', {}, LONG)).rejects.toMatchObject({ message: expect.stringContaining('not deployed') });
    expect(records.map((record) => [record.functionName, record.ok])).toEqual([
      ['greet', true],
      ['greet', false],
      ['unrelated', false],
    ]);
    expect(() => first.successor({ workerHost, functions: {} })).toThrow('the new build has no function greet');
  });

  it('reports each invocation: ok or its error, a timeout in the queue as a throttle, and its duration', async () => {
    const records: InvocationRecord[] = [];
    const target = host({ maxConcurrency: 1, onInvocation: (record) => records.push(record) });
    await target.warm();
    await target.invoke('echo', {}, LONG);
    await target.invoke('throws', {}, LONG).catch(() => undefined);

    const gate = new Gate();
    const held = gate.invoke(target, 0);
    await gate.until(1);
    // Waits for the one environment, and times out waiting: Lambda would have throttled it.
    await expect(target.invoke('echo', {}, 50)).rejects.toBeInstanceOf(FunctionTimeout);
    gate.release(0);
    await held;
    // Timed out while running: an error, not a throttle.
    await expect(target.invoke('loop', {}, 100)).rejects.toBeInstanceOf(FunctionTimeout);

    expect(records.map(({ functionName, ok, errorName, throttled }) => ({ functionName, ok, errorName, throttled }))).toEqual([
      { functionName: 'echo', ok: true, errorName: undefined, throttled: false },
      { functionName: 'throws', ok: false, errorName: 'TypeError', throttled: false },
      { functionName: 'echo', ok: false, errorName: 'FunctionTimeout', throttled: true },
      { functionName: 'gate', ok: true, errorName: undefined, throttled: false },
      { functionName: 'loop', ok: false, errorName: 'FunctionTimeout', throttled: false },
    ]);
    // Timers may fire a millisecond early by the wall clock: the duration is the timeout, give or take.
    expect(records.at(-1)!.durationMs).toBeGreaterThanOrEqual(90);
  });
});
