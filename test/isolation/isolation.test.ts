import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import * as Keys from '@cellbook/core/keys/keys';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { newId } from '@cellbook/core/shared/ids';
import { TenantTableProvider } from '@cellbook/core/tenancy/tenant-table';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';
import { onboardNeighbours } from './neighbours.fixture.js';

let env: TestPlatform;
let alice: TestTenant;
/** Same cell as alice: the case that matters, since cells share nothing anyway. */
let bob: TestTenant;
/** In the other cell. */
let carol: TestTenant;
let bobCaseId: string;

beforeAll(async () => {
  env = await bootTestPlatform();
  ({ alice, bob, carol } = await onboardNeighbours(env, 'premium'));
  const opened = await bob.call('POST', '/cases', { body: { title: 'Bob’s secret', priority: 'high' } });
  bobCaseId = opened.body.caseId;
});
afterAll(() => env?.stop());

async function bobStillHasExactlyHisCase() {
  const list = await bob.call('GET', '/cases');
  expect(list.body.items.map((item: { caseId: string; title: string }) => [item.caseId, item.title])).toEqual([[bobCaseId, 'Bob’s secret']]);
}

describe('tenant isolation over HTTP', () => {
  it('answers 404 — not 403 — when a tenant reads another tenant’s case by id in the same cell', async () => {
    const response = await alice.call('GET', `/cases/${bobCaseId}`);
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('CASE_NOT_FOUND');
    expect(JSON.stringify(response.body)).not.toContain('secret');
  });

  it('answers 404 when a tenant in another cell asks for the case', async () => {
    expect((await carol.call('GET', `/cases/${bobCaseId}`)).status).toBe(404);
  });

  it('answers 404 for updating or annotating another tenant’s case, and changes nothing', async () => {
    expect((await alice.call('PATCH', `/cases/${bobCaseId}`, { body: { title: 'pwned' } })).status).toBe(404);
    expect((await alice.call('POST', `/cases/${bobCaseId}/notes`, { body: { body: 'pwned' } })).status).toBe(404);
    expect((await alice.call('GET', `/cases/${bobCaseId}/notes`)).status).toBe(404);
    expect((await bob.call('GET', `/cases/${bobCaseId}/notes`)).body.items).toEqual([]);
    await bobStillHasExactlyHisCase();
  });

  it('ignores a tenant id in a header: the token’s tenant is the only tenant', async () => {
    const headers = { 'x-tenant-id': bob.tenantId, 'tenant-id': bob.tenantId, 'x-cellbook-tenant': bob.tenantId };
    const me = await alice.call('GET', '/me', { headers });
    expect(me.body.tenantId).toBe(alice.tenantId);
    const created = await alice.call('POST', '/cases', { headers, body: { title: 'mine', priority: 'low' } });
    expect(created.status).toBe(201);
    expect((await alice.call('GET', `/cases/${created.body.caseId}`)).status).toBe(200);
    expect((await bob.call('GET', `/cases/${created.body.caseId}`)).status).toBe(404);
    await bobStillHasExactlyHisCase();
  });

  it('refuses a tenant id in the body as an unknown field and writes nothing for anyone', async () => {
    const before = (await alice.call('GET', '/me')).body.usage.activeCases;
    const response = await alice.call('POST', '/cases', { body: { title: 'x', priority: 'low', tenantId: bob.tenantId } });
    expect(response.status).toBe(422);
    expect(response.body.error.details).toEqual([{ path: '(body)', message: 'Unknown field(s): tenantId' }]);
    expect((await alice.call('GET', '/me')).body.usage.activeCases).toBe(before);
    await bobStillHasExactlyHisCase();
  });

  it('refuses a tenant id in the query and never lists another tenant’s cases', async () => {
    const response = await alice.call('GET', `/cases?tenantId=${bob.tenantId}`);
    expect(response.status).toBe(422);
    const own = await alice.call('GET', '/cases');
    expect(own.body.items.map((item: { caseId: string }) => item.caseId)).not.toContain(bobCaseId);
  });

  it('rejects a pagination cursor crafted for another tenant’s listing with 400', async () => {
    const forged = Buffer.from(
      JSON.stringify({
        v: 1,
        k: { ...Keys.caseKey(bob.tenantId, bobCaseId), ...Keys.caseListingKey(bob.tenantId, 'OPEN', '2026-01-01T00:00:00.000Z', bobCaseId) },
      }),
    ).toString('base64url');
    const response = await alice.call('GET', `/cases?cursor=${forged}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_CURSOR');
  });
});

describe('authentication at the gateway', () => {
  async function claimsOf(token: string): Promise<Record<string, unknown>> {
    const { iss: _iss, iat: _iat, exp: _exp, jti: _jti, ...claims } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return claims;
  }
  const unauthorized = { message: 'Unauthorized' };

  it('accepts a token minted with the pool’s key and the right claims (the control for the cases below)', async () => {
    const token = await env.platform.cognito.mintToken(await claimsOf(alice.token));
    expect((await env.call('GET', '/me', { token })).status).toBe(200);
  });

  it('answers 401 without a token', async () => {
    const response = await env.call('GET', '/cases');
    expect(response.status).toBe(401);
    expect(response.body).toEqual(unauthorized);
  });

  it('answers 401 for a malformed Authorization header', async () => {
    for (const authorization of ['Bearer', 'Bearer not-a-jwt', 'Basic YWxpY2U6c2VjcmV0', alice.token]) {
      const response = await env.call('GET', '/cases', { headers: { authorization } });
      expect(response.status, authorization.slice(0, 12)).toBe(401);
      expect(response.body).toEqual(unauthorized);
    }
  });

  it('answers 401 for a token signed by another key, even with the same kid and claims', async () => {
    const header = JSON.parse(Buffer.from(alice.token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ ...(await claimsOf(alice.token)), tenant_id: bob.tenantId })
      .setProtectedHeader({ alg: 'RS256', kid: header.kid })
      .setIssuer(env.platform.cognito.issuer)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await env.call('GET', '/cases', { token: forged })).status).toBe(401);
  });

  it('answers 401 for a tampered payload (tenant_id swapped) on a genuine signature', async () => {
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const swapped = Buffer.from(JSON.stringify({ ...claims, tenant_id: bob.tenantId })).toString('base64url');
    const response = await env.call('GET', '/cases', { token: `${header}.${swapped}.${signature}` });
    expect(response.status).toBe(401);
  });

  it('answers 401 for an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await env.platform.cognito.mintToken(await claimsOf(alice.token), { issuedAt: now - 7200, expiresAt: now - 3600 });
    expect((await env.call('GET', '/cases', { token })).status).toBe(401);
  });

  it('answers 401 for a token from another issuer', async () => {
    const token = await env.platform.cognito.mintToken(await claimsOf(alice.token), {
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_SomeoneElse',
    });
    expect((await env.call('GET', '/cases', { token })).status).toBe(401);
  });

  it('answers 401 for a token issued to another app client (wrong audience)', async () => {
    const token = await env.platform.cognito.mintToken({ ...(await claimsOf(alice.token)), client_id: 'anotherappclient000000000' });
    expect((await env.call('GET', '/cases', { token })).status).toBe(401);
  });

  it('answers 401 for an ID token used as an access token', async () => {
    const token = await env.platform.cognito.mintToken({ ...(await claimsOf(alice.token)), token_use: 'id' });
    expect((await env.call('GET', '/cases', { token })).status).toBe(401);
  });

  it('answers 401 on the data plane for an operator token, which names no tenant', async () => {
    expect((await env.call('GET', '/cases', { token: env.operatorToken })).status).toBe(401);
  });

  it('answers 401 on the control plane for a tenant admin: the operator directory did not issue the token (DESIGN §13)', async () => {
    const response = await alice.call('GET', '/admin/tenants');
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ message: 'Unauthorized' });
  });

  it('answers 403 Forbidden on the next request after suspension — even with warm caches — and its data stays', async () => {
    const dave = await env.onboard('premium');
    const opened = await dave.call('POST', '/cases', { body: { title: 'kept while suspended', priority: 'low' } });
    expect((await dave.call('GET', '/me')).status).toBe(200); // the gateway now caches an Allow for this token
    const suspended = await env.call('POST', `/admin/tenants/${dave.tenantId}/suspend`, {
      token: env.operatorToken,
      body: { reason: 'unpaid invoice' },
    });
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('SUSPENDED');
    for (const [method, path] of [
      ['GET', '/me'],
      ['GET', '/cases'],
      ['POST', '/cases'],
    ] as const) {
      const response = await dave.call(method, path, method === 'POST' ? { body: { title: 'x', priority: 'low' } } : {});
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body).toEqual({ message: 'Forbidden' });
    }
    const fresh = await env.signIn(dave.username, dave.password);
    expect((await env.call('GET', '/me', { token: fresh })).status).toBe(403);

    const reactivated = await env.call('POST', `/admin/tenants/${dave.tenantId}/reactivate`, { token: env.operatorToken });
    expect(reactivated.body.status).toBe('ACTIVE');
    const back = await dave.call('GET', `/cases/${opened.body.caseId}`);
    expect(back.status).toBe(200);
    expect(back.body.title).toBe('kept while suspended');

    const audit = await env.call('GET', `/admin/tenants/${dave.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['tenant.onboarded', 'tenant.suspended', 'tenant.reactivated']);
    expect(audit.body.items[1]).toMatchObject({
      tenantId: dave.tenantId,
      actor: 'operator',
      reason: 'unpaid invoice',
      before: { status: 'ACTIVE' },
      after: { status: 'SUSPENDED' },
    });
  });
});

describe('tenant isolation at the data layer (LeadingKeys policy)', () => {
  let sts: STSClient;
  let provider: TenantTableProvider;
  let tableName: string;

  beforeAll(() => {
    // The test process plays a data-plane function of cell-1: the same environment a function gets.
    const cell = env.platform.cells[0]!;
    tableName = cell.tableName;
    process.env.AWS_REGION = env.platform.region;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = env.platform.endpoints.dynamodb;
    sts = new STSClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.sts,
      credentials: sdkCredentials(env.platform.sessionFor(cell.roles.api)),
    });
    provider = new TenantTableProvider({ roleArn: cell.roles.tenantAccess, tableName, sts });
  });

  function expectAccessDenied(promise: Promise<unknown>) {
    return expect(promise).rejects.toMatchObject({ name: 'AccessDeniedException' });
  }

  it('lets the t-1 session write, read and query its own items (the control for the denials below)', async () => {
    const { doc } = provider.forTenant('t-1');
    const caseId = newId();
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...Keys.caseKey('t-1', caseId), ...Keys.caseListingKey('t-1', 'OPEN', '2026-01-01', caseId) } }));
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: Keys.caseKey('t-1', caseId) }));
    expect(Item?.PK).toBe(`TENANT#t-1#CASE#${caseId}`);
    const listing = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': Keys.caseListingPartition('t-1') },
      }),
    );
    expect(listing.Items?.length).toBe(1);
  });

  it('never lets t-1 touch t-10’s items, although "t-1" is a prefix of "t-10"', async () => {
    const { doc } = provider.forTenant('t-1');
    const caseId = newId();
    await expectAccessDenied(doc.send(new GetCommand({ TableName: tableName, Key: Keys.caseKey('t-10', caseId) })));
    await expectAccessDenied(doc.send(new PutCommand({ TableName: tableName, Item: Keys.caseKey('t-10', caseId) })));
    await expectAccessDenied(
      doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: 'GSI1',
          KeyConditionExpression: 'GSI1PK = :pk',
          ExpressionAttributeValues: { ':pk': Keys.caseListingPartition('t-10') },
        }),
      ),
    );
    // Hand-built keys that merely start with the right characters are no better.
    await expectAccessDenied(doc.send(new GetCommand({ TableName: tableName, Key: { PK: 'TENANT#t-10', SK: 'CASE' } })));
    await expectAccessDenied(doc.send(new GetCommand({ TableName: tableName, Key: { PK: 'TENANT#t-1x#CASE', SK: 'CASE' } })));
  });

  it('denies a tenant-scoped client another real tenant’s case and a Scan of the table', async () => {
    const { doc } = provider.forTenant(alice.tenantId);
    await expectAccessDenied(doc.send(new GetCommand({ TableName: tableName, Key: Keys.caseKey(bob.tenantId, bobCaseId) })));
    await expectAccessDenied(doc.send(new ScanCommand({ TableName: tableName })));
  });

  it('denies a batch that mixes tenants, even when most keys are the caller’s own', async () => {
    const { doc } = provider.forTenant('t-1');
    await expectAccessDenied(
      doc.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: [Keys.caseKey('t-1', newId()), Keys.caseKey('t-1', newId()), Keys.caseKey('t-2', newId())] } },
        }),
      ),
    );
  });

  it('denies the data-plane functions’ own (unscoped) credentials any item access', async () => {
    const cell = env.platform.cells[0]!;
    const unscoped = documentClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.dynamodb,
      credentials: sdkCredentials(env.platform.sessionFor(cell.roles.api)),
    });
    await expectAccessDenied(unscoped.send(new GetCommand({ TableName: tableName, Key: Keys.caseKey(alice.tenantId, newId()) })));
    await expectAccessDenied(unscoped.send(new ScanCommand({ TableName: tableName })));
  });

  it('denies the authorizer’s credentials the cell table', async () => {
    const cell = env.platform.cells[0]!;
    const authorizer = new DynamoDBClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.dynamodb,
      credentials: sdkCredentials(env.platform.sessionFor(cell.roles.authorizer)),
    });
    await expectAccessDenied(authorizer.send(new ScanCommand({ TableName: tableName })));
  });

  it('refuses a session tagged for one cell access to another cell’s table', async () => {
    const otherTable = env.platform.cells[1]!.tableName;
    const { doc } = provider.forTenant(carol.tenantId);
    await expectAccessDenied(doc.send(new GetCommand({ TableName: otherTable, Key: Keys.caseKey(carol.tenantId, newId()) })));
  });
});
