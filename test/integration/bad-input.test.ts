import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELL_ROUTES, CONTROL_ROUTES, type RouteDefinition } from '@cellbook/functions/routes';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { watchPlatformState } from '../support/platform-state.js';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';
import { PROTOTYPE_NAMES, rawRequest, type RawResponse } from '../support/raw-http.js';
import { dynamoDbCall } from '../support/signed-request.js';

/**
 * A client mistake gets a 4xx with the error body and changes nothing: never a 500, never a
 * partial write, never an internal message.
 */
let env: TestPlatform;
let tenant: TestTenant;
let caseId: string;

beforeAll(async () => {
  env = await bootTestPlatform();
  tenant = await env.onboard('premium');
  caseId = (await tenant.call('POST', '/cases', { body: { title: 'Keep me', priority: 'low' } })).body.caseId;
});
afterAll(() => env?.stop());

async function snapshot() {
  const [me, cases, notes, users] = await Promise.all([
    tenant.call('GET', '/me'),
    tenant.call('GET', '/cases?limit=100'),
    tenant.call('GET', `/cases/${caseId}/notes`),
    tenant.call('GET', '/users'),
  ]);
  return { usage: me.body.usage, cases: cases.body.items, notes: notes.body.items, users: users.body.items };
}

function expectErrorBody(body: unknown, code: string) {
  expect(body).toEqual({
    error: { code, message: expect.any(String), ...((body as { error: { details?: unknown } }).error.details ? { details: expect.any(Array) } : {}) },
    requestId: expect.any(String),
  });
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js|mjs):\d+|Exception|arn:aws|dynamodb|TENANT#/i);
}

