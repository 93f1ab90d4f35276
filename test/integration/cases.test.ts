import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

let env: TestPlatform;
let acme: TestTenant;

beforeAll(async () => {
  env = await bootTestPlatform();
  // Premium: this suite sends well over a basic plan's burst of 20 from one tenant.
  acme = await env.onboard('premium');
});
afterAll(() => env?.stop());

interface CaseBody {
  caseId: string;
  title: string;
  description: string;
  priority: string;
  status: string;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
}

async function openCase(tenant: TestTenant, title = 'Printer on fire', priority = 'high') {
  const response = await tenant.call<CaseBody>('POST', '/cases', { body: { title, priority } });
  expect(response.status).toBe(201);
  return response.body;
}

describe('identity', () => {
  it('issues a bearer token for valid credentials', async () => {
    const response = await env.call('POST', '/auth/token', { body: { username: acme.username, password: acme.password } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) });
  });

  it('makes a new user choose their own password at first sign-in, and then only that one works', async () => {
    const tenant = await env.onboard('basic');
    const invited = await tenant.call('POST', '/users', { body: { email: 'first-login@example.com', role: 'user' } });
    const temporary = invited.body.temporaryPassword as string;
    const tooEarly = await env.call('POST', '/auth/token', { body: { username: 'first-login@example.com', password: temporary } });
    expect(tooEarly.status).toBe(403);
    expect(tooEarly.body.error.code).toBe('NEW_PASSWORD_REQUIRED');
    const weak = await env.call('POST', '/auth/token', {
      body: { username: 'first-login@example.com', password: temporary, newPassword: 'short' },
    });
    expect(weak.status).toBe(422);
    expect(weak.body.error.details[0].path).toBe('newPassword');
    const chosen = await env.call('POST', '/auth/token', {
      body: { username: 'first-login@example.com', password: temporary, newPassword: 'My-Own-Pass-9' },
    });
    expect(chosen.status).toBe(200);
    expect((await env.call('POST', '/auth/token', { body: { username: 'first-login@example.com', password: temporary } })).status).toBe(401);
    expect((await env.call('POST', '/auth/token', { body: { username: 'first-login@example.com', password: 'My-Own-Pass-9' } })).status).toBe(200);
  });

  it('answers 401 with the error body for a wrong password, without saying whether the user exists', async () => {
    const wrong = await env.call('POST', '/auth/token', { body: { username: acme.username, password: 'nope-nope' } });
    const unknown = await env.call('POST', '/auth/token', { body: { username: 'ghost@example.com', password: 'nope-nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.body.error).toEqual(wrong.body.error);
  });
});

describe('GET /me', () => {
  it('describes the caller: tenant, tier, cell, roles, entitlements and usage', async () => {
    const response = await acme.call('GET', '/me');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      tenantId: acme.tenantId,
      tier: 'premium',
      cellId: acme.cellId,
      roles: ['admin'],
      entitlements: {
        features: ['cases', 'notes', 'evidence', 'export', 'analytics', 'audit-log'],
        limits: { maxActiveCases: 250_000, maxUsers: 500 },
      },
      usage: { users: 1 },
    });
  });

  it('shows a basic tenant only the basic plan', async () => {
    const basic = await env.onboard('basic');
    const response = await basic.call('GET', '/me');
    expect(response.body.entitlements).toEqual({
      features: ['cases', 'notes'],
      limits: { maxActiveCases: 1000, maxUsers: 5, maxEvidenceFileBytes: 0, maxEvidenceBytes: 0 },
    });
  });
});

