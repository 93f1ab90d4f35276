import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cellbookTable } from '@cellbook/local/aws/cellbook-table';
import { startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import { LOCAL_REGION } from '@cellbook/local/aws/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, releaseDocumentClient } from '../shared/dynamo.js';
import { addConsumedCapacity, meterConsumedCapacity } from './consumed-capacity.js';
import { RequestUsage, meter, requestUsageEvent, withRequestUsage } from './meter.js';
import { parseUsageEvent } from './usage-event.js';

describe('RequestUsage', () => {
  it('sums each dimension and rounds each total up to whole units once, at the end', () => {
    const usage = new RequestUsage();
    usage.add('readUnits', 0.5);
    usage.add('readUnits', 0.5);
    usage.add('readUnits', 0.5);
    usage.add('writeUnits', 1);
    usage.add('functionGbMs', 12.01);
    expect(usage.quantities()).toEqual({ readUnits: 2, writeUnits: 1, functionGbMs: 13 });
  });

  it('does not round a floating-point hair above a whole number up to the next unit', () => {
    const usage = new RequestUsage();
    // Twenty additions of 0.1 sum to 2.0000000000000004 in floating point.
    for (let i = 0; i < 20; i += 1) usage.add('readUnits', 0.1);
    expect(usage.quantities()).toEqual({ readUnits: 2 });
  });

  it('leaves out the dimensions nothing was consumed of', () => {
    const usage = new RequestUsage();
    usage.add('casesCreated', 0);
    expect(usage.quantities()).toEqual({});
  });

  it('refuses a negative or non-finite quantity', () => {
    const usage = new RequestUsage();
    expect(() => usage.add('readUnits', -1)).toThrow(RangeError);
    expect(() => usage.add('readUnits', Number.NaN)).toThrow(RangeError);
    expect(() => usage.add('readUnits', Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('meter', () => {
  it('adds to the accumulator of the request it runs in, across awaits', async () => {
    const usage = new RequestUsage();
    await withRequestUsage(usage, async () => {
      meter('casesCreated', 1);
      await new Promise((resolve) => setImmediate(resolve));
      meter('casesCreated', 1);
      meter('notesCreated', 1);
    });
    expect(usage.quantities()).toEqual({ casesCreated: 2, notesCreated: 1 });
  });

  it("keeps concurrent requests' usage apart", async () => {
    const [a, b] = [new RequestUsage(), new RequestUsage()];
    const run = (usage: RequestUsage, times: number) =>
      withRequestUsage(usage, async () => {
        for (let i = 0; i < times; i += 1) {
          meter('notesCreated', 1);
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    await Promise.all([run(a, 3), run(b, 5)]);
    expect([a.quantities(), b.quantities()]).toEqual([{ notesCreated: 3 }, { notesCreated: 5 }]);
  });

  it('does nothing outside a metered request (control-plane work, metering off)', () => {
    expect(() => meter('casesCreated', 1)).not.toThrow();
  });
});

describe('requestUsageEvent', () => {
  it('is a valid usage event keyed request:<API Gateway requestId>, counted in the hour the gateway received it', () => {
    const event = requestUsageEvent({
      tenant: { tenantId: 'acme-1a2b', cellId: 'cell-1', tier: 'standard', username: 'ann@example.com' },
      requestId: 'c0ffee00-1111-2222-3333-444455556666',
      route: 'POST /cases',
      status: 201,
      occurredAt: new Date('2026-12-03T13:59:59.999Z'),
      quantities: { apiRequests: 1, casesCreated: 1 },
    });
    expect(parseUsageEvent(event)).toEqual({ ok: true, event });
    expect(event).toMatchObject({
      idempotencyKey: 'request:c0ffee00-1111-2222-3333-444455556666',
      occurredAt: '2026-12-03T13:59:59.999Z',
      actor: 'ann@example.com',
      data: { kind: 'request', route: 'POST /cases', status: 201, quantities: { apiRequests: 1, casesCreated: 1 } },
    });
  });
});

describe('meterConsumedCapacity', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  const TableName = 'meter-test';
  /** Every low-level request's ReturnConsumedCapacity, as it leaves for DynamoDB. */
  const asked: unknown[] = [];

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    doc = meterConsumedCapacity(documentClient({ endpoint: dynamo.url, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
    doc.middlewareStack.add(
      (next) => async (args) => {
        asked.push((args.input as { ReturnConsumedCapacity?: unknown }).ReturnConsumedCapacity);
        return next(args);
      },
      { step: 'build', name: 'recordAsked' },
    );
    await doc.send(new CreateTableCommand(cellbookTable(TableName)));
  }, 60_000);

  afterAll(async () => {
    releaseDocumentClient(doc);
    await dynamo?.close();
  });

  it('counts what each call of a metered request consumed: reads as read units, writes as write units', async () => {
    const usage = new RequestUsage();
    await withRequestUsage(usage, async () => {
      await doc.send(new PutCommand({ TableName, Item: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE', body: 'x'.repeat(1500) } }));
      await doc.send(new UpdateCommand({ TableName, Key: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE' }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 1 } }));
      await doc.send(new GetCommand({ TableName, Key: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE' }, ConsistentRead: true }));
      await doc.send(new GetCommand({ TableName, Key: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE' } }));
      await doc.send(new QueryCommand({ TableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'TENANT#t-1#CASE#a' } }));
    });
    // Put 2 KB → 2 WCU, Update → 2 WCU; consistent Get → 1 RCU, eventual Get → 0.5, eventual Query → 0.5.
    expect(usage.quantities()).toEqual({ readUnits: 2, writeUnits: 4 });
  });

  it('counts batches by the tables they name', async () => {
    const usage = new RequestUsage();
    await withRequestUsage(usage, async () => {
      await doc.send(
        new BatchWriteCommand({
          RequestItems: { [TableName]: ['b', 'c', 'd'].map((id) => ({ PutRequest: { Item: { PK: `TENANT#t-1#CASE#${id}`, SK: 'CASE' } } })) },
        }),
      );
      await doc.send(
        new BatchGetCommand({ RequestItems: { [TableName]: { Keys: ['b', 'c'].map((id) => ({ PK: `TENANT#t-1#CASE#${id}`, SK: 'CASE' })), ConsistentRead: true } } }),
      );
    });
    expect(usage.quantities()).toEqual({ writeUnits: 3, readUnits: 2 });
  });

  it('leaves calls outside a metered request as they were: no ReturnConsumedCapacity asked', async () => {
    asked.length = 0;
    await doc.send(new GetCommand({ TableName, Key: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE' } }));
    await withRequestUsage(new RequestUsage(), () => doc.send(new GetCommand({ TableName, Key: { PK: 'TENANT#t-1#CASE#a', SK: 'CASE' } })));
    expect(asked).toEqual([undefined, 'TOTAL']);
  });
});

describe('addConsumedCapacity', () => {
  it("takes DynamoDB's own read and write split when it gives one (transactions)", () => {
    const usage = new RequestUsage();
    addConsumedCapacity(usage, 'write', [{ TableName: 'a', CapacityUnits: 6, ReadCapacityUnits: 2, WriteCapacityUnits: 4 }]);
    expect(usage.quantities()).toEqual({ readUnits: 2, writeUnits: 4 });
  });
});
