import { randomUUID } from 'node:crypto';
import * as TenantMove from '@cellbook/core/lifecycle/tenant-move';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/** GET /audit: the tenant's own trail of reads and changes, for tenant admins, premium and up (issue 10, item 4). */
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

interface AuditRecord {
  auditId: string;
  at: string;
  actor: string;
  action: string;
  target: { type: string; id: string | null; caseId?: string };
  requestId: string;
  outcome: string;
  status: number | null;
  errorCode: string | null;
}

/** Calls the API and returns the response with the request id API Gateway gave it. */
async function act(tenant: TestTenant, method: string, path: string, body?: unknown) {
  const response = await tenant.call(method, path, body === undefined ? {} : { body });
  return { ...response, requestId: response.headers.get('x-amzn-requestid') ?? '' };
}

async function trail(tenant: TestTenant, query = ''): Promise<AuditRecord[]> {
  const response = await tenant.call('GET', `/audit${query}`);
  expect(response.status).toBe(200);
  return response.body.items;
}

/** Another tenant's case id: a real one, in the same cell. */
async function foreignCaseId(): Promise<string> {
  const other = await env.onboard('premium');
  return (await other.call('POST', '/cases', { body: { title: 'Not yours', priority: 'low' } })).body.caseId;
}

describe('GET /audit', () => {
  it('lists who read or changed which case, note or user, from which request, with the outcome, newest first', async () => {
    const tenant = await env.onboard('premium');
    const foreign = await foreignCaseId();
    const email = `agent-${randomUUID().slice(0, 8)}@example.com`;

    const opened = await act(tenant, 'POST', '/cases', { title: 'Printer on fire', priority: 'high' });
    const caseId = opened.body.caseId;
    const read = await act(tenant, 'GET', `/cases/${caseId}`);
    const changed = await act(tenant, 'PATCH', `/cases/${caseId}`, { status: 'IN_PROGRESS' });
    const noted = await act(tenant, 'POST', `/cases/${caseId}/notes`, { body: 'Called the fire brigade' });
    const notes = await act(tenant, 'GET', `/cases/${caseId}/notes`);
    const listed = await act(tenant, 'GET', '/cases');
    const probe = await act(tenant, 'GET', `/cases/${foreign}`);
    const invalid = await act(tenant, 'PATCH', `/cases/${caseId}`, { status: 'CLOSED' });
    const invited = await act(tenant, 'POST', '/users', { email, role: 'user' });
    const users = await act(tenant, 'GET', '/users');
    expect(probe.status).toBe(404);
    expect(invalid.status).toBe(409);

    const response = await tenant.call('GET', '/audit');

    expect(response.status).toBe(200);
    const items: AuditRecord[] = response.body.items;
    const actor = tenant.username;
    // This very read comes first, still pending: it is recorded before it runs.
    expect(items[0]).toMatchObject({ action: 'audit.read', actor, outcome: 'pending', requestId: response.headers.get('x-amzn-requestid') });
    expect(items.slice(1).map(({ auditId, at, ...rest }) => rest)).toEqual([
      { actor, action: 'user.list', target: { type: 'user', id: null }, requestId: users.requestId, outcome: 'succeeded', status: 200, errorCode: null },
      { actor, action: 'user.invite', target: { type: 'user', id: email }, requestId: invited.requestId, outcome: 'succeeded', status: 201, errorCode: null },
      {
        actor,
        action: 'case.update',
        target: { type: 'case', id: caseId },
        requestId: invalid.requestId,
        outcome: 'failed',
        status: 409,
        errorCode: 'INVALID_STATUS_TRANSITION',
      },
      // A probe of another tenant's case is recorded as the attempt it was; nothing of that case is.
      { actor, action: 'case.read', target: { type: 'case', id: foreign }, requestId: probe.requestId, outcome: 'failed', status: 404, errorCode: 'CASE_NOT_FOUND' },
      { actor, action: 'case.list', target: { type: 'case', id: null }, requestId: listed.requestId, outcome: 'succeeded', status: 200, errorCode: null },
      { actor, action: 'note.list', target: { type: 'note', id: null, caseId }, requestId: notes.requestId, outcome: 'succeeded', status: 200, errorCode: null },
      {
        actor,
        action: 'note.create',
        target: { type: 'note', id: noted.body.noteId, caseId },
        requestId: noted.requestId,
        outcome: 'succeeded',
        status: 201,
        errorCode: null,
      },
      { actor, action: 'case.update', target: { type: 'case', id: caseId }, requestId: changed.requestId, outcome: 'succeeded', status: 200, errorCode: null },
      { actor, action: 'case.read', target: { type: 'case', id: caseId }, requestId: read.requestId, outcome: 'succeeded', status: 200, errorCode: null },
      { actor, action: 'case.create', target: { type: 'case', id: caseId }, requestId: opened.requestId, outcome: 'succeeded', status: 201, errorCode: null },
    ]);
    const times = items.map((item) => item.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("never shows another tenant's actions, nor this tenant's to the other", async () => {
    const first = await env.onboard('premium');
    const second = await env.onboard('premium');
    const mine = await act(first, 'POST', '/cases', { title: 'Mine', priority: 'low' });
    const theirs = await act(second, 'POST', '/cases', { title: 'Theirs', priority: 'low' });

    const firstTrail = await trail(first);
    const secondTrail = await trail(second);

    expect(firstTrail.map((item) => item.requestId)).toContain(mine.requestId);
    expect(secondTrail.map((item) => item.requestId)).toContain(theirs.requestId);
    expect(firstTrail.map((item) => item.requestId)).not.toContain(theirs.requestId);
    expect(firstTrail.every((item) => item.actor === first.username)).toBe(true);
    expect(secondTrail.map((item) => item.requestId)).not.toContain(mine.requestId);
    expect(secondTrail.every((item) => item.actor === second.username)).toBe(true);
  });

  it('pages through the whole trail newest first with an opaque cursor, each record once', async () => {
    const tenant = await env.onboard('premium');
    const requestIds: string[] = [];
    for (let i = 0; i < 9; i += 1) requestIds.push((await act(tenant, 'POST', '/cases', { title: `Case ${i}`, priority: 'low' })).requestId);

    const seen: AuditRecord[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: { status: number; body: { items: AuditRecord[]; nextCursor: string | null } } = await tenant.call(
        'GET',
        `/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items);
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);

    const creates = seen.filter((item) => item.action === 'case.create');
    expect(creates.map((item) => item.requestId)).toEqual([...requestIds].reverse());
    expect(new Set(seen.map((item) => item.auditId)).size).toBe(seen.length);
    const ids = seen.map((item) => item.auditId);
    expect([...ids].sort().reverse()).toEqual(ids);
  });

  it('pages through a narrowed trail whose matches are sparse in every shard, each match once and in order', async () => {
    const tenant = await env.onboard('premium');
    const creates: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      const opened = await act(tenant, 'POST', '/cases', { title: `Case ${i}`, priority: 'low' });
      creates.push(opened.requestId);
      for (let j = 0; j < 3; j += 1) await act(tenant, 'GET', `/cases/${opened.body.caseId}`);
    }

    const seen: AuditRecord[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: { status: number; body: { items: AuditRecord[]; nextCursor: string | null } } = await tenant.call(
        'GET',
        `/audit?action=case.create&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.status).toBe(200);
      seen.push(...response.body.items);
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);

    expect(seen.map((item) => item.requestId)).toEqual([...creates].reverse());
  });

  it('narrows the trail by action, target and outcome', async () => {
    const tenant = await env.onboard('premium');
    const { caseId } = (await act(tenant, 'POST', '/cases', { title: 'Filtered', priority: 'low' })).body;
    await act(tenant, 'GET', `/cases/${caseId}`);
    await act(tenant, 'GET', '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV');

    const reads = await trail(tenant, '?action=case.read');
    const failed = await trail(tenant, '?outcome=failed');
    const aboutCase = await trail(tenant, `?targetId=${caseId}`);

    expect(reads.map((item) => item.target.id)).toEqual(['01ARZ3NDEKTSV4RRFFQ69G5FAV', caseId]);
    expect(failed.map((item) => [item.action, item.status])).toEqual([['case.read', 404]]);
    expect(aboutCase.map((item) => item.action)).toEqual(['case.read', 'case.create']);
  });

  it('refuses a tampered cursor (400) and bad parameters (422)', async () => {
    const tenant = await env.onboard('premium');
    for (const query of ['cursor=abc', `cursor=${Buffer.from(JSON.stringify({ v: 1, k: { after: 'TENANT#x' } })).toString('base64url')}`]) {
      const response = await tenant.call('GET', `/audit?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('INVALID_CURSOR');
    }
    for (const query of ['limit=0', 'limit=101', 'outcome=maybe', 'targetType=tenant', 'tenantId=t-1']) {
      const response = await tenant.call('GET', `/audit?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('answers 403 FEATURE_NOT_ENTITLED below premium', async () => {
    for (const tier of ['basic', 'standard'] as const) {
      const tenant = await env.onboard(tier);
      const response = await tenant.call('GET', '/audit');
      expect(response.status, tier).toBe(403);
      expect(response.body.error.code).toBe('FEATURE_NOT_ENTITLED');
    }
  });

  it('refuses a tenant user who is not an admin (403 FORBIDDEN), whose own actions the admin sees', async () => {
    const tenant = await env.onboard('premium');
    const email = `agent-${randomUUID().slice(0, 8)}@example.com`;
    const invited = await tenant.call('POST', '/users', { body: { email, role: 'user' } });
    const token = await env.signIn(email, invited.body.temporaryPassword, 'Agent-Pass-123');

    const refused = await env.call('GET', '/audit', { token });
    const opened = await env.call('POST', '/cases', { token, body: { title: 'By the agent', priority: 'low' } });

    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    const items = await trail(tenant);
    expect(items.find((item) => item.action === 'case.create')).toMatchObject({ actor: email, target: { id: opened.body.caseId }, outcome: 'succeeded' });
    expect(items.find((item) => item.action === 'audit.read' && item.actor === email)).toMatchObject({ outcome: 'failed', status: 403, errorCode: 'FORBIDDEN' });
  });
});

describe('the audit trail fails closed', () => {
  it("refuses a premium tenant's read it cannot record (frozen for a move: 503 TENANT_MOVING), and the moved trail is whole", async () => {
    const tenant = await env.onboard('premium');
    const basic = await env.onboard('basic');
    const opened = await act(tenant, 'POST', '/cases', { title: 'Before the move', priority: 'low' });
    const basicCase = (await basic.call('POST', '/cases', { body: { title: 'Not audited', priority: 'low' } })).body.caseId;
    const to = tenant.cellId === 'cell-1' ? 'cell-2' : 'cell-1';
    const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
    const basicMove = await TenantMove.request(basic.tenantId, { cellId: basic.cellId === 'cell-1' ? 'cell-2' : 'cell-1' }, { actor: 'operator' });
    for (const [tenantId, moveId] of [
      [tenant.tenantId, move.moveId],
      [basic.tenantId, basicMove.moveId],
    ]) {
      // The mover stops right after freezing the tenant in its cell (as a crash would leave it).
      await expect(
        TenantMove.run(tenantId as string, moveId as string, {
          afterState: (state) => {
            if (state === 'FROZEN') throw new Error('paused at FROZEN');
          },
        }),
      ).rejects.toThrow('paused at FROZEN');
    }

    const refused = await act(tenant, 'GET', `/cases/${opened.body.caseId}`);

    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TENANT_MOVING');
    // Reads of a tenant without the audit log are never fenced.
    expect((await basic.call('GET', `/cases/${basicCase}`)).status).toBe(200);

    expect(await TenantMove.run(tenant.tenantId, move.moveId)).toMatchObject({ state: 'DONE' });
    const items = await trail(tenant);
    expect(items.map((item) => item.requestId)).toContain(opened.requestId);
    expect(items.map((item) => item.requestId)).not.toContain(refused.requestId);
    expect(items.find((item) => item.requestId === opened.requestId)).toMatchObject({ action: 'case.create', outcome: 'succeeded' });
  });
});
