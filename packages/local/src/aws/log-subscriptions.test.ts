import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LocalLogSubscriptions } from './log-subscriptions.js';

interface Payload {
  messageType: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: { id: string; timestamp: number; message: string }[];
}

const decode = (event: { awslogs: { data: string } }): Payload => JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as Payload;
const usage = (n: number) => JSON.stringify({ type: 'cellbook.usage', n });

/** A destination that records what it was given, and fails the first `failures` deliveries. */
function destination(failures = 0) {
  const received: Payload[] = [];
  let attempts = 0;
  return {
    received,
    attempts: () => attempts,
    deliver: async (event: { awslogs: { data: string } }) => {
      attempts += 1;
      if (attempts <= failures) throw new Error(`delivery ${attempts} failed`);
      received.push(decode(event));
    },
  };
}

describe('LocalLogSubscriptions', () => {
  it("delivers the matching lines of the subscribed group, in small batches, as CloudWatch's awslogs event", async () => {
    const subscriptions = new LocalLogSubscriptions({ batchSize: 3, lingerMs: 10_000 });
    const target = destination();
    subscriptions.subscribe({ filterName: 'cellbook-usage-cell-1', logGroup: 'cell-1-api', filterPattern: '{ $.type = "cellbook.usage" }', deliver: target.deliver });
    for (let n = 0; n < 7; n += 1) subscriptions.onLog('cell-1-api', usage(n), 'stream-a');
    subscriptions.onLog('cell-1-api', '{"level":"INFO","message":"not usage"}', 'stream-a');
    subscriptions.onLog('cell-2-api', usage(99), 'stream-a');
    // The long linger holds the last line back: waiting for delivery sends it at once.
    await subscriptions.delivered();
    expect(target.received.map((payload) => payload.logEvents.length)).toEqual([3, 3, 1]);
    expect(target.received[0]).toMatchObject({ messageType: 'DATA_MESSAGE', logGroup: 'cell-1-api', logStream: 'stream-a', subscriptionFilters: ['cellbook-usage-cell-1'] });
    expect(target.received.flatMap((payload) => payload.logEvents.map((event) => JSON.parse(event.message).n))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await subscriptions.stop();
  });

  it('retries a failed delivery with back-off until it goes through, and waits for it', async () => {
    const subscriptions = new LocalLogSubscriptions({ baseDelayMs: 1, maxDelayMs: 5 });
    const target = destination(2);
    subscriptions.subscribe({ filterName: 'f', logGroup: 'g', filterPattern: '', deliver: target.deliver });
    subscriptions.onLog('g', usage(1));
    await subscriptions.delivered();
    expect(target.attempts()).toBe(3);
    expect(target.received).toHaveLength(1);
    expect(subscriptions.deadLetters).toEqual([]);
    await subscriptions.stop();
  });

  it('dead-letters a batch that failed every attempt, and says so', async () => {
    const told: unknown[] = [];
    const subscriptions = new LocalLogSubscriptions({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, onDeadLetter: (batch) => told.push(batch) });
    const target = destination(Number.POSITIVE_INFINITY);
    subscriptions.subscribe({ filterName: 'f', logGroup: 'g', filterPattern: '', deliver: target.deliver });
    subscriptions.onLog('g', usage(1));
    subscriptions.onLog('g', usage(2));
    await subscriptions.delivered();
    expect(target.attempts()).toBe(3);
    expect(subscriptions.deadLetters).toEqual([{ filterName: 'f', logGroup: 'g', lines: 2, error: 'delivery 3 failed' }]);
    expect(told).toEqual(subscriptions.deadLetters);
    await subscriptions.stop();
  });
});
