import { DynamoDBClient, GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type * as Cell from '@cellbook/core/cells/cell';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import type { RoleSession } from '@cellbook/local/aws/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';
import { dynamoDbCall, signedRequest } from '../support/signed-request.js';

/**
 * The local AWS endpoints spoken to by a second, independent SigV4 client — `aws4` with plain
 * node:http, sharing no code with the AWS SDK — answer as they answer the SDK. The catalog here
 * places cell-2 in eu-west-1: a signature scoped to a region the catalog names is accepted like
 * one for us-east-1; one for a region it does not name, or a wrong signature, is refused.
 */
const CATALOG: readonly Cell.CellDefinition[] = [
  { cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 200 },
  { cellId: 'cell-2', placement: 'pooled', wave: 1, region: 'eu-west-1', capacity: 200 },
];

let env: TestPlatform;
let session: RoleSession;
let credentials: ReturnType<typeof sdkCredentials>;

beforeAll(async () => {
  env = await bootTestPlatform({ cells: CATALOG });
  session = env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin');
  credentials = sdkCredentials(session);
});
afterAll(() => env?.stop());

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

describe('DynamoDB through an independent SigV4 client', () => {
  it('lists the same tables as the SDK', async () => {
    const sdk = new DynamoDBClient({ region: 'us-east-1', endpoint: env.platform.endpoints.dynamodb, credentials });
    const expected = await sdk.send(new ListTablesCommand({}));
    sdk.destroy();
    const response = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'ListTables', '{}');
    expect(response.status, response.text).toBe(200);
    expect((response.json as { TableNames: string[] }).TableNames).toEqual(expected.TableNames);
  });

  it('stores an item the SDK then reads back unchanged', async () => {
    const tableName = env.platform.cells[0]!.tableName;
    const item = { PK: { S: 'PROBE#aws4' }, SK: { S: 'ITEM' }, count: { N: '3' }, tags: { SS: ['a', 'b'] }, note: { S: 'ünïcødé' } };
    const put = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'PutItem', JSON.stringify({ TableName: tableName, Item: item }));
    expect(put.status, put.text).toBe(200);
    expect(put.json).toEqual({});
    const sdk = new DynamoDBClient({ region: 'us-east-1', endpoint: env.platform.endpoints.dynamodb, credentials });
    const read = await sdk.send(new GetItemCommand({ TableName: tableName, Key: { PK: item.PK, SK: item.SK } }));
    sdk.destroy();
    expect(read.Item).toEqual(item);
    const get = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'GetItem', JSON.stringify({ TableName: tableName, Key: { PK: item.PK, SK: item.SK } }));
    expect(get.json).toEqual({ Item: item });
  });

  it('answers an unknown table with the error the SDK gets', async () => {
    const response = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'GetItem', JSON.stringify({ TableName: 'no-such-table', Key: { PK: { S: 'x' } } }));
    const sdk = new DynamoDBClient({ region: 'us-east-1', endpoint: env.platform.endpoints.dynamodb, credentials });
    const sdkError = await sdk.send(new GetItemCommand({ TableName: 'no-such-table', Key: { PK: { S: 'x' } } })).catch((error: unknown) => error as Error);
    sdk.destroy();
    expect(response.status).toBe(400);
    expect((response.json as { __type: string }).__type).toMatch(/ResourceNotFoundException$/);
    expect((sdkError as Error).name).toBe('ResourceNotFoundException');
  });
});

describe('STS through an independent SigV4 client', () => {
  it('reports the same caller identity as the SDK', async () => {
    const sdk = new STSClient({ region: 'us-east-1', endpoint: env.platform.endpoints.sts, credentials });
    const expected = await sdk.send(new GetCallerIdentityCommand({}));
    sdk.destroy();
    const response = await signedRequest(env.platform.endpoints.sts, session, {
      service: 'sts',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status, response.text).toBe(200);
    expect({ Arn: xmlField(response.text, 'Arn'), UserId: xmlField(response.text, 'UserId'), Account: xmlField(response.text, 'Account') }).toEqual({
      Arn: expected.Arn,
      UserId: expected.UserId,
      Account: expected.Account,
    });
  });
});

describe('EventBridge through an independent SigV4 client', () => {
  it('accepts an event as it accepts the SDK’s, and delivers it', async () => {
    const delivered: unknown[] = [];
    env.platform.eventBus.service.putRule({
      name: 'aws4-probe',
      eventBusName: env.platform.eventBus.name,
      eventPattern: { source: ['probe.aws4', 'probe.sdk'] },
      targets: [{ id: 'probe', deliver: async (event) => void delivered.push(event) }],
    });
    const entry = (source: string) => ({ EventBusName: env.platform.eventBus.name, Source: source, DetailType: 'Probe', Detail: JSON.stringify({ n: 1 }) });
    const sdk = new EventBridgeClient({ region: 'us-east-1', endpoint: env.platform.endpoints.eventBridge, credentials });
    const expected = await sdk.send(new PutEventsCommand({ Entries: [entry('probe.sdk')] }));
    sdk.destroy();
    const response = await signedRequest(env.platform.endpoints.eventBridge, session, {
      service: 'events',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: JSON.stringify({ Entries: [entry('probe.aws4')] }),
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ FailedEntryCount: expected.FailedEntryCount, Entries: [{ EventId: expect.any(String) }] });
    expect(expected.Entries).toEqual([{ EventId: expect.any(String) }]);
    await env.platform.eventBus.service.drain();
    expect(delivered.map((event) => (event as { source: string }).source).sort()).toEqual(['probe.aws4', 'probe.sdk']);
    env.platform.eventBus.service.removeRule('aws4-probe', env.platform.eventBus.name);
  });
});

describe('signature regions and wrong signatures', () => {
  const listTables = (region: string, signer = session) => dynamoDbCall(env.platform.endpoints.dynamodb, signer, 'ListTables', '{}', region);

  it('accepts a signature scoped to any region the catalog names', async () => {
    for (const region of new Set(CATALOG.map((cell) => cell.region))) {
      const response = await listTables(region);
      expect(response.status, `${region}: ${response.text}`).toBe(200);
    }
    const sts = await signedRequest(env.platform.endpoints.sts, session, {
      service: 'sts',
      region: 'eu-west-1',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(sts.status, sts.text).toBe(200);
  });

  it('refuses a signature scoped to a region the catalog does not name', async () => {
    const response = await listTables('ap-south-1');
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ __type: expect.stringMatching(/InvalidSignatureException$/) });
  });

  it('refuses a wrong signature in every region, named or not', async () => {
    const last = session.secretAccessKey.slice(-1);
    const forged = { ...session, secretAccessKey: `${session.secretAccessKey.slice(0, -1)}${last === 'x' ? 'y' : 'x'}` };
    for (const region of ['us-east-1', 'eu-west-1']) {
      const response = await listTables(region, forged);
      expect(response.status, response.text).toBe(400);
      expect(response.json).toMatchObject({ __type: expect.stringMatching(/InvalidSignatureException$/) });
    }
  });
});
