import { createServer, type RequestListener as NodeRequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellbookTable } from './cellbook-table.js';
import { ADMIN_ROLE, API_ROLE, TABLE, TABLE_ARN, TENANT_ROLE, adminRole, apiRole, tenantAccessRole } from './cell-roles.fixture.js';
import { createDynamoDbEndpoint, startLocalDynamo, type LocalDynamo } from './dynamodb-endpoint.js';
import { LocalIam, sdkCredentials } from './local-iam.js';
import { rejection } from './sdk-rejection.fixture.js';
import { createStsEndpoint } from './sts-endpoint.js';

const TENANT_1_ARN = 'arn:aws:sts::000000000000:assumed-role/cell-1-tenant-access/tenant-t-1';

/** Moves the platform's clock; clients sign with the same offset, as a real client would see time pass. */
let clockOffsetMs = 0;
const iam = new LocalIam({ now: () => Date.now() + clockOffsetMs });
const servers: Server[] = [];
let dynamo: LocalDynamo;
let endpoint: string;
let tenant1: DynamoDBDocumentClient;
let tenant1Credentials: ReturnType<typeof sdkCredentials>;
let admin: DynamoDBClient;

async function listen(listener: NodeRequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function dynamoClient(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }, systemClockOffset = 0): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1, systemClockOffset });
}

