import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellbookTable } from './cellbook-table.js';
import { ADMIN_ROLE, TABLE, adminRole } from './cell-roles.fixture.js';
import { createDynamoDbEndpoint, startLocalDynamo, type LocalDynamo } from './dynamodb-endpoint.js';
import { LocalIam, sdkCredentials } from './local-iam.js';
import { rejection } from './sdk-rejection.fixture.js';

const iam = new LocalIam();
let server: Server;
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  iam.createRole(adminRole);
  dynamo = await startLocalDynamo();
  server = createServer(createDynamoDbEndpoint({ iam, upstream: dynamo.url, emulateTransactions: true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: sdkCredentials(iam.issueRoleSession(ADMIN_ROLE, 'operator')),
    maxAttempts: 1,
  });
  await client.send(new CreateTableCommand(cellbookTable(TABLE)));
  doc = DynamoDBDocumentClient.from(client);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dynamo.close();
});

const get = async (PK: string) => (await doc.send(new GetCommand({ TableName: TABLE, Key: { PK, SK: 'X' }, ConsistentRead: true }))).Item;

describe('TransactWriteItems on dynalite (emulated by the endpoint)', () => {
  it('applies every operation when every condition holds', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'ok-counter', SK: 'X', n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'ok-gone', SK: 'X' } }));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { PK: 'ok-new', SK: 'X', v: 'a' }, ConditionExpression: 'attribute_not_exists(PK)' } },
          { Update: { TableName: TABLE, Key: { PK: 'ok-counter', SK: 'X' }, UpdateExpression: 'ADD n :two', ExpressionAttributeValues: { ':two': 2 } } },
          { Delete: { TableName: TABLE, Key: { PK: 'ok-gone', SK: 'X' } } },
          { ConditionCheck: { TableName: TABLE, Key: { PK: 'ok-absent', SK: 'X' }, ConditionExpression: 'attribute_not_exists(PK)' } },
        ],
      }),
    );
    expect(await get('ok-new')).toEqual({ PK: 'ok-new', SK: 'X', v: 'a' });
    expect(await get('ok-counter')).toEqual({ PK: 'ok-counter', SK: 'X', n: 3 });
    expect(await get('ok-gone')).toBeUndefined();
    expect(await get('ok-absent')).toBeUndefined();
  });

  it('applies nothing when one condition fails, and names every failed condition', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'no-seen', SK: 'X' } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'no-counter', SK: 'X', n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'no-kept', SK: 'X', v: 'old' } }));
    const error = await rejection(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: { TableName: TABLE, Key: { PK: 'no-counter', SK: 'X' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } } },
            { Put: { TableName: TABLE, Item: { PK: 'no-kept', SK: 'X', v: 'new' } } },
            { Put: { TableName: TABLE, Item: { PK: 'no-fresh', SK: 'X' } } },
            { Put: { TableName: TABLE, Item: { PK: 'no-seen', SK: 'X' }, ConditionExpression: 'attribute_not_exists(PK)' } },
            { ConditionCheck: { TableName: TABLE, Key: { PK: 'no-absent', SK: 'X' }, ConditionExpression: 'attribute_exists(PK)' } },
          ],
        }),
      ),
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'None',
      'None',
      'None',
      'ConditionalCheckFailed',
      'ConditionalCheckFailed',
    ]);
    expect(await get('no-counter')).toEqual({ PK: 'no-counter', SK: 'X', n: 1 });
    expect(await get('no-kept')).toEqual({ PK: 'no-kept', SK: 'X', v: 'old' });
    expect(await get('no-fresh')).toBeUndefined();
    expect(await get('no-absent')).toBeUndefined();
  });

  it('refuses two operations on one item, as DynamoDB does', async () => {
    const error = await rejection(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: TABLE, Item: { PK: 'twice', SK: 'X' } } }, { Delete: { TableName: TABLE, Key: { PK: 'twice', SK: 'X' } } }],
        }),
      ),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe('Transaction request cannot include multiple operations on one item');
    expect(await get('twice')).toBeUndefined();
  });

  it('lets no single write slip between a transaction’s operations', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'race', SK: 'X', n: 0 } }));
    const adds = (n: number) =>
      Array.from({ length: n }, () =>
        doc.send(new UpdateCommand({ TableName: TABLE, Key: { PK: 'race', SK: 'X' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } })),
      );
    const failing = rejection(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: { TableName: TABLE, Key: { PK: 'race', SK: 'X' }, UpdateExpression: 'ADD n :hundred', ExpressionAttributeValues: { ':hundred': 100 } } },
            { ConditionCheck: { TableName: TABLE, Key: { PK: 'race-absent', SK: 'X' }, ConditionExpression: 'attribute_exists(PK)' } },
          ],
        }),
      ),
    );
    // Single writes sent before and after the transaction: the undo restores the image it read, so
    // one landing in between would be erased by it.
    await Promise.all([...adds(20), failing, ...adds(20)]);
    expect(await get('race')).toEqual({ PK: 'race', SK: 'X', n: 40 });
  });
});

describe('TransactWriteItems with an item the table refuses', () => {
  it('cancels the transaction with that item’s ValidationError and applies nothing', async () => {
    const error = await rejection(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { PK: 'big-ok', SK: 'X' } } },
            { Put: { TableName: TABLE, Item: { PK: 'big', SK: 'X', blob: 'x'.repeat(410 * 1024) } } },
          ],
        }),
      ),
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual(['None', 'ValidationError']);
    expect(await get('big-ok')).toBeUndefined();
  });
});
