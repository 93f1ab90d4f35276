import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellbookTable } from './cellbook-table.js';
import { startLocalDynamo, type LocalDynamo } from './dynamodb-endpoint.js';
import { startDynamoDbLocal } from './dynamodb-local.js';

// dynalite always; AWS's DynamoDB Local too when the run opts in (CELLBOOK_DYNAMODB=dynamodb-local).
const engines: [string, () => Promise<LocalDynamo>][] = [['dynalite', () => startLocalDynamo()]];
if (process.env.CELLBOOK_DYNAMODB === 'dynamodb-local') engines.push(['DynamoDB Local', () => startDynamoDbLocal()]);

describe.each(engines)('the local storage engine (%s), like DynamoDB', (_name, start) => {
  let storage: LocalDynamo;
  let db: DynamoDBClient;
  const TableName = 'cellbook-storage-drift';

  beforeAll(async () => {
    storage = await start();
    db = new DynamoDBClient({ endpoint: storage.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await db.send(new CreateTableCommand(cellbookTable(TableName)));
  });
  afterAll(async () => {
    db?.destroy();
    await storage?.close();
  });

  const item = (sk: string, extra: Record<string, { S: string }>) => ({ PK: { S: 'TENANT#t#CASE#1' }, SK: { S: sk }, ...extra });
  const stored = async (sk: string) => (await db.send(new GetItemCommand({ TableName, Key: { PK: { S: 'TENANT#t#CASE#1' }, SK: { S: sk } }, ConsistentRead: true }))).Item;
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: { name?: string; message?: string }) => ({ name: error.name, message: error.message }),
    );

  it('refuses an item whose secondary index key is an empty string, in a put or a batch put, and stores nothing', async () => {
    for (const [sk, keys] of [
      ['empty-pk', { GSI1PK: { S: '' }, GSI1SK: { S: 'x' } }],
      ['empty-sk', { GSI1PK: { S: 'x' }, GSI1SK: { S: '' } }],
    ] as const) {
      const attribute = keys.GSI1PK.S === '' ? 'GSI1PK' : 'GSI1SK';
      const message = expect.stringContaining(`cannot contain an empty string value. IndexName: GSI1, IndexKey: ${attribute}`);
      expect(await refusal(db.send(new PutItemCommand({ TableName, Item: item(sk, keys) })))).toEqual({ name: 'ValidationException', message });
      expect(await refusal(db.send(new BatchWriteItemCommand({ RequestItems: { [TableName]: [{ PutRequest: { Item: item(sk, keys) } }] } })))).toEqual({
        name: 'ValidationException',
        message,
      });
      expect(await stored(sk)).toBeUndefined();
    }
  });

  it('refuses an update that empties a secondary index key, and leaves the item as it was', async () => {
    await db.send(new PutItemCommand({ TableName, Item: item('listed', { GSI1PK: { S: 'LISTING' }, GSI1SK: { S: 'OPEN#1' } }) }));
    const update = new UpdateItemCommand({
      TableName,
      Key: { PK: { S: 'TENANT#t#CASE#1' }, SK: { S: 'listed' } },
      UpdateExpression: 'SET GSI1PK = :empty',
      ExpressionAttributeValues: { ':empty': { S: '' } },
    });
    expect(await refusal(db.send(update))).toEqual({
      name: 'ValidationException',
      message: expect.stringContaining('attempted to update a secondary index key to a value that is not supported'),
    });
    expect((await stored('listed'))?.GSI1PK).toEqual({ S: 'LISTING' });
  });

  it('accepts an empty string outside table and index keys', async () => {
    await db.send(new PutItemCommand({ TableName, Item: item('plain', { note: { S: '' } }) }));
    expect((await stored('plain'))?.note).toEqual({ S: '' });
  });
});

describe('the local storage engine (dynalite) settles table changes before it answers', () => {
  let storage: LocalDynamo;
  let db: DynamoDBClient;
  beforeAll(async () => {
    storage = await startLocalDynamo();
    db = new DynamoDBClient({ endpoint: storage.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    db?.destroy();
    await storage?.close();
  });

  // Nothing local polls for ACTIVE (DynamoDB's callers do): a request right behind CreateTable must
  // find the table ready, and one right behind DeleteTable must find it gone, every time.
  it('answers CreateTable once the table is ACTIVE, and DeleteTable once it is gone', async () => {
    for (let i = 0; i < 50; i++) {
      const TableName = `settle-${i}`;
      await db.send(new CreateTableCommand(cellbookTable(TableName)));
      expect((await db.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus, TableName).toBe('ACTIVE');
      await db.send(new PutItemCommand({ TableName, Item: { PK: { S: 'TENANT#t' }, SK: { S: 'META' } } }));
      await db.send(new DeleteTableCommand({ TableName }));
      await expect(db.send(new DescribeTableCommand({ TableName })), TableName).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }
  });
});
