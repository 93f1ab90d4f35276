import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, type RetryOptions } from './retry.js';

class Conflict extends Error {}

/** A clock that only the recorded sleeps move, so a test sees every wait and never waits. */
function fakeTime(start = 1_000) {
  const waits: number[] = [];
  let clock = start;
  return {
    waits,
    now: () => clock,
    sleep: async (ms: number) => {
      waits.push(ms);
      clock += ms;
    },
  };
}

/** An operation that fails with `failures` in turn, then answers 'done'; it records its attempt numbers. */
function failing(...failures: unknown[]) {
  const attempts: number[] = [];
  const operation = async (attempt: number) => {
    attempts.push(attempt);
    if (attempts.length <= failures.length) throw failures[attempts.length - 1];
    return 'done';
  };
  return { attempts, operation };
}

const onConflict: Pick<RetryOptions, 'retryable'> = { retryable: (error) => error instanceof Conflict };

describe('retry', () => {
  it('tries again after a retryable failure and answers what the operation answers', async () => {
    const time = fakeTime();
    const { attempts, operation } = failing(new Conflict(), new Conflict());
    await expect(retry(operation, { ...onConflict, maxAttempts: 5, baseDelayMs: 20, ...time })).resolves.toBe('done');
    expect(attempts).toEqual([1, 2, 3]);
    expect(time.waits).toHaveLength(2);
  });

  it('throws a failure that is not retryable at once, as it was', async () => {
    const time = fakeTime();
    const fatal = new Error('access denied');
    const { attempts, operation } = failing(new Conflict(), fatal);
    await expect(retry(operation, { ...onConflict, maxAttempts: 5, baseDelayMs: 20, ...time })).rejects.toBe(fatal);
    expect(attempts).toEqual([1, 2]);
  });

  it('gives up after maxAttempts in all and throws the last failure', async () => {
    const time = fakeTime();
    const last = new Conflict('fifth');
    const { attempts, operation } = failing(new Conflict(), new Conflict(), new Conflict(), new Conflict(), last, new Conflict());
    await expect(retry(operation, { ...onConflict, maxAttempts: 5, baseDelayMs: 20, ...time })).rejects.toBe(last);
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(time.waits).toHaveLength(4);
  });

  it('backs off exponentially up to the cap, without jitter when told', async () => {
    const time = fakeTime();
    const { operation } = failing(...Array.from({ length: 6 }, () => new Conflict()));
    await retry(operation, { ...onConflict, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'none', ...time });
    expect(time.waits).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('waits a random part of the back-off by default (full jitter)', async () => {
    const time = fakeTime();
    const draws = [0.5, 0, 0.999];
    const { operation } = failing(new Conflict(), new Conflict(), new Conflict());
    await retry(operation, { ...onConflict, baseDelayMs: 40, ...time, random: () => draws.shift()! });
    expect(time.waits).toEqual([20, 0, 0.999 * 160]);
  });

  it('stops before a wait that would end past the deadline, throwing the last failure', async () => {
    const time = fakeTime(0);
    const failures = Array.from({ length: 10 }, (_, i) => new Conflict(`attempt ${i + 1}`));
    const { attempts, operation } = failing(...failures);
    // Waits of 100, 200, 400 end at 700; the next (800) would end at 1500, past 1000.
    await expect(retry(operation, { ...onConflict, deadline: 1_000, baseDelayMs: 100, jitter: 'none', ...time })).rejects.toBe(failures[3]);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(time.waits).toEqual([100, 200, 400]);
  });

  it('does not wait after the first attempt succeeds', async () => {
    const time = fakeTime();
    await expect(retry(async () => 42, { ...onConflict, maxAttempts: 3, baseDelayMs: 20, ...time })).resolves.toBe(42);
    expect(time.waits).toEqual([]);
  });

  it('really sleeps when no sleep is given', async () => {
    const started = Date.now();
    const { operation } = failing(new Conflict());
    await retry(operation, { ...onConflict, maxAttempts: 2, baseDelayMs: 30, jitter: 'none' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base for each failure and never passes the cap, nor 10 s without one', () => {
    const none = { jitter: 'none' } as const;
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, { ...none, baseDelayMs: 50, maxDelayMs: 300 }))).toEqual([50, 100, 200, 300]);
    expect(backoffDelay(30, { ...none, baseDelayMs: 50 })).toBe(10_000);
  });

  it('stays within [0, back-off) with full jitter', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const delay = backoffDelay(attempt, { baseDelayMs: 50, maxDelayMs: 5_000 });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(5_000, 50 * 2 ** (attempt - 1)));
    }
  });
});
