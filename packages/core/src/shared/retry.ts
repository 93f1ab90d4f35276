/**
 * The one way core waits and tries again: capped exponential back-off, with full jitter unless
 * told otherwise (the AWS Builders' Library's "Timeouts, retries and backoff with jitter"). Callers
 * say what is worth another attempt and how long they may keep at it, in attempts or by a deadline.
 */
import { setTimeout as timersSleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Whether a failure is worth another attempt; any other failure is thrown at once. */
  retryable: (error: unknown) => boolean;
  /** Attempts in all, the first included. Unbounded by default: a deadline (or the operation) ends it. */
  maxAttempts?: number;
  /**
   * Epoch milliseconds past which no wait may end: when the next wait would, the last failure is
   * thrown instead. Judged on `now`.
   */
  deadline?: number;
  /** The longest first wait; each retry doubles it. */
  baseDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs?: number;
  /**
   * `full` (the default): a random wait up to the back-off, so callers that collided spread out
   * instead of colliding again in step. `none`: the back-off itself, for polling a condition that
   * no other caller contends for.
   */
  jitter?: 'full' | 'none';
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** Without a cap a long-running poll would double its wait forever. */
const DEFAULT_MAX_DELAY_MS = 10_000;

/**
 * The wait after the `attempt`-th failure (1 for the first): `baseDelayMs · 2^(attempt−1)`, capped
 * at `maxDelayMs`, and with full jitter a uniformly random part of that.
 */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'jitter' | 'random'>): number {
  const ceiling = Math.min(options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, options.baseDelayMs * 2 ** (attempt - 1));
  return options.jitter === 'none' ? ceiling : (options.random ?? Math.random)() * ceiling;
}

export function sleep(ms: number): Promise<void> {
  return timersSleep(ms).then(() => undefined);
}

/**
 * Runs `operation` (given its attempt number, from 1) until it succeeds, its failure is not
 * retryable, or the attempts or the deadline run out; then throws its last failure as it was.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { maxAttempts = Number.POSITIVE_INFINITY, deadline, sleep: wait = sleep, now = Date.now } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!options.retryable(error) || attempt >= maxAttempts) throw error;
      const delay = backoffDelay(attempt, options);
      if (deadline !== undefined && now() + delay > deadline) throw error;
      await wait(delay);
    }
  }
}