describe('POST /cases', () => {
  it('opens a case and returns it with a Location header', async () => {
    const response = await acme.call<CaseBody>('POST', '/cases', {
      body: { title: '  Login broken  ', description: 'Since the update', priority: 'urgent' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      caseId: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
      title: 'Login broken',
      description: 'Since the update',
      priority: 'urgent',
      status: 'OPEN',
      assignee: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.headers.get('location')).toBe(`/cases/${response.body.caseId}`);
  });

  it('counts the case against the plan: /me usage goes up by one', async () => {
    const before = (await acme.call('GET', '/me')).body.usage.activeCases as number;
    await openCase(acme);
    const after = (await acme.call('GET', '/me')).body.usage.activeCases as number;
    expect(after).toBe(before + 1);
  });
});

describe('GET /cases/{caseId}', () => {
  it('returns the case', async () => {
    const opened = await openCase(acme, 'Fetch me');
    const response = await acme.call('GET', `/cases/${opened.caseId}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(opened);
  });

  it('answers 404 CASE_NOT_FOUND for an id that does not exist', async () => {
    const response = await acme.call('GET', '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'CASE_NOT_FOUND', message: expect.any(String) }, requestId: expect.any(String) });
  });
});

describe('GET /cases', () => {
  it('pages through every case exactly once with an opaque cursor', async () => {
    const tenant = await env.onboard('standard');
    const opened = [];
    for (let i = 0; i < 7; i++) opened.push((await openCase(tenant, `Case ${i}`)).caseId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await tenant.call<{ items: CaseBody[]; nextCursor: string | null }>('GET', `/cases${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((item) => item.caseId));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.sort()).toEqual([...opened].sort());
  });

  it('filters by status and lists open work before closed work', async () => {
    const tenant = await env.onboard('basic');
    const first = await openCase(tenant, 'first');
    const second = await openCase(tenant, 'second');
    await tenant.call('PATCH', `/cases/${first.caseId}`, { body: { status: 'IN_PROGRESS' } });
    const inProgress = await tenant.call<{ items: CaseBody[] }>('GET', '/cases?status=IN_PROGRESS');
    expect(inProgress.body.items.map((item) => item.caseId)).toEqual([first.caseId]);
    const all = await tenant.call<{ items: CaseBody[] }>('GET', '/cases');
    expect(all.body.items.map((item) => item.status)).toEqual(['OPEN', 'IN_PROGRESS']);
    expect(all.body.items[0]!.caseId).toBe(second.caseId);
  });
});

describe('PATCH /cases/{caseId}', () => {
  it('walks the status machine OPEN → IN_PROGRESS → RESOLVED → CLOSED and reopens to OPEN', async () => {
    const opened = await openCase(acme, 'lifecycle');
    for (const status of ['IN_PROGRESS', 'RESOLVED', 'CLOSED', 'OPEN']) {
      const response = await acme.call<CaseBody>('PATCH', `/cases/${opened.caseId}`, { body: { status } });
      expect(response.status).toBe(200);
      expect(response.body.status).toBe(status);
    }
  });

  it('refuses a transition the status machine does not allow with 409 and changes nothing', async () => {
    const opened = await openCase(acme, 'no shortcuts');
    const response = await acme.call('PATCH', `/cases/${opened.caseId}`, { body: { status: 'CLOSED', title: 'sneaky' } });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('INVALID_STATUS_TRANSITION');
    expect((await acme.call('GET', `/cases/${opened.caseId}`)).body).toEqual(opened);
  });

  it('releases the active-case slot when a case is closed and takes it again on reopen', async () => {
    const opened = await openCase(acme, 'slot');
    const usage = async () => (await acme.call('GET', '/me')).body.usage.activeCases as number;
    const start = await usage();
    for (const status of ['IN_PROGRESS', 'RESOLVED', 'CLOSED']) await acme.call('PATCH', `/cases/${opened.caseId}`, { body: { status } });
    expect(await usage()).toBe(start - 1);
    await acme.call('PATCH', `/cases/${opened.caseId}`, { body: { status: 'OPEN' } });
    expect(await usage()).toBe(start);
  });

  it('assigns a case to a user of the tenant and refuses a stranger with 422', async () => {
    const opened = await openCase(acme, 'assign me');
    const assigned = await acme.call<CaseBody>('PATCH', `/cases/${opened.caseId}`, { body: { assignee: acme.username, priority: 'low' } });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ assignee: acme.username, priority: 'low' });
    const stranger = await acme.call('PATCH', `/cases/${opened.caseId}`, { body: { assignee: 'nobody@example.com' } });
    expect(stranger.status).toBe(422);
    expect(stranger.body.error.code).toBe('ASSIGNEE_NOT_FOUND');
  });
});