const cases: { name: string; method: string; path: () => string; raw?: string; body?: unknown; status: number; code: string }[] = [
  { name: 'malformed JSON', method: 'POST', path: () => '/cases', raw: '{"title": "x",', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'a missing body', method: 'POST', path: () => '/cases', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'a JSON array instead of an object', method: 'POST', path: () => '/cases', body: [1, 2], status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a wrong type', method: 'POST', path: () => '/cases', body: { title: 42, priority: 'low' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown priority', method: 'POST', path: () => '/cases', body: { title: 'x', priority: 'asap' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown field', method: 'POST', path: () => '/cases', body: { title: 'x', priority: 'low', status: 'CLOSED' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an empty title', method: 'POST', path: () => '/cases', body: { title: '   ', priority: 'low' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an over-long title', method: 'POST', path: () => '/cases', body: { title: 'x'.repeat(201), priority: 'low' }, status: 422, code: 'VALIDATION_FAILED' },
  {
    name: 'an oversized body',
    method: 'POST',
    path: () => '/cases',
    body: { title: 'x', priority: 'low', description: 'y'.repeat(70_000) },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  { name: 'an empty PATCH', method: 'PATCH', path: () => `/cases/${caseId}`, body: {}, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown status', method: 'PATCH', path: () => `/cases/${caseId}`, body: { status: 'DONE' }, status: 422, code: 'VALIDATION_FAILED' },
  {
    name: 'a PATCH with one bad field among good ones',
    method: 'PATCH',
    path: () => `/cases/${caseId}`,
    body: { title: 'Changed', priority: 'nope' },
    status: 422,
    code: 'VALIDATION_FAILED',
  },
  { name: 'a malformed case id', method: 'GET', path: () => '/cases/not-an-id', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a path-traversal case id', method: 'GET', path: () => '/cases/..%2F..%2Fadmin', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a malformed case id on notes', method: 'POST', path: () => '/cases/XYZ/notes', body: { body: 'x' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an empty note', method: 'POST', path: () => `/cases/${caseId}/notes`, body: { body: '' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a garbage cursor', method: 'GET', path: () => '/cases?cursor=%%%', status: 400, code: 'INVALID_CURSOR' },
  {
    name: 'a cursor that is valid base64url but not ours',
    method: 'GET',
    path: () => `/cases?cursor=${Buffer.from('{"v":1,"k":{"PK":"x"}}').toString('base64url')}`,
    status: 400,
    code: 'INVALID_CURSOR',
  },
  { name: 'a limit out of range', method: 'GET', path: () => '/cases?limit=0', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a non-numeric limit', method: 'GET', path: () => '/cases?limit=lots', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a repeated query parameter', method: 'GET', path: () => '/cases?status=OPEN&status=CLOSED', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'an unknown status filter', method: 'GET', path: () => '/cases?status=open', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an invalid email for a new user', method: 'POST', path: () => '/users', body: { email: 'not-an-email', role: 'user' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a cursor on the user list, which has no pages', method: 'GET', path: () => '/users?cursor=zzzz', status: 400, code: 'INVALID_CURSOR' },
  { name: 'a limit on the user list, which has no pages', method: 'GET', path: () => '/users?limit=10', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown query parameter on the user list', method: 'GET', path: () => '/users?role=admin', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a __proto__ query parameter on the user list', method: 'GET', path: () => '/users?__proto__=1', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown role for a new user', method: 'POST', path: () => '/users', body: { email: 'x@example.com', role: 'root' }, status: 422, code: 'VALIDATION_FAILED' },
];

describe('bad input on the data plane', () => {
  for (const testCase of cases) {
    it(`answers ${testCase.status} ${testCase.code} for ${testCase.name} and writes nothing`, async () => {
      const before = await snapshot();
      const response = await tenant.call(testCase.method, testCase.path(), {
        ...(testCase.raw !== undefined ? { rawBody: testCase.raw } : {}),
        ...(testCase.body !== undefined ? { body: testCase.body } : {}),
      });
      expect(response.status).toBe(testCase.status);
      expectErrorBody(response.body, testCase.code);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('names each problem in the details so the request can be fixed', async () => {
    const response = await tenant.call('POST', '/cases', { body: { title: 42, priority: 'asap', extra: true } });
    expect(response.body.error.details).toEqual([
      { path: 'title', message: expect.stringContaining('string') },
      { path: 'priority', message: expect.stringContaining('low') },
      { path: '(body)', message: 'Unknown field(s): extra' },
    ]);
  });

  it('answers 404 Not Found for a route that does not exist', async () => {
    const response = await tenant.call('DELETE', '/cases');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: 'Not Found' });
  });
});

describe('bad input on the control plane', () => {
  it('refuses an unknown tier and an invalid email with 422, and onboards nobody', async () => {
    const before = (await env.call('GET', '/admin/tenants', { token: env.operatorToken })).body.items.length;
    for (const body of [
      { name: 'Nope Inc', tier: 'platinum', adminEmail: 'a@example.com' },
      { name: 'Nope Inc', tier: 'basic', adminEmail: 'not-an-email' },
      { name: 'Nope Inc', tier: 'basic', adminEmail: 'a@example.com', tenantId: 'chosen-id' },
    ]) {
      const response = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body });
      expect(response.status).toBe(422);
      expectErrorBody(response.body, 'VALIDATION_FAILED');
    }
    expect((await env.call('GET', '/admin/tenants', { token: env.operatorToken })).body.items).toHaveLength(before);
  });

  it('refuses a second tenant with the same name with 409', async () => {
    const body = { name: 'Twice Corp', tier: 'basic', adminEmail: 'twice@example.com' };
    expect((await env.call('POST', '/admin/tenants', { token: env.operatorToken, body })).status).toBe(201);
    const again = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body: { ...body, adminEmail: 'other@example.com' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TENANT_NAME_TAKEN');
  });

  it('replays an onboarding retried with the same Idempotency-Key instead of creating a second tenant', async () => {
    const headers = { 'idempotency-key': 'onboard-retry-1' };
    const body = { name: 'Retry Ltd', tier: 'standard', adminEmail: 'retry@example.com' };
    const first = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers });
    const second = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.tenantId).toBe(first.body.tenantId);
    const reused = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body: { ...body, tier: 'basic' }, headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('answers 404 for an unknown tenant id', async () => {
    const response = await env.call('GET', '/admin/tenants/no-such-tenant', { token: env.operatorToken });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('TENANT_NOT_FOUND');
  });
});

/**
 * Names a plain object answers from Object.prototype (`constructor`, `__proto__`, `toString`…) are
 * ordinary names when a client sends them: sent over raw node:http so nothing renames or drops them.
 */
describe('query parameters and headers named like Object.prototype members', () => {
  const UNKNOWN_TENANT = 'no-such-tenant-0';
  const UNKNOWN_CELL = 'no-such-cell';

  /** A concrete path for a route; actions that change a tenant or a cell aim at one that does not exist. */
  function concretePath(route: RouteDefinition): string {
    const reads = route.method === 'GET';
    return route.path
      .replace('{caseId}', caseId)
      .replace('{tenantId}', reads ? tenant.tenantId : UNKNOWN_TENANT)
      .replace('{cellId}', reads ? tenant.cellId : UNKNOWN_CELL);
  }

  /** A 4xx carries the application's error body, or API Gateway's own `{message}` for its own refusals. */
  function expectClientErrorBody(response: RawResponse) {
    const gatewayOwn = [401, 403, 404, 413, 429].includes(response.status) && typeof (response.json as { message?: unknown })?.message === 'string';
    if (gatewayOwn) return;
    expect(response.json, response.text).toEqual({
      error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
      requestId: expect.any(String),
    });
  }

  const routes = [...CELL_ROUTES, ...CONTROL_ROUTES];
  const tokens = { none: () => undefined, 'tenant admin': () => tenant.token, operator: () => env.operatorToken } as const;

  for (const route of routes) {
    for (const [who, token] of Object.entries(tokens)) {
      it(`${route.method} ${route.path} (${who === 'none' ? 'no token' : `${who} token`}) answers without a 5xx for every prototype name in the query and the headers`, async () => {
        for (const name of PROTOTYPE_NAMES) {
          const bearer = token();
          const response = await rawRequest(env.url, {
            method: route.method,
            target: `${concretePath(route)}?${name}=x`,
            headers: [
              [name, 'x'],
              ...(bearer ? [['Authorization', `Bearer ${bearer}`] as const] : []),
              ...(route.method === 'GET' ? [] : [['Content-Type', 'application/json'] as const]),
            ],
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }),
          });
          expect(response.status, `${name}: ${response.text}`).toBeLessThan(500);
          if (response.status >= 400) expectClientErrorBody(response);
        }
      });
    }
  }

  it('answers the normal answer to a reader whose request carries such names', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const headers = [
        [name, 'x'],
        [name, 'y'],
      ] as const;
      const me = await rawRequest(env.url, { method: 'GET', target: `/me?${name}=x`, headers: [...headers, ['Authorization', `Bearer ${tenant.token}`]] });
      expect(me.status, me.text).toBe(200);
      expect(me.json).toMatchObject({ tenantId: tenant.tenantId });
      const health = await rawRequest(env.url, { method: 'GET', target: `/health?${name}=x`, headers });
      expect(health.status, health.text).toBe(200);
      expect(health.json).toMatchObject({ status: 'ok' });
      const operator = [...headers, ['Authorization', `Bearer ${env.operatorToken}`] as const];
      const tenants = await rawRequest(env.url, { method: 'GET', target: '/admin/tenants', headers: operator });
      expect(tenants.status, tenants.text).toBe(200);
      // The tenant listing takes only the parameters it knows: an unknown one is named in a 422.
      const unknownParameter = await rawRequest(env.url, { method: 'GET', target: `/admin/tenants?${name}=x`, headers: operator });
      expect(unknownParameter.status, unknownParameter.text).toBe(422);
      expect(unknownParameter.json).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [{ message: expect.stringContaining(name) }] } });
    }
  });

  it('refuses a sign-in whose username is such a name as any unknown user (401), never a 5xx', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const response = await rawRequest(env.url, {
        method: 'POST',
        target: '/auth/token',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ username: name, password: 'Wrong-Pass-1' }),
      });
      expect(response.status, `${name}: ${response.text}`).toBe(401);
      expectClientErrorBody(response);
    }
  });

  it('answers 400 to such a name given twice in the query, as for any repeated parameter', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const response = await rawRequest(env.url, { method: 'GET', target: `/cases?${name}=a&${name}=b`, headers: [['Authorization', `Bearer ${tenant.token}`]] });
      expect(response.status, response.text).toBe(400);
      expect(response.json).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
    }
  });

  it('writes nothing while refusing them', async () => {
    const watcher = watchPlatformState(env.platform);
    try {
      const before = await watcher.read();
      for (const name of PROTOTYPE_NAMES) {
        for (const [method, path, bearer] of [
          ['POST', '/cases', tenant.token],
          ['PATCH', `/cases/${caseId}`, tenant.token],
          ['POST', `/cases/${caseId}/notes`, tenant.token],
          ['POST', '/users', tenant.token],
          ['POST', '/admin/tenants', env.operatorToken],
          ['PATCH', `/admin/tenants/${tenant.tenantId}`, env.operatorToken],
          ['POST', '/admin/cells', env.operatorToken],
        ] as const) {
          const response = await rawRequest(env.url, {
            method,
            target: `${path}?${name}=x`,
            headers: [
              [name, 'x'],
              ['Authorization', `Bearer ${bearer}`],
              ['Content-Type', 'application/json'],
            ],
            body: JSON.stringify({ [name]: 'x' }),
          });
          expect(response.status, `${method} ${path} ${name}: ${response.text}`).toBeGreaterThanOrEqual(400);
          expect(response.status, `${method} ${path} ${name}: ${response.text}`).toBeLessThan(500);
          expectClientErrorBody(response);
        }
      }
      expect(await watcher.read()).toEqual(before);
    } finally {
      watcher.close();
    }
  });
});

