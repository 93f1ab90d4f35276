import { createHash, randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as Cell from '@cellbook/core/cells/cell';
import { rulePattern } from '@cellbook/core/events/catalog';
import * as Keys from '@cellbook/core/keys/keys';
import * as TenantMove from '@cellbook/core/lifecycle/tenant-move';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { tenantBucketIn } from '@cellbook/core/tenancy/tenant-bucket';
import { listTenantObjects } from '@cellbook/core/tenant-data/objects';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseAt } from '../support/pause-point.js';
import { bootTestPlatform, tenantItemsInCell, type TestPlatform, type TestTenant } from '../support/platform.js';

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

const otherCell = (tenant: { cellId: string }) => (tenant.cellId === 'cell-1' ? 'cell-2' : 'cell-1');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const itemsIn = (cellId: string, tenantId: string) => tenantItemsInCell(env.platform, cellId, tenantId);

async function waitForMove(tenantId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tenant = await env.call('GET', `/admin/tenants/${tenantId}`, { token: env.operatorToken });
    const state = tenant.body.move?.state;
    if (state === 'DONE' || state === 'FAILED') return tenant.body;
    if (Date.now() > deadline) throw new Error(`move of ${tenantId} still ${state} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A client that keeps writing: opens cases, adds notes, renames cases. It honours 503 + Retry-After
 * and 429 by pausing and trying again, and remembers only what the API acknowledged.
 */
function liveTraffic(tenant: TestTenant, writers: number) {
  const acknowledged = { cases: new Map<string, string>(), notes: new Map<string, string[]>() };
  const seen = { moving: 0, moved: 0, throttled: 0, requests: 0 };
  let running = true;
  const send = async (method: string, path: string, body: object) => {
    for (;;) {
      seen.requests++;
      const response = await tenant.call(method, path, { body });
      if (response.status === 503) {
        if (response.body.error?.code === 'TENANT_MOVING') seen.moving++;
        if (response.body.error?.code === 'TENANT_MOVED') seen.moved++;
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        await sleep(50);
        continue;
      }
      if (response.status === 429) {
        seen.throttled++;
        await sleep(100);
        continue;
      }
      return response;
    }
  };
  const writer = async (w: number) => {
    for (let i = 0; running; i++) {
      const created = await send('POST', '/cases', { title: `w${w} case ${i}`, priority: 'medium' });
      expect(created.status).toBe(201);
      const caseId = created.body.caseId as string;
      acknowledged.cases.set(caseId, created.body.title);
      const note = await send('POST', `/cases/${caseId}/notes`, { body: `note ${i} of writer ${w}` });
      expect(note.status).toBe(201);
      acknowledged.notes.set(caseId, [note.body.noteId]);
      const renamed = await send('PATCH', `/cases/${caseId}`, { title: `w${w} case ${i} (renamed)` });
      expect(renamed.status).toBe(200);
      acknowledged.cases.set(caseId, renamed.body.title);
    }
  };
  // A failed expectation stops that writer; stop() reports it.
  const done = Promise.allSettled(Array.from({ length: writers }, (_, w) => writer(w)));
  return {
    acknowledged,
    seen,
    async stop() {
      running = false;
      for (const outcome of await done) if (outcome.status === 'rejected') throw outcome.reason;
    },
  };
}

describe('POST /admin/tenants/{id}/move', () => {
  it('moves a tenant under live traffic without losing an acknowledged write, and purges the source', async () => {
    const tenant = await env.onboard('standard');
    const from = tenant.cellId;
    const to = otherCell(tenant);
    const traffic = liveTraffic(tenant, 3);
    while (traffic.acknowledged.cases.size < 15) await sleep(20);

    const started = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: to, reason: 'rebalancing' } });
    expect(started.status).toBe(202);
    expect(started.body.move).toMatchObject({ fromCellId: from, toCellId: to, state: 'REQUESTED' });
    const moved = await waitForMove(tenant.tenantId);
    expect(moved).toMatchObject({ cellId: to, status: 'ACTIVE', move: { state: 'DONE', fromCellId: from, toCellId: to } });
    // Traffic goes on against the new cell for a moment.
    const atSwitch = traffic.acknowledged.cases.size;
    while (traffic.acknowledged.cases.size < atSwitch + 5) await sleep(20);
    await traffic.stop();

    for (const [caseId, title] of traffic.acknowledged.cases) {
      const found = await tenant.call('GET', `/cases/${caseId}`);
      expect(found.status, `case ${caseId}`).toBe(200);
      expect(found.body.title).toBe(title);
      expect(found.headers.get('x-cellbook-cell')).toBe(to);
    }
    for (const [caseId, noteIds] of traffic.acknowledged.notes) {
      const notes = await tenant.call('GET', `/cases/${caseId}/notes`);
      expect(notes.body.items.map((note: { noteId: string }) => note.noteId)).toEqual(expect.arrayContaining(noteIds));
    }
    expect((await tenant.call('GET', '/me')).body).toMatchObject({ cellId: to, usage: { activeCases: traffic.acknowledged.cases.size, users: 1 } });
    expect(await itemsIn(from, tenant.tenantId)).toBe(0);

    const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['tenant.onboarded', 'tenant.move-requested', 'tenant.moved']);
    expect(audit.body.items[2]).toMatchObject({ reason: 'rebalancing', before: { cellId: from }, after: { cellId: to, items: expect.any(Number) } });
    console.info('move under traffic:', traffic.seen, 'acknowledged cases:', traffic.acknowledged.cases.size);
  });

  it('refuses a move to the cell the tenant is in, to an unknown cell, or of an unknown tenant, changing nothing', async () => {
    const tenant = await env.onboard('basic');
    const same = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: tenant.cellId } });
    expect([same.status, same.body.error.code]).toEqual([422, 'INVALID_MOVE']);
    const unknownCell = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: 'cell-99' } });
    expect([unknownCell.status, unknownCell.body.error.code]).toEqual([404, 'CELL_NOT_FOUND']);
    const badBody = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: 'cell-2', extra: 1 } });
    expect(badBody.status).toBe(422);
    const unknownTenant = await env.call('POST', '/admin/tenants/no-such-tenant/move', { token: env.operatorToken, body: {} });
    expect([unknownTenant.status, unknownTenant.body.error.code]).toEqual([404, 'TENANT_NOT_FOUND']);
    const malformed = await env.call('POST', '/admin/tenants/Not_A_Tenant/move', { token: env.operatorToken, body: {} });
    expect([malformed.status, malformed.body.error.code]).toEqual([404, 'TENANT_NOT_FOUND']);
    const after = await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken });
    expect(after.body).toMatchObject({ cellId: tenant.cellId });
    expect(after.body.move).toBeUndefined();
  });
});

describe('TenantMove.run', () => {
  // These drills run the mover in this process, so the bus's mover must not run it at the same time.
  beforeAll(() => env.platform.eventBus.service.removeRule('cellbook-local-control-tenant-mover', env.platform.eventBus.name));

  it('answers writes during the freeze with 503 TENANT_MOVING and Retry-After, while reads go on', async () => {
    const tenant = await env.onboard('basic');
    const existing = await tenant.call('POST', '/cases', { body: { title: 'before the move', priority: 'low' } });
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    const frozen = pauseAt('FROZEN');
    void TenantMove.run(tenant.tenantId, move.moveId, { afterState: frozen.hook });
    await frozen.reached;
    const write = await tenant.call('POST', '/cases', { body: { title: 'during the move', priority: 'low' } });
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).toBe('2');
    expect(write.body).toEqual({ error: { code: 'TENANT_MOVING', message: expect.any(String) }, requestId: expect.any(String) });
    const read = await tenant.call('GET', `/cases/${existing.body.caseId}`);
    expect(read.status).toBe(200);
    frozen.release();
    await waitForMove(tenant.tenantId);
    expect((await tenant.call('GET', '/cases')).body.items.map((c: { title: string }) => c.title)).toEqual(['before the move']);
  });

  it('waits for a write that was already in flight when it froze the tenant, and carries it to the new cell', async () => {
    const tenant = await env.onboard('basic');
    const from = tenant.cellId;
    const to = otherCell(tenant);
    const source = env.platform.cells.find((cell) => cell.cellId === from)!;
    const opened = await tenant.call('POST', '/cases', { body: { title: 'noted during the move', priority: 'low' } });
    const caseId = opened.body.caseId as string;
    const counters = Keys.tenantMetaKey(tenant.tenantId);
    const caseKey = Keys.caseKey(tenant.tenantId, caseId);
    const s = (value: unknown) => (value as { S?: unknown } | undefined)?.S;

    // Hold the tenant's note in flight: it has registered with the write fence and is on its way
    // to the table, but the table has not stored it yet.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => {
      held = resolve;
    });
    // After the freeze, how often the mover has looked at the tenant's in-flight count in the source.
    let frozen = false;
    let countsRead = 0;
    const stopIntercepting = env.platform.interceptDynamoDb(async ({ operation, body }) => {
      const item = body.Item as Record<string, unknown> | undefined;
      if (operation === 'PutItem' && body.TableName === source.tableName && s(item?.PK) === caseKey.PK && s(item?.type) === 'note') {
        held();
        await released;
      }
      const key = body.Key as Record<string, unknown> | undefined;
      if (frozen && operation === 'GetItem' && body.TableName === source.tableName && s(key?.PK) === counters.PK && s(key?.SK) === counters.SK) {
        // The mover has seen the write in flight and looks again: it is waiting for it. Let it land.
        if (++countsRead === 2) release();
      }
    });
    try {
      const note = tenant.call('POST', `/cases/${caseId}/notes`, { body: { body: 'written while the move froze the tenant' } });
      await inFlight;
      const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
      const done = TenantMove.run(tenant.tenantId, move.moveId, {
        afterState: async (state) => {
          if (state === 'FROZEN') frozen = true;
          // A mover that copied without waiting: the write lands now, behind the copy's back.
          if (state === 'COPIED') {
            release();
            await note;
          }
        },
      });
      const acknowledged = await note;
      expect(acknowledged.status).toBe(201);
      expect(await done).toMatchObject({ state: 'DONE', toCellId: to });
      const notes = await tenant.call('GET', `/cases/${caseId}/notes`);
      expect(notes.headers.get('x-cellbook-cell')).toBe(to);
      expect(notes.body.items.map((n: { noteId: string }) => n.noteId)).toEqual([acknowledged.body.noteId]);
      expect(await itemsIn(from, tenant.tenantId)).toBe(0);
    } finally {
      release();
      stopIntercepting();
    }
  });

  it('tells a request that still reaches the old cell to retry (503 TENANT_MOVED), not 403', async () => {
    const tenant = await env.onboard('basic');
    const from = tenant.cellId;
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    await TenantMove.run(tenant.tenantId, move.moveId);
    const oldCell = env.platform.cells.find((cell) => cell.cellId === from)!;
    const stale = await fetch(new URL('/me', oldCell.url), { headers: { authorization: `Bearer ${tenant.token}` } });
    expect(stale.status).toBe(503);
    expect(stale.headers.get('retry-after')).toBe('1');
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('TENANT_MOVED');
  });

  it('lets only one mover work on a move: a second one started meanwhile leaves it to the first', async () => {
    const tenant = await env.onboard('basic');
    await tenant.call('POST', '/cases', { body: { title: 'one mover only', priority: 'low' } });
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    const copied = pauseAt('COPIED');
    const first = TenantMove.run(tenant.tenantId, move.moveId, { afterState: copied.hook });
    await copied.reached;
    // The second mover finds the first one's live lease and returns the move as it stands.
    expect(await TenantMove.run(tenant.tenantId, move.moveId)).toMatchObject({ state: 'COPIED' });
    // A tier change meanwhile would be undone by the switch: refused.
    const tierChange = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: { tier: 'standard' } });
    expect([tierChange.status, tierChange.body.error.code]).toEqual([409, 'MOVE_IN_PROGRESS']);
    copied.release();
    expect(await first).toMatchObject({ state: 'DONE' });
    expect((await tenant.call('GET', '/cases')).body.items.map((c: { title: string }) => c.title)).toEqual(['one mover only']);
  });

  it('carries over evidence an old upload URL put into the source after the copy, and never brings back one deleted in the new cell', async () => {
    const tenant = await env.onboard('standard');
    const caseId = (await tenant.call('POST', '/cases', { body: { title: 'evidence across a move', priority: 'low' } })).body.caseId as string;
    const declare = (bytes: Buffer) => ({
      name: 'scan.pdf',
      contentType: 'application/pdf',
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    const put = (upload: { url: string; headers: Record<string, string> }, bytes: Buffer) => {
      const { 'content-length': _length, ...headers } = upload.headers;
      return fetch(upload.url, { method: 'PUT', headers, body: bytes });
    };
    const attach = async (bytes: Buffer) => {
      const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(bytes) });
      expect(requested.status).toBe(201);
      expect((await put(requested.body.upload, bytes)).status).toBe(200);
      expect((await tenant.call('POST', `/cases/${caseId}/evidence/${requested.body.evidenceId}/complete`)).status).toBe(200);
      return requested.body.evidenceId as string;
    };
    const keysIn = async (cellId: string) => {
      const cell = (await Cell.get(cellId))!;
      return (await listTenantObjects(tenantBucketIn(cell, tenant.tenantId), tenant.tenantId)).map(({ key }) => key.split('evidence=')[1]).sort();
    };
    const [deletedBytes, keptBytes, lateBytes] = [randomBytes(2000), randomBytes(3000), randomBytes(4000)];
    const deleted = await attach(deletedBytes);
    const kept = await attach(keptBytes);
    // An upload URL handed out before the move, to the old cell's bucket; used only after the copy.
    const late = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(lateBytes) });
    expect(late.status).toBe(201);

    const from = tenant.cellId;
    const to = otherCell(tenant);
    const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
    const switched = pauseAt('SWITCHED');
    const run = TenantMove.run(tenant.tenantId, move.moveId, { afterState: switched.hook });
    await switched.reached;
    expect(await keysIn(to)).toEqual([deleted, kept].sort());
    // In the new cell, the user deletes one file; the old URL puts the late file into the old cell.
    expect((await tenant.call('DELETE', `/cases/${caseId}/evidence/${deleted}`)).status).toBe(204);
    expect((await put(late.body.upload, lateBytes)).status).toBe(200);
    expect(await keysIn(from)).toEqual([deleted, kept, late.body.evidenceId].sort());
    switched.release();
    expect(await run).toMatchObject({ state: 'DONE' });

    // The deleted file stays deleted; the late one came over, whole, and completes in the new cell.
    expect(await keysIn(to)).toEqual([kept, late.body.evidenceId].sort());
    expect(await keysIn(from)).toEqual([]);
    expect((await tenant.call('GET', `/cases/${caseId}/evidence/${deleted}`)).status).toBe(404);
    const completed = await tenant.call('POST', `/cases/${caseId}/evidence/${late.body.evidenceId}/complete`);
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    for (const [evidenceId, bytes] of [
      [kept, keptBytes],
      [late.body.evidenceId, lateBytes],
    ] as const) {
      const link = (await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`)).body.download.url as string;
      expect(link).toContain(`tenant%3D${tenant.tenantId}`);
      expect(Buffer.from(await (await fetch(link)).arrayBuffer()).equals(bytes)).toBe(true);
    }
  });

  /** A tenant with `cases` cases of one note each: more items than one copy batch (25) several times over. */
  async function tenantWithCases(cases: number) {
    const tenant = await env.onboard('premium');
    for (let i = 0; i < cases; i++) {
      const created = await tenant.call('POST', '/cases', { body: { title: `case ${i}`, priority: 'low' } });
      expect(created.status).toBe(201);
      expect((await tenant.call('POST', `/cases/${created.body.caseId}/notes`, { body: { body: `note of case ${i}` } })).status).toBe(201);
    }
    return tenant;
  }

  it("hands a copy that reaches its run's deadline to a fresh run, which continues from the checkpoint", async () => {
    const tenant = await tenantWithCases(40);
    const to = otherCell(tenant);
    const requested: Array<{ detail: { data: { moveId: string }; idempotencyKey: string } }> = [];
    const bus = env.platform.eventBus;
    bus.service.putRule({
      name: 'test-move-requests',
      eventBusName: bus.name,
      eventPattern: rulePattern('TenantMoveRequested'),
      targets: [{ id: 'recorder', deliver: async (event) => void requested.push(event as never) }],
    });
    try {
      const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
      // Every run is past its deadline as soon as it has done one thing: one state, or one batch of the copy.
      const runs: string[] = [];
      let state: string | undefined;
      do {
        const after = await TenantMove.run(tenant.tenantId, move.moveId, { handOverAt: 0 });
        state = after?.state;
        runs.push(state ?? 'none');
        if (state === 'FROZEN' && after?.copyCheckpoint) {
          // Handed over: the progress is recorded and visible to operators (not the resume position),
          // and the tenant's writes are still held off.
          const shown = await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken });
          expect(shown.body.move).toMatchObject({ state: 'FROZEN', copyProgress: { items: expect.any(Number), at: expect.any(String) } });
          expect(shown.body.move.copyCheckpoint).toBeUndefined();
          expect((await tenant.call('POST', '/cases', { body: { title: 'during the move', priority: 'low' } })).status).toBe(503);
        }
      } while (state !== 'DONE' && state !== 'FAILED' && runs.length < 50);

      // 1 counters item, 1 user, 40 cases, 40 notes, 3 analytics items and the audit records of the
      // 80 requests that made them (a premium tenant): 165 items, 25 per run until the copy is done;
      // then one run each to verify, to switch and to purge.
      expect(runs).toEqual(['FROZEN', 'FROZEN', 'FROZEN', 'FROZEN', 'FROZEN', 'FROZEN', 'COPIED', 'VERIFIED', 'SWITCHED', 'DONE']);
      await bus.service.drain();
      const continuations = requested.filter((event) => event.detail.data.moveId === move.moveId && event.detail.idempotencyKey.includes('#continue#'));
      expect(continuations.map((event) => event.detail.idempotencyKey.split('#continue#')[1])).toEqual([
        'FROZEN#25',
        'FROZEN#50',
        'FROZEN#75',
        'FROZEN#100',
        'FROZEN#125',
        'FROZEN#150',
        'COPIED#0',
        'VERIFIED#0',
        'SWITCHED#0',
      ]);

      const done = await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken });
      expect(done.body).toMatchObject({ cellId: to, move: { state: 'DONE', copied: { count: 165 } } });
      expect(done.body.move.copyProgress).toBeUndefined();
      const listed = await tenant.call('GET', '/cases?limit=100');
      expect(listed.body.items.map((c: { title: string }) => c.title).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `case ${i}`).sort());
      expect(await itemsIn(tenant.cellId, tenant.tenantId)).toBe(0);
    } finally {
      bus.service.removeRule('test-move-requests', bus.name);
    }
  });

  it('resumes a copy that failed right after a checkpoint from that checkpoint, counting every item once', async () => {
    const tenant = await tenantWithCases(30);
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    await expect(
      TenantMove.run(tenant.tenantId, move.moveId, {
        handOverAt: 0,
        afterCheckpoint: () => {
          throw new Error('mover died after its checkpoint');
        },
      }),
    ).rejects.toThrow('mover died after its checkpoint');
    const record = (await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken })).body;
    expect(record.move).toMatchObject({ state: 'FROZEN', copyProgress: { items: 25 } });

    const finished = await TenantMove.run(tenant.tenantId, move.moveId);
    // 1 counters item, 1 user, 30 cases, 30 notes, 3 analytics items, 60 audit records (premium) — the
    // 25 copied before the crash are not counted twice.
    expect(finished).toMatchObject({ state: 'DONE', copied: { count: 125 } });
    expect((await tenant.call('GET', '/cases?limit=100')).body.items).toHaveLength(30);
  });

  /** Writes straight into a cell's table with the platform's admin credentials, as a fault would. */
  async function tamperWithCell(cellId: string, item: Record<string, unknown>) {
    const cell = env.platform.cells.find((candidate) => candidate.cellId === cellId)!;
    const db = documentClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.dynamodb,
      credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
    });
    await db.send(new PutCommand({ TableName: cell.tableName, Item: item }));
  }

  it('copies again when verification finds the target different from the source, and then finishes', async () => {
    const tenant = await env.onboard('basic');
    const created = await tenant.call('POST', '/cases', { body: { title: 'verified twice', priority: 'low' } });
    const to = otherCell(tenant);
    const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
    let tampered = false;
    const done = await TenantMove.run(tenant.tenantId, move.moveId, {
      afterState: async (state) => {
        if (state !== 'COPIED' || tampered) return;
        tampered = true;
        // The copy of the case lost a write: the target's case differs from the source's.
        await tamperWithCell(to, { ...Keys.caseKey(tenant.tenantId, created.body.caseId), title: 'corrupted in the copy' });
      },
    });
    expect(done).toMatchObject({ state: 'DONE', verifyAttempts: 1 });
    expect((await tenant.call('GET', `/cases/${created.body.caseId}`)).body.title).toBe('verified twice');
  });

  it('abandons a move it cannot verify: the tenant stays in its cell, writable, and the failure is audited', async () => {
    const tenant = await env.onboard('basic');
    await tenant.call('POST', '/cases', { body: { title: 'stays put', priority: 'low' } });
    const from = tenant.cellId;
    const to = otherCell(tenant);
    const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
    let copies = 0;
    const failed = await TenantMove.run(tenant.tenantId, move.moveId, {
      afterState: async (state) => {
        if (state !== 'COPIED') return;
        // Every copy finds an item in the target the source does not have.
        await tamperWithCell(to, { ...Keys.tenantUserKey(tenant.tenantId, `stray-${++copies}@example.com`), username: `stray-${copies}@example.com` });
      },
    });
    expect(failed).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/^verification failed/) });
    expect(copies).toBe(3);
    const shown = (await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken })).body;
    expect(shown).toMatchObject({ cellId: from, status: 'ACTIVE', move: { state: 'FAILED' } });
    const write = await tenant.call('POST', '/cases', { body: { title: 'after the failed move', priority: 'low' } });
    expect(write.status).toBe(201);
    expect(write.headers.get('x-cellbook-cell')).toBe(from);
    const audit = await env.call('GET', `/admin/tenants/${tenant.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toContain('tenant.move-failed');
  });

  it('lets the retry of a dead mover wait out its lease and carry the move on', async () => {
    const tenant = await env.onboard('basic');
    await tenant.call('POST', '/cases', { body: { title: 'outlived its mover', priority: 'low' } });
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    // A mover that took the lease, froze the tenant and died without releasing anything.
    const frozen = pauseAt('FROZEN');
    const dead = TenantMove.run(tenant.tenantId, move.moveId, {
      // Its clock says the lease runs out in half a second.
      now: () => Date.now() - TenantMove.MOVER_LEASE_MS + 500,
      afterState: frozen.hook,
    });
    await frozen.reached;
    // Without waiting, a second run leaves the move to the lease holder…
    expect(await TenantMove.run(tenant.tenantId, move.moveId)).toMatchObject({ state: 'FROZEN' });
    // …with waitForLease (as the Lambda handler runs it), it waits for the lease to run out and takes over.
    const retried = await TenantMove.run(tenant.tenantId, move.moveId, { waitForLease: true });
    expect(retried).toMatchObject({ state: 'DONE' });
    frozen.release();
    await dead.catch(() => undefined);
    expect((await tenant.call('GET', '/cases')).body.items.map((c: { title: string }) => c.title)).toEqual(['outlived its mover']);
  });

  it('takes over the move of a mover that died, once its lease has run out', async () => {
    const tenant = await env.onboard('basic');
    const move = await TenantMove.request(tenant.tenantId, { cellId: otherCell(tenant) }, { actor: 'operator' });
    // A mover that took the lease and died without a word: its lease is still there.
    let stop: () => void = () => undefined;
    let frozen: () => void = () => undefined;
    const atFrozen = new Promise<void>((resolve) => {
      frozen = resolve;
    });
    const hung = TenantMove.run(tenant.tenantId, move.moveId, {
      afterState: (state) => {
        if (state !== 'FROZEN') return undefined;
        frozen();
        return new Promise<void>((resolve) => {
          stop = resolve;
        });
      },
    });
    // Wait until the hung mover holds the lease and has frozen the tenant (not for the order in
    // which the table applies concurrent requests): a second mover now leaves the move to it.
    await atFrozen;
    expect(await TenantMove.run(tenant.tenantId, move.moveId)).toMatchObject({ state: 'FROZEN' });
    const later = () => Date.now() + TenantMove.MOVER_LEASE_MS + 1_000;
    const finished = await TenantMove.run(tenant.tenantId, move.moveId, { now: later });
    expect(finished).toMatchObject({ state: 'DONE' });
    stop();
    // The hung mover wakes up to a move it no longer holds: it stops at its next state change.
    await expect(hung).rejects.toThrow();
    expect((await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken })).body.move.state).toBe('DONE');
  });

  it.each(['FROZEN', 'COPIED', 'VERIFIED', 'SWITCHED'] as const)('finishes a move whose mover crashed after %s, data intact', async (crashAt) => {
    const tenant = await env.onboard('basic');
    const titles: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await tenant.call('POST', '/cases', { body: { title: `case ${i}`, priority: 'high' } });
      await tenant.call('POST', `/cases/${created.body.caseId}/notes`, { body: { body: `note on case ${i}` } });
      titles.push(created.body.title);
    }
    const to = otherCell(tenant);
    const move = await TenantMove.request(tenant.tenantId, { cellId: to }, { actor: 'operator' });
    await expect(
      TenantMove.run(tenant.tenantId, move.moveId, {
        afterState: (state) => {
          if (state === crashAt) throw new Error(`crashed after ${state}`);
        },
      }),
    ).rejects.toThrow(`crashed after ${crashAt}`);
    // The operator (or the bus's redelivery) starts the mover again.
    const again = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: to } });
    expect(again.status).toBe(202);
    expect(again.body.move.moveId).toBe(move.moveId);
    const finished = await TenantMove.run(tenant.tenantId, move.moveId);
    // 5 cases, 5 notes, counters, 1 user and 3 analytics items.
    expect(finished).toMatchObject({ state: 'DONE', copied: { count: 15 } });
    const cases = await tenant.call('GET', '/cases');
    expect(cases.headers.get('x-cellbook-cell')).toBe(to);
    expect(cases.body.items.map((c: { title: string }) => c.title).sort()).toEqual(titles.sort());
    expect(await itemsIn(tenant.cellId, tenant.tenantId)).toBe(0);
    // Exactly one slot, in the target.
    const holding = (await Cell.list()).filter((cell) => cell.tenants?.has(tenant.tenantId)).map((cell) => cell.cellId);
    expect(holding).toEqual([to]);
  });
});
