import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

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
  expect(body).toEqual({ error: { code, message: expect.any(String), ...((body as { error: { details?: unknown } }).error.details ? { details: expect.any(Array) } : {}) }, requestId: expect.any(String) });
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
  { name: 'an oversized body', method: 'POST', path: () => '/cases', body: { title: 'x', priority: 'low', description: 'y'.repeat(70_000) }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'an empty PATCH', method: 'PATCH', path: () => `/cases/${caseId}`, body: {}, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an unknown status', method: 'PATCH', path: () => `/cases/${caseId}`, body: { status: 'DONE' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a PATCH with one bad field among good ones', method: 'PATCH', path: () => `/cases/${caseId}`, body: { title: 'Changed', priority: 'nope' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a malformed case id', method: 'GET', path: () => '/cases/not-an-id', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a path-traversal case id', method: 'GET', path: () => '/cases/..%2F..%2Fadmin', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a malformed case id on notes', method: 'POST', path: () => '/cases/XYZ/notes', body: { body: 'x' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an empty note', method: 'POST', path: () => `/cases/${caseId}/notes`, body: { body: '' }, status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a garbage cursor', method: 'GET', path: () => '/cases?cursor=%%%', status: 400, code: 'INVALID_CURSOR' },
  { name: 'a cursor that is valid base64url but not ours', method: 'GET', path: () => `/cases?cursor=${Buffer.from('{"v":1,"k":{"PK":"x"}}').toString('base64url')}`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'a limit out of range', method: 'GET', path: () => '/cases?limit=0', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a non-numeric limit', method: 'GET', path: () => '/cases?limit=lots', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'a repeated query parameter', method: 'GET', path: () => '/cases?status=OPEN&status=CLOSED', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'an unknown status filter', method: 'GET', path: () => '/cases?status=open', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'an invalid email for a new user', method: 'POST', path: () => '/users', body: { email: 'not-an-email', role: 'user' }, status: 422, code: 'VALIDATION_FAILED' },
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
