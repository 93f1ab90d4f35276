import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * A listing cursor is opaque: the only cursors a listing continues from are the ones it issued.
 * Anything else — a forged key, a key with empty fields, another tenant's or another filter's —
 * is a 400 INVALID_CURSOR with the error body, never a 500 and never someone else's page.
 */
let env: TestPlatform;
let tenant: TestTenant;
let neighbour: TestTenant;

function decode(cursor: string): { v: number; k: Record<string, string> } {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

function forge(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify({ v: 1, k: key }), 'utf8').toString('base64url');
}

function expectInvalidCursor(response: { status: number; body: unknown }): void {
  expect(response.status).toBe(400);
  expect(response.body).toEqual({ error: { code: 'INVALID_CURSOR', message: expect.any(String) }, requestId: expect.any(String) });
}

beforeAll(async () => {
  env = await bootTestPlatform();
  tenant = await env.onboard('standard');
  neighbour = await env.onboard('standard');
  for (const who of [tenant, neighbour]) {
    for (const title of ['one', 'two', 'three']) {
      expect((await who.call('POST', '/cases', { body: { title, priority: 'low' } })).status).toBe(201);
    }
  }
});
afterAll(() => env?.stop());

describe('GET /cases with a cursor', () => {
  it('continues from the cursor it issued (the positive control)', async () => {
    const first = await tenant.call('GET', '/cases?limit=2');
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await tenant.call('GET', `/cases?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items).toHaveLength(1);
  });

  it.each(['PK', 'SK', 'GSI1PK', 'GSI1SK'])('answers 400 INVALID_CURSOR when %s of an issued cursor is emptied', async (name) => {
    const issued = decode((await tenant.call('GET', '/cases?limit=1')).body.nextCursor).k;
    expectInvalidCursor(await tenant.call('GET', `/cases?cursor=${forge({ ...issued, [name]: '' })}`));
  });

  it('answers 400 INVALID_CURSOR when every field is empty', async () => {
    expectInvalidCursor(await tenant.call('GET', `/cases?cursor=${forge({ PK: '', SK: '', GSI1PK: '', GSI1SK: '' })}`));
  });

  it("answers 400 INVALID_CURSOR for a neighbour's cursor, even with the tenant's own listing partition in it", async () => {
    const theirs = decode((await neighbour.call('GET', '/cases?limit=1')).body.nextCursor).k;
    const mine = decode((await tenant.call('GET', '/cases?limit=1')).body.nextCursor).k;
    expectInvalidCursor(await tenant.call('GET', `/cases?cursor=${forge(theirs)}`));
    expectInvalidCursor(await tenant.call('GET', `/cases?cursor=${forge({ ...theirs, GSI1PK: mine.GSI1PK! })}`));
  });

  it('answers 400 INVALID_CURSOR for a cursor of the OPEN listing used with status=CLOSED', async () => {
    const open = (await tenant.call('GET', '/cases?status=OPEN&limit=1')).body.nextCursor;
    expect((await tenant.call('GET', `/cases?status=OPEN&cursor=${open}`)).status).toBe(200);
    expectInvalidCursor(await tenant.call('GET', `/cases?status=CLOSED&cursor=${open}`));
  });

  it('answers 400 INVALID_CURSOR when the listing place names another case than the key', async () => {
    const issued = decode((await tenant.call('GET', '/cases?limit=1')).body.nextCursor).k;
    expectInvalidCursor(await tenant.call('GET', `/cases?cursor=${forge({ ...issued, GSI1SK: 'S1#not-a-time#X' })}`));
  });
});

describe('GET /admin/tenants with a cursor', () => {
  const operator = () => ({ token: env.operatorToken });

  it('continues from the cursor it issued (the positive control)', async () => {
    const first = await env.call('GET', '/admin/tenants?limit=1', operator());
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await env.call('GET', `/admin/tenants?limit=1&cursor=${first.body.nextCursor}`, operator());
    expect(second.status).toBe(200);
    expect(second.body.items[0].tenantId).not.toBe(first.body.items[0].tenantId);
  });

  it.each(['PK', 'SK', 'GSI1PK', 'GSI1SK'])('answers 400 INVALID_CURSOR when %s of an issued cursor is emptied', async (name) => {
    const issued = decode((await env.call('GET', '/admin/tenants?limit=1', operator())).body.nextCursor).k;
    expectInvalidCursor(await env.call('GET', `/admin/tenants?cursor=${forge({ ...issued, [name]: '' })}`, operator()));
    expectInvalidCursor(await env.call('GET', `/admin/tenants?status=ACTIVE&cursor=${forge({ ...issued, [name]: '' })}`, operator()));
  });

  it("answers 400 INVALID_CURSOR when the key is not a tenant record's (an audit record of the same tenant)", async () => {
    const issued = decode((await env.call('GET', '/admin/tenants?limit=1', operator())).body.nextCursor).k;
    expectInvalidCursor(await env.call('GET', `/admin/tenants?cursor=${forge({ ...issued, SK: 'AUDIT#01HZY3J5V8K2M4N6P8Q0R2S4T6' })}`, operator()));
  });
});

describe('GET /admin/tenants/{id}/export with a cursor', () => {
  const exportPage = (cursor?: string) =>
    env.call('GET', `/admin/tenants/${tenant.tenantId}/export?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: env.operatorToken });

  /** The first cursor the export issues inside a case partition. */
  async function issuedCaseCursor(): Promise<Record<string, string>> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const response = await exportPage(cursor);
      expect(response.status).toBe(200);
      cursor = response.headers.get('x-next-cursor') ?? undefined;
      if (!cursor) break;
      const key = decode(cursor).k;
      if (key.segment === 'cases') return key;
    }
    throw new Error('the export issued no cursor inside a case');
  }

  it('continues from the case cursor it issued (the positive control)', async () => {
    const key = await issuedCaseCursor();
    expect((await exportPage(forge(key))).status).toBe(200);
  });

  it.each([
    ['a listing place that is not the case', (key: Record<string, string>) => ({ ...key, listing: '\uffff' })],
    ['a listing place of another case', (key: Record<string, string>) => ({ ...key, partition: key.partition!.replace(/[0-9A-Z]{26}$/, '00000000000000000000000000') })],
    ['an item no case partition holds', (key: Record<string, string>) => ({ ...key, after: 'zzz' })],
  ])('answers 400 INVALID_CURSOR for %s (the export would silently skip cases)', async (_label, tamper) => {
    const response = await exportPage(forge(tamper(await issuedCaseCursor())));
    expectInvalidCursor({ status: response.status, body: response.body });
  });
});
