/**
 * CloudWatch Logs subscription filters, locally: the platform's log sink hands every line here; a
 * line a subscription's pattern matches is batched per log group and stream (a small batch, a short
 * linger, as CloudWatch batches) and delivered to the subscription's destination as the same
 * `awslogs` event CloudWatch sends a Lambda function (base64 of gzipped JSON). A failed delivery is
 * tried again with capped exponential back-off, a bounded number of times, then dead-lettered (and
 * logged), as a Lambda's asynchronous retries end on its failure destination.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { retry } from '@cellbook/core/shared/retry';
import { compileFilterPattern, type LogEventMatcher } from './logs-filter-pattern.js';
import { LOCAL_ACCOUNT_ID } from './types.js';

export interface LogSubscription {
  /** The subscription filter's name: delivered in the event's `subscriptionFilters`. */
  filterName: string;
  logGroup: string;
  filterPattern: string;
  /** The destination (a function invocation); a rejection is a failed delivery. */
  deliver: (event: { awslogs: { data: string } }) => Promise<unknown>;
}

export interface LogSubscriptionsOptions {
  /** Lines per delivery at most. */
  batchSize?: number;
  /** How long a line may wait for others before its batch goes. */
  lingerMs?: number;
  /** Delivery attempts in all, the first included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Told of a batch that failed every attempt. */
  onDeadLetter?: (batch: DeadLetteredLogBatch) => void;
}

export interface DeadLetteredLogBatch {
  filterName: string;
  logGroup: string;
  lines: number;
  error: string;
}

interface Pending {
  subscription: LogSubscription & { matches: LogEventMatcher };
  logStream: string;
  events: { id: string; timestamp: number; message: string; seq: number }[];
  timer: NodeJS.Timeout | undefined;
}

/** The CloudWatch Logs subscription payload (`awslogs.data`, decoded), as a Lambda destination receives it. */
export function awslogsEvent(input: { logGroup: string; logStream: string; filterName: string; events: readonly { id: string; timestamp: number; message: string }[] }) {
  const payload = {
    messageType: 'DATA_MESSAGE',
    owner: LOCAL_ACCOUNT_ID,
    logGroup: input.logGroup,
    logStream: input.logStream,
    subscriptionFilters: [input.filterName],
    logEvents: input.events.map(({ id, timestamp, message }) => ({ id, timestamp, message })),
  };
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(payload))).toString('base64') } };
}

export class LocalLogSubscriptions {
  private readonly subscriptions: (LogSubscription & { matches: LogEventMatcher })[] = [];
  private readonly pending = new Map<string, Pending>();
  /** Sequence numbers of the lines accepted and not yet delivered or dead-lettered. */
  private readonly unsettled = new Set<number>();
  private readonly waiters = new Set<() => void>();
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private nextSeq = 0;
  private stopped = false;
  readonly deadLetters: DeadLetteredLogBatch[] = [];

  constructor(private readonly options: LogSubscriptionsOptions = {}) {}

  /** Adds a subscription filter; its pattern must be one the local engine understands. */
  subscribe(subscription: LogSubscription): void {
    this.subscriptions.push({ ...subscription, matches: compileFilterPattern(subscription.filterPattern) });
  }

  /** The log sink: every line any function or gateway logs. */
  onLog(logGroup: string, line: string, logStream = `${logGroup}/default`): void {
    if (this.stopped) return;
    for (const subscription of this.subscriptions) {
      if (subscription.logGroup !== logGroup || !subscription.matches(line)) continue;
      const key = `${subscription.filterName}\u0000${logGroup}\u0000${logStream}`;
      let batch = this.pending.get(key);
      if (!batch) {
        batch = { subscription, logStream, events: [], timer: undefined };
        this.pending.set(key, batch);
      }
      const seq = this.nextSeq++;
      this.unsettled.add(seq);
      batch.events.push({ id: randomUUID(), timestamp: Date.now(), message: line, seq });
      if (batch.events.length >= (this.options.batchSize ?? 25)) this.send(key);
      else batch.timer ??= setTimeout(() => this.send(key), this.options.lingerMs ?? 25).unref();
    }
  }

  /**
   * Resolves once every line accepted before the call has been delivered (or dead-lettered): batches
   * still lingering go at once. Lines logged after the call are not waited for.
   */
  async delivered(): Promise<void> {
    const upTo = this.nextSeq;
    for (const key of [...this.pending.keys()]) this.send(key);
    const done = () => ![...this.unsettled].some((seq) => seq < upTo);
    while (!done()) await new Promise<void>((resolve) => this.waiters.add(resolve));
  }

  /** Stops accepting lines; retries still waiting give up at once (their batches are dead-lettered). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const batch of this.pending.values()) clearTimeout(batch.timer);
    this.pending.clear();
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.unsettled.clear();
    this.wake();
  }

  private send(key: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    clearTimeout(batch.timer);
    const { subscription, logStream, events } = batch;
    const event = awslogsEvent({ logGroup: subscription.logGroup, logStream, filterName: subscription.filterName, events });
    void retry(() => subscription.deliver(event), {
      retryable: () => !this.stopped,
      maxAttempts: this.options.maxAttempts ?? 5,
      baseDelayMs: this.options.baseDelayMs ?? 50,
      maxDelayMs: this.options.maxDelayMs ?? 2_000,
      sleep: (ms) => this.sleep(ms),
    })
      .catch((error: unknown) => {
        const deadLetter = {
          filterName: subscription.filterName,
          logGroup: subscription.logGroup,
          lines: events.length,
          error: error instanceof Error ? error.message : String(error),
        };
        this.deadLetters.push(deadLetter);
        this.options.onDeadLetter?.(deadLetter);
      })
      .finally(() => {
        for (const { seq } of events) this.unsettled.delete(seq);
        this.wake();
      });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleeping.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeping.add(sleeper);
    });
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}