/** A raw signed call, for assertions on the exact bytes DynamoDB would send back. */
async function rawCall(operation: string, body: unknown, credentials = tenant1Credentials): Promise<Response> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 'dynamodb', region: 'us-east-1', sha256: Sha256, credentials });
  const request = await signer.sign(
    new HttpRequest({
      method: 'POST',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` },
      body: JSON.stringify(body),
    }),
  );
  return fetch(endpoint, { method: 'POST', headers: request.headers, body: request.body as string });
}

beforeAll(async () => {
  for (const role of [apiRole, tenantAccessRole(), adminRole]) iam.createRole(role);

  dynamo = await startLocalDynamo();
  endpoint = await listen(createDynamoDbEndpoint({ iam, upstream: dynamo.url }));
  const stsEndpoint = await listen(createStsEndpoint(iam));

  admin = dynamoClient(sdkCredentials(iam.issueRoleSession(ADMIN_ROLE, 'operator')));
  await admin.send(new CreateTableCommand(cellbookTable(TABLE)));

  // The data-plane path: the function's execution role assumes the tenant role with a session tag.
  const sts = new STSClient({ endpoint: stsEndpoint, region: 'us-east-1', credentials: sdkCredentials(iam.issueRoleSession(API_ROLE, 'lambda')) });
  const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: TENANT_ROLE, RoleSessionName: 'tenant-t-1', Tags: [{ Key: 'TenantId', Value: 't-1' }] }));
  tenant1Credentials = {
    accessKeyId: Credentials?.AccessKeyId ?? '',
    secretAccessKey: Credentials?.SecretAccessKey ?? '',
    sessionToken: Credentials?.SessionToken ?? '',
    expiration: Credentials?.Expiration ?? new Date(0),
  };
  tenant1 = DynamoDBDocumentClient.from(dynamoClient(tenant1Credentials));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeIdleConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }
  await dynamo?.close();
});

const caseItem = (tenant: string, caseId: string) => ({
  PK: `TENANT#${tenant}#CASE#${caseId}`,
  SK: 'CASE',
  GSI1PK: `TENANT#${tenant}#CASES`,
  GSI1SK: `OPEN#2025-06-01T00:00:00Z#${caseId}`,
  title: `case ${caseId}`,
});

describe('DynamoDB endpoint: a tenant session', () => {
  it('puts, gets and queries its own items end to end', async () => {
    await tenant1.send(new PutCommand({ TableName: TABLE, Item: caseItem('t-1', 'x') }));

    const { Item } = await tenant1.send(new GetCommand({ TableName: TABLE, Key: { PK: 'TENANT#t-1#CASE#x', SK: 'CASE' } }));
    expect(Item).toEqual(caseItem('t-1', 'x'));

    const byPartition = await tenant1.send(
      new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'TENANT#t-1#CASE#x' } }),
    );
    expect(byPartition.Items).toEqual([caseItem('t-1', 'x')]);

    const listing = await tenant1.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'GSI1',
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :open)',
        ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'GSI1SK' },
        ExpressionAttributeValues: { ':pk': 'TENANT#t-1#CASES', ':open': 'OPEN#' },
      }),
    );
    expect(listing.Items?.map((item) => item.PK)).toEqual(['TENANT#t-1#CASE#x']);
  });

  it('denies t-1 a key of t-10 with DynamoDB’s AccessDeniedException', async () => {
    const error = await rejection(tenant1.send(new GetCommand({ TableName: TABLE, Key: { PK: 'TENANT#t-10#CASE#x', SK: 'CASE' } })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe(
      `User: ${TENANT_1_ARN} is not authorized to perform: dynamodb:GetItem on resource: ${TABLE_ARN} because no identity-based policy allows the dynamodb:GetItem action`,
    );
  });

  it('answers a denial with DynamoDB’s exact error document', async () => {
    const response = await rawCall('GetItem', { TableName: TABLE, Key: { PK: { S: 'TENANT#t-10#CASE#x' }, SK: { S: 'CASE' } } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[A-Z0-9]{52}$/);
    expect(await response.json()).toEqual({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      Message: `User: ${TENANT_1_ARN} is not authorized to perform: dynamodb:GetItem on resource: ${TABLE_ARN} because no identity-based policy allows the dynamodb:GetItem action`,
    });
  });

  it.each([
    ['a Key with an extra __proto__ member', 'GetItem', '{"TableName":"%T","Key":{"PK":{"S":"TENANT#t-1#CASE#x"},"SK":{"S":"CASE"},"__proto__":{"S":"x"}}}', 'Key.__proto__'],
    ['an Item attribute named __proto__', 'PutItem', '{"TableName":"%T","Item":{"PK":{"S":"TENANT#t-1#CASE#p"},"SK":{"S":"CASE"},"__proto__":{"S":"x"}}}', 'Item.__proto__'],
    [
      'an ExclusiveStartKey with an extra __proto__ member',
      'Query',
      '{"TableName":"%T","KeyConditionExpression":"PK = :pk","ExpressionAttributeValues":{":pk":{"S":"TENANT#t-1#CASE#x"}},"ExclusiveStartKey":{"PK":{"S":"TENANT#t-1#CASE#x"},"SK":{"S":"CASE"},"__proto__":{"S":"x"}}}',
      'ExclusiveStartKey.__proto__',
    ],
    [
      'a __proto__ inside a map value',
      'PutItem',
      '{"TableName":"%T","Item":{"PK":{"S":"TENANT#t-1#CASE#p"},"SK":{"S":"CASE"},"meta":{"M":{"__proto__":{"S":"x"}}}}}',
      'Item.meta.M.__proto__',
    ],
    [
      'a __proto__ in ExpressionAttributeValues',
      'Query',
      '{"TableName":"%T","KeyConditionExpression":"PK = :pk","ExpressionAttributeValues":{":pk":{"S":"TENANT#t-1#CASE#x"},"__proto__":{"S":"x"}}}',
      'ExpressionAttributeValues.__proto__',
    ],
  ])('refuses %s with a ValidationException naming it, and stores nothing', async (_label, operation, json, at) => {
    const response = await rawCall(operation, JSON.parse(json.replace('%T', TABLE)));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ __type: 'com.amazon.coral.validate#ValidationException', message: expect.stringContaining(`"__proto__" (at ${at})`) });
    const { Item } = await tenant1.send(new GetCommand({ TableName: TABLE, Key: { PK: 'TENANT#t-1#CASE#p', SK: 'CASE' } }));
    expect(Item).toBeUndefined();
  });

  it('passes an allowed call through with the storage engine’s own response', async () => {
    const response = await rawCall('GetItem', { TableName: TABLE, Key: { PK: { S: 'TENANT#t-1#CASE#none' }, SK: { S: 'CASE' } } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-amz-crc32')).toMatch(/^\d+$/);
    expect(await response.json()).toEqual({});
  });

  it('denies writing an item of t-2', async () => {
    const error = await rejection(tenant1.send(new PutCommand({ TableName: TABLE, Item: caseItem('t-2', 'y') })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain('dynamodb:PutItem');
  });

  it('denies querying the listing of t-2', async () => {
    const error = await rejection(
      tenant1.send(
        new QueryCommand({ TableName: TABLE, IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': 'TENANT#t-2#CASES' } }),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(`on resource: ${TABLE_ARN}/index/GSI1 `);
  });

  it('denies a Scan', async () => {
    const error = await rejection(tenant1.send(new ScanCommand({ TableName: TABLE })));
    expect(error.name).toBe('AccessDeniedException');
  });

  it('denies a BatchGetItem mixing t-1 and t-2, and allows its own batch', async () => {
    const own = { PK: 'TENANT#t-1#CASE#x', SK: 'CASE' };
    const mixed = await rejection(tenant1.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: [own, { PK: 'TENANT#t-2#CASE#y', SK: 'CASE' }] } } })));
    expect(mixed.name).toBe('AccessDeniedException');
    expect(mixed.message).toContain('dynamodb:BatchGetItem');

    const { Responses } = await tenant1.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: [own] } } }));
    expect(Responses?.[TABLE]).toEqual([caseItem('t-1', 'x')]);
  });

  it('denies a transaction that touches another tenant before it reaches storage', async () => {
    const error = await rejection(
      tenant1.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: TABLE, Item: caseItem('t-1', 'z') } }, { Put: { TableName: TABLE, Item: caseItem('t-2', 'z') } }],
        }),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain('dynamodb:PutItem');
  });

  it('denies table management', async () => {
    const describe = await rejection(tenant1.send(new DescribeTableCommand({ TableName: TABLE })));
    expect(describe.name).toBe('AccessDeniedException');
    const list = await rejection(tenant1.send(new ListTablesCommand({})));
    expect(list.message).toBe(
      `User: ${TENANT_1_ARN} is not authorized to perform: dynamodb:ListTables on resource: arn:aws:dynamodb:us-east-1:000000000000:table/* because no identity-based policy allows the dynamodb:ListTables action`,
    );
  });
});

