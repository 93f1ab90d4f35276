import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { describe, expect, it } from 'vitest';
import { handler } from './usage-ingest.js';

/** A delivery as CloudWatch Logs makes it: base64 of gzipped JSON. No ledger is reachable here: none of these may write. */
const delivery = (payload: Record<string, unknown>): CloudWatchLogsEvent => ({
  awslogs: { data: gzipSync(Buffer.from(JSON.stringify(payload))).toString('base64') },
});

const usageLine = JSON.stringify({ type: 'cellbook.usage', usage: { tenantId: 'acme-1a2b' } });

describe('control/usage-ingest', () => {
  it("answers CloudWatch's test message of a new subscription without reading anything", async () => {
    const summary = await handler(delivery({ messageType: 'CONTROL_MESSAGE', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [] }));
    expect(summary).toMatchObject({ cellId: null, counted: 0, refused: 0 });
  });

  it("refuses a delivery whose subscription is not a cell's usage subscription, whatever its lines say", async () => {
    for (const subscriptionFilters of [['audit'], [], [usageSubscriptionName('cell-1'), usageSubscriptionName('cell-2')]]) {
      const summary = await handler(
        delivery({ messageType: 'DATA_MESSAGE', logGroup: 'g', logStream: 's', subscriptionFilters, logEvents: [{ id: '1', timestamp: 0, message: usageLine }] }),
      );
      expect(summary, JSON.stringify(subscriptionFilters)).toMatchObject({ cellId: null, lines: 1, counted: 0, refused: 1 });
    }
  });

  it('refuses lines that are no usage, and writes nothing when nothing is left', async () => {
    const summary = await handler(
      delivery({
        messageType: 'DATA_MESSAGE',
        logGroup: 'g',
        logStream: 's',
        subscriptionFilters: [usageSubscriptionName('cell-1')],
        logEvents: [
          { id: '1', timestamp: 0, message: 'START RequestId: 1' },
          { id: '2', timestamp: 0, message: usageLine },
          { id: '3', timestamp: 0, message: JSON.stringify({ requestId: 'r', tenantId: '-', status: 401 }) },
        ],
      }),
    );
    expect(summary).toEqual({ cellId: 'cell-1', lines: 3, counted: 0, duplicates: 0, refused: 2, ignored: 1 });
  });

  it('throws on a delivery that is not a CloudWatch Logs payload (the subscription tries again, then dead-letters it)', async () => {
    await expect(handler({ awslogs: { data: Buffer.from('not gzip').toString('base64') } })).rejects.toThrow();
    await expect(handler(delivery({ logEvents: 'none' }))).rejects.toThrow();
  });
});
