import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * A route that reads a JSON body reads it only when the client says it is JSON: a form post or a
 * text body is answered 415 UNSUPPORTED_MEDIA_TYPE with the error body, and changes nothing — even
 * when the bytes happen to be valid JSON.
 */
let env: TestPlatform;
let tenant: TestTenant;
let caseId: string;

beforeAll(async () => {
  env = await bootTestPlatform();
  tenant = await env.onboard('standard');
  caseId = (await tenant.call('POST', '/cases', { body: { title: 'Keep me', priority: 'low' } })).body.caseId;
});
afterAll(() => env?.stop());

/** A request with exactly these headers: no Content-Type is added when none is given. */
// biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
function send(method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, env.url), { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const NOT_JSON: [label: string, contentType: string | undefined][] = [
  ['text/plain', 'text/plain'],
  ['text/plain;charset=UTF-8 (what fetch sends for a string)', 'text/plain;charset=UTF-8'],
  ['a form', 'application/x-www-form-urlencoded'],
  ['multipart', 'multipart/form-data; boundary=x'],
  ['JSON in another charset', 'application/json; charset=iso-8859-1'],
  ['a type that only starts like JSON', 'application/jsonp'],
  ['no Content-Type at all', undefined],
];

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset="UTF-8"', 'application/merge-patch+json'];

function headersFor(token: string, contentType: string | undefined): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...(contentType !== undefined ? { 'content-type': contentType } : {}) };
}

function expectUnsupported(response: { status: number; body: unknown }): void {
  expect(response.status).toBe(415);
  expect(response.body).toEqual({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) }, requestId: expect.any(String) });
}

describe('a JSON route on the data plane', () => {
  it.each(NOT_JSON)('answers 415 to a body sent as %s, and creates or changes no case', async (_label, contentType) => {
    const before = (await tenant.call('GET', '/cases?limit=100')).body.items;
    const headers = headersFor(tenant.token, contentType);
    expectUnsupported(await send('POST', '/cases', headers, JSON.stringify({ title: 'Smuggled', priority: 'low' })));
    expectUnsupported(await send('PATCH', `/cases/${caseId}`, headers, JSON.stringify({ title: 'Renamed' })));
    expectUnsupported(await send('POST', `/cases/${caseId}/notes`, headers, JSON.stringify({ body: 'a note' })));
    expect((await tenant.call('GET', '/cases?limit=100')).body.items).toEqual(before);
    expect((await tenant.call('GET', `/cases/${caseId}/notes`)).body.items).toEqual([]);
  });

  it('answers 415 to a form post whose fields would make a valid case', async () => {
    const response = await send('POST', '/cases', headersFor(tenant.token, 'application/x-www-form-urlencoded'), 'title=Form&priority=low');
    expectUnsupported(response);
  });

  it.each(JSON_TYPES)('reads the body sent as %s', async (contentType) => {
    const response = await send('POST', '/cases', headersFor(tenant.token, contentType), JSON.stringify({ title: `As ${contentType}`, priority: 'low' }));
    expect(response.status).toBe(201);
  });

  it('still serves a route that takes no body, whatever the Content-Type', async () => {
    const response = await send('GET', '/me', headersFor(tenant.token, 'text/plain'), '');
    expect(response.status).toBe(200);
  });
});

describe('a JSON route on the control plane', () => {
  it.each(NOT_JSON)('answers 415 to a body sent as %s, and onboards, changes or suspends nothing', async (_label, contentType) => {
    const list = async () => (await env.call('GET', '/admin/tenants?limit=100', { token: env.operatorToken })).body.items;
    const audit = async () => (await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit?limit=100`, { token: env.operatorToken })).body.items;
    const [tenantsBefore, auditBefore] = [await list(), await audit()];
    const headers = headersFor(env.operatorToken, contentType);
    expectUnsupported(await send('POST', '/admin/tenants', headers, JSON.stringify({ name: 'Form Corp', tier: 'basic', adminEmail: 'form@example.com' })));
    expectUnsupported(await send('PATCH', `/admin/tenants/${tenant.tenantId}`, headers, JSON.stringify({ tier: 'premium' })));
    expectUnsupported(await send('POST', `/admin/tenants/${tenant.tenantId}/suspend`, headers, JSON.stringify({ reason: 'form' })));
    expect(await list()).toEqual(tenantsBefore);
    expect(await audit()).toEqual(auditBefore);
  });

  it('answers 415 to a sign-in sent as a form', async () => {
    expectUnsupported(await send('POST', '/auth/token', { 'content-type': 'application/x-www-form-urlencoded' }, 'username=operator&password=operator'));
    expectUnsupported(await send('POST', '/auth/token', {}, JSON.stringify({ username: 'operator', password: 'operator' })));
  });

  it('still suspends with no body at all, whatever the Content-Type', async () => {
    const other = await env.onboard('basic');
    const response = await send('POST', `/admin/tenants/${other.tenantId}/suspend`, headersFor(env.operatorToken, 'text/plain'), '');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('SUSPENDED');
  });
});