describe('notes', () => {
  it('adds notes to a case and lists them in order', async () => {
    const opened = await openCase(acme, 'with notes');
    const first = await acme.call('POST', `/cases/${opened.caseId}/notes`, { body: { body: 'Called the customer' } });
    const second = await acme.call('POST', `/cases/${opened.caseId}/notes`, { body: { body: 'Sent a replacement' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ caseId: opened.caseId, body: 'Called the customer', author: acme.username });
    const list = await acme.call('GET', `/cases/${opened.caseId}/notes`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((note: { noteId: string }) => note.noteId)).toEqual([first.body.noteId, second.body.noteId]);
  });

  it('answers 404 for notes of a case that does not exist', async () => {
    const response = await acme.call('POST', '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV/notes', { body: { body: 'hello' } });
    expect(response.status).toBe(404);
  });
});

describe('users', () => {
  it('lets a tenant admin invite a user who can then sign in with the tenant role "user"', async () => {
    const tenant = await env.onboard('basic');
    const invited = await tenant.call('POST', '/users', { body: { email: 'Agent@Example.com', role: 'user' } });
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({ username: 'agent@example.com', role: 'user', temporaryPassword: expect.any(String) });
    const token = await env.signIn('agent@example.com', invited.body.temporaryPassword, 'Agent-Pass-123');
    const me = await env.call('GET', '/me', { token });
    expect(me.body).toMatchObject({ tenantId: tenant.tenantId, roles: ['user'] });
    const users = await tenant.call('GET', '/users');
    expect(users.body.items.map((user: { username: string }) => user.username).sort()).toEqual(['agent@example.com', tenant.username].sort());
    // A plain user is not a tenant admin.
    const forbidden = await env.call('GET', '/users', { token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
  });

  it('stops at the plan’s max users with 403 ENTITLEMENT_LIMIT_REACHED — a status no client retries — and creates nobody more', async () => {
    const tenant = await env.onboard('basic');
    // basic allows 5 users; the admin is the first.
    for (let i = 0; i < 4; i++) {
      expect((await tenant.call('POST', '/users', { body: { email: `u${i}-${tenant.tenantId}@example.com`, role: 'user' } })).status).toBe(201);
    }
    const sixth = await tenant.call('POST', '/users', { body: { email: `u5-${tenant.tenantId}@example.com`, role: 'user' } });
    expect(sixth.status).toBe(403);
    expect(sixth.body.error.code).toBe('ENTITLEMENT_LIMIT_REACHED');
    expect(sixth.headers.get('retry-after')).toBeNull();
    expect((await tenant.call('GET', '/users')).body.items).toHaveLength(5);
    const signIn = await env.call('POST', '/auth/token', { body: { username: `u5-${tenant.tenantId}@example.com`, password: 'Whatever1' } });
    expect(signIn.status).toBe(401);
  });

  it('refuses a duplicate email with 409', async () => {
    const response = await acme.call('POST', '/users', { body: { email: acme.username, role: 'user' } });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('USER_ALREADY_EXISTS');
  });
});

describe('observability', () => {
  it('tags each log line with its own request’s tenant only, while one warm function instance serves tenant after tenant', async () => {
    // Lambda hands one execution environment invocation after invocation: whatever one request
    // appended to the logger must be gone when the next one logs, tenant or not.
    const a = await env.onboard('premium');
    let b = await env.onboard('basic');
    // Placement fills the least-loaded cell, so the next onboarding or the one after shares A's cell.
    for (let tries = 0; b.cellId !== a.cellId && tries < 3; tries++) b = await env.onboard('basic');
    expect(b.cellId).toBe(a.cellId);
    const api = `cellbook-local-${a.cellId}-api`;
    const authorizer = `cellbook-local-${a.cellId}-authorizer`;
    type Line = Record<string, unknown> & { stream?: string };
    const linesSince = (from: number, source: string): Line[] =>
      env.logs.slice(from).flatMap((entry) => {
        if (entry.source !== source) return [];
        try {
          const line = JSON.parse(entry.line) as unknown;
          return typeof line === 'object' && line !== null && 'level' in line ? [{ ...(line as Record<string, unknown>), stream: entry.stream }] : [];
        } catch {
          return [];
        }
      });
    /** Waits until the function has logged a line that `match` accepts (log lines reach the platform on their own channel). */
    const loggedLine = async (from: number, source: string, match: (line: Line) => boolean): Promise<Line> => {
      for (let waited = 0; ; waited += 10) {
        const found = linesSince(from, source).find(match);
        if (found) return found;
        if (waited > 10_000) throw new Error(`no ${source} line matched after ${waited} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    /** One request; the handler line it logs (found by the request id in its error body). */
    const rejected = async (call: Promise<{ status: number; body: { requestId?: string } }>, status: number): Promise<Line> => {
      const from = env.logs.length;
      const response = await call;
      expect(response.status).toBe(status);
      return loggedLine(from, api, (line) => line.message === 'request rejected' && line.request_id === response.body.requestId);
    };
    const unknownCase = '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const tenantKeys = (line: Line) => ({ tenant_id: line.tenant_id, tier: line.tier, cell_id: line.cell_id });
    const noTenant = { tenant_id: undefined, tier: undefined, cell_id: undefined };

    // A's request: its lines are A's (the 404 is logged after a DynamoDB round trip).
    const ofA = await rejected(a.call('GET', unknownCase), 404);
    expect(tenantKeys(ofA)).toEqual({ tenant_id: a.tenantId, tier: 'premium', cell_id: a.cellId });
    // Next in the same environment, a request with no tenant, refused on the error path: no tenant at all.
    const anonymous = await rejected(env.call('GET', `/health?tenant=${a.tenantId}&probe=1&probe=2`), 400);
    expect(anonymous.scope).toBe('public');
    expect(tenantKeys(anonymous)).toEqual(noTenant);
    // Then B: B's keys only.
    const ofB = await rejected(b.call('GET', unknownCase), 404);
    expect(tenantKeys(ofB)).toEqual({ tenant_id: b.tenantId, tier: 'basic', cell_id: b.cellId });
    // One warm environment served all three, as Lambda would.
    expect(new Set([ofA.stream, anonymous.stream, ofB.stream]).size).toBe(1);

    // The authorizer too: B suspended (which flushes its cached decisions), A let in, then B refused.
    expect((await env.call('POST', `/admin/tenants/${b.tenantId}/suspend`, { token: env.operatorToken, body: { reason: 'log drill' } })).status).toBe(200);
    expect((await a.call('GET', unknownCase)).status).toBe(404);
    let from = env.logs.length;
    expect((await b.call('GET', unknownCase)).status).toBe(403);
    const denied = await loggedLine(from, authorizer, (line) => line.message === 'tenant denied');
    expect(denied).toMatchObject({ tenant_id: b.tenantId, status: 'SUSPENDED' });
    expect([undefined, 'basic']).toContain(denied.tier);
    // Then a forged token: nobody's tenant.
    const [header, payload, signature] = a.token.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    from = env.logs.length;
    expect((await env.call('GET', unknownCase, { token: forged })).status).toBe(401);
    const rejectedToken = await loggedLine(from, authorizer, (line) => line.message === 'token rejected');
    expect({ ...tenantKeys(rejectedToken), user_id: rejectedToken.user_id }).toEqual({ ...noTenant, user_id: undefined });
    expect(rejectedToken.stream).toBe(denied.stream);
    for (const line of [anonymous, ofB, denied, rejectedToken]) expect(JSON.stringify(line)).not.toContain(a.tenantId);
  });

  it('tags every handler log line with the tenant, tier, cell and request id', async () => {
    await acme.call('GET', '/cases');
    const handlerLines = env.logs
      .filter((entry) => entry.source.endsWith('-api'))
      .map((entry) => {
        try {
          return JSON.parse(entry.line) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      // Public routes (the health check) serve no tenant.
      .filter((line): line is Record<string, unknown> => line !== undefined && 'level' in line && line.scope !== 'public');
    expect(handlerLines.length).toBeGreaterThan(0);
    for (const line of handlerLines) {
      expect(line).toMatchObject({ tenant_id: expect.any(String), tier: expect.any(String), cell_id: expect.any(String), request_id: expect.any(String) });
    }
  });
});