describe('a request HTTP itself cannot parse', () => {
  it('answers 400 with a JSON body for raw non-ASCII bytes in the request target (invalid UTF-8), and writes nothing', async () => {
    const watcher = watchPlatformState(env.platform);
    try {
      const before = await watcher.read();
      for (const target of ['/cases?\xff=1', '/cases/\xc3\x28', '/health?tenant=\xe0\x80\x80', '/admin/tenants?\xed\xa0\x80=x']) {
        const response = await rawRequest(env.url, { method: 'GET', target, headers: [['Authorization', `Bearer ${tenant.token}`]] });
        expect(response.status, `${JSON.stringify(target)}: ${response.text}`).toBe(400);
        expect(response.headers['content-type']).toBe('application/json');
        expect(response.json).toEqual({ message: 'Bad Request' });
      }
      expect(await watcher.read()).toEqual(before);
    } finally {
      watcher.close();
    }
  });
});

describe('the local DynamoDB endpoint given a TransactWriteItems member named like an Object.prototype member', () => {
  it('answers 400 ValidationException and applies no member of the transaction', async () => {
    const session = env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin');
    const tableName = env.platform.cells[0]!.tableName;
    const probeKey = { PK: { S: 'PROBE#transact' }, SK: { S: 'PROBE' } };
    for (const name of PROTOTYPE_NAMES) {
      const body = JSON.stringify({
        TransactItems: [{ Put: { TableName: tableName, Item: { ...probeKey, name: { S: name } } } }, { [name]: { TableName: tableName, Key: probeKey } }],
      });
      const response = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'TransactWriteItems', body);
      expect(response.status, `${name}: ${response.text}`).toBe(400);
      expect(response.json, `${name}: ${JSON.stringify(response)}`).toMatchObject({ __type: expect.stringMatching(/ValidationException$/) });
      const lookup = await dynamoDbCall(env.platform.endpoints.dynamodb, session, 'GetItem', JSON.stringify({ TableName: tableName, Key: probeKey }));
      expect(lookup.status, lookup.text).toBe(200);
      expect(lookup.json).toEqual({});
    }
  });
});

describe('the local API Gateway management endpoint given a malformed %-escape in its path', () => {
  it('answers 400, not 500', async () => {
    const session = env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin');
    const endpoint = new URL(env.platform.endpoints.apiGateway);
    const signer = new SignatureV4({ service: 'apigateway', region: 'us-east-1', sha256: Sha256, credentials: sdkCredentials(session) });
    for (const path of ['/restapis/%E0%A4%A', '/apikeys/%ZZ', '/usageplans/%']) {
      const signed = await signer.sign(
        new HttpRequest({ method: 'GET', protocol: 'http:', hostname: endpoint.hostname, port: Number(endpoint.port), path, headers: { host: endpoint.host } }),
      );
      const response = await rawRequest(env.platform.endpoints.apiGateway, { method: 'GET', target: path, headers: Object.entries(signed.headers) });
      expect(response.status, `${path}: ${response.text}`).toBe(400);
    }
  });
});