describe('DynamoDB endpoint: authentication', () => {
  it('rejects an unsigned request', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan' },
      body: JSON.stringify({ TableName: TABLE }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });

  it('rejects a signature made with the wrong secret', async () => {
    const client = dynamoClient({ ...tenant1Credentials, secretAccessKey: 'wrong-secret' });
    const error = await rejection(client.send(new ScanCommand({ TableName: TABLE })));
    expect(error.name).toBe('InvalidSignatureException');
  });

  it('rejects an access key it never issued', async () => {
    const client = dynamoClient({ accessKeyId: 'ASIAUNKNOWNUNKNOWN00', secretAccessKey: 'x', sessionToken: 'y' });
    const error = await rejection(client.send(new ScanCommand({ TableName: TABLE })));
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.message).toBe('The security token included in the request is invalid.');
  });

  it('rejects an expired session', async () => {
    const twoHours = 2 * 3600_000;
    clockOffsetMs = twoHours;
    try {
      const client = DynamoDBDocumentClient.from(dynamoClient(tenant1Credentials, twoHours));
      const error = await rejection(client.send(new GetCommand({ TableName: TABLE, Key: { PK: 'TENANT#t-1#CASE#x', SK: 'CASE' } })));
      expect(error.name).toBe('ExpiredTokenException');
      expect(error.message).toBe('The security token included in the request is expired');
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('DynamoDB endpoint: an admin role with Action *', () => {
  it('creates, describes and lists tables', async () => {
    await admin.send(
      new CreateTableCommand({
        TableName: 'scratch',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const { Table } = await admin.send(new DescribeTableCommand({ TableName: 'scratch' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    const { TableNames } = await admin.send(new ListTablesCommand({}));
    expect(TableNames).toEqual([TABLE, 'scratch']);
  });
});

describe('the connection to the storage engine', () => {
  it('sends a call again on a fresh connection when the storage engine dropped the idle one it reused', async () => {
    // A storage engine that answers the first request of each connection and drops the connection
    // when a second one arrives on it (as a server does whose keep-alive timeout just ran out).
    const connections: number[] = [];
    const storage = createServer((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      req.resume();
      if (socket.served > 1) {
        socket.destroy();
        return;
      }
      connections.push(1);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ TableNames: ['cellbook-cell-1'] }));
    });
    servers.push(storage);
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const flaky = await listen(createDynamoDbEndpoint({ iam, upstream: `http://127.0.0.1:${(storage.address() as AddressInfo).port}` }));
    const client = new DynamoDBClient({ endpoint: flaky, region: 'us-east-1', credentials: sdkCredentials(iam.issueRoleSession(ADMIN_ROLE, 'operator')), maxAttempts: 1 });
    try {
      for (let call = 0; call < 3; call++) expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(['cellbook-cell-1']);
      expect(connections.length).toBe(3);
    } finally {
      client.destroy();
    }
  });
});
