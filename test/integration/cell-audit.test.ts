import * as Cell from '@cellbook/core/cells/cell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, twoPooledCells, type TestPlatform } from '../support/platform.js';

/**
 * Operator actions on a cell (capacity, wave, draining, drains) are audited like actions on a
 * tenant: who, what, why, before and after — and which tenants the cell held.
 */
class SimulatedCrash extends Error {}

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform({ cells: twoPooledCells(10) });
  // Crash drills run the catalog's code in this process, with the control plane's environment.
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

const setCell = (body: unknown) => env.call('POST', '/admin/cells', { token: env.operatorToken, body });
const trailOf = async (cellId: string, query = '') => {
  const response = await env.call('GET', `/admin/cells/${cellId}/audit${query}`, { token: env.operatorToken });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { items: Array<Record<string, unknown>>; nextCursor: string | null };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the audit trail of a cell', () => {
  it('records who changed a setting, why, from what to what, and which tenants the cell held', async () => {
    const tenant = await env.onboard('basic');
    const changed = await setCell({ cellId: tenant.cellId, capacity: 7, wave: 3, reason: 'smaller canary' });
    expect(changed.status).toBe(200);
    // The operator's view of the cell shows the change, not its bookkeeping.
    expect(Object.keys(changed.body).sort()).toEqual(['capacity', 'cellId', 'placement', 'region', 'release', 'status', 'tenantCount', 'wave']);

    const { items } = await trailOf(tenant.cellId);
    expect(items.at(-1)).toEqual({
      cellId: tenant.cellId,
      auditId: expect.any(String),
      at: expect.any(String),
      actor: 'operator',
      action: 'cell.updated',
      reason: 'smaller canary',
      tenants: expect.arrayContaining([tenant.tenantId]),
      before: { capacity: 10, wave: tenant.cellId === 'cell-1' ? 0 : 1 },
      after: { capacity: 7, wave: 3 },
    });
    await setCell({ cellId: tenant.cellId, capacity: 10, wave: tenant.cellId === 'cell-1' ? 0 : 1 });
  });

  it('audits a drain: the cell stops taking tenants, each tenant is moved, and both trails say so', async () => {
    const fresh = await bootTestPlatform({ cells: twoPooledCells(10) });
    try {
      const tenants = [];
      for (let i = 0; i < 6; i++) tenants.push(await fresh.onboard('basic'));
      const drained = tenants
        .filter((tenant) => tenant.cellId === 'cell-1')
        .map((tenant) => tenant.tenantId)
        .sort();
      expect(drained.length).toBeGreaterThan(0);

      const drain = await fresh.call('POST', '/admin/cells/cell-1/drain', { token: fresh.operatorToken, body: { reason: 'host retirement' } });
      expect(drain.status).toBe(202);

      const trail = await fresh.call('GET', '/admin/cells/cell-1/audit', { token: fresh.operatorToken });
      const actions = trail.body.items.map((record: { action: string }) => record.action);
      expect(actions).toEqual(['cell.drain-started', 'cell.moves-requested']);
      const [started, requested] = trail.body.items;
      expect(started).toMatchObject({ actor: 'operator', reason: 'host retirement', tenants: drained, before: { status: 'active' }, after: { status: 'draining' } });
      expect(requested).toMatchObject({ actor: 'operator', reason: 'host retirement', tenants: drained });
      expect(requested.after.moves.map((move: { tenantId: string }) => move.tenantId)).toEqual(drained);
      expect(requested.after.moves.every((move: { toCellId: string }) => move.toCellId === 'cell-2')).toBe(true);
      expect(requested.after.skipped).toEqual([]);

      // Each moved tenant's own trail names the drain as the reason of its move.
      for (const tenantId of drained) {
        const own = await fresh.call('GET', `/admin/tenants/${tenantId}/audit`, { token: fresh.operatorToken });
        const moveRequested = own.body.items.find((record: { action: string }) => record.action === 'tenant.move-requested');
        expect(moveRequested).toMatchObject({ actor: 'operator', reason: 'Drain of cell-1: host retirement', before: { cellId: 'cell-1' }, after: { cellId: 'cell-2' } });
      }
      // The moves finish in the background: every drained tenant ends in cell-2, and cell-1 is empty.
      const deadline = Date.now() + 60_000;
      for (const tenantId of drained) {
        for (;;) {
          const tenant = (await fresh.call('GET', `/admin/tenants/${tenantId}`, { token: fresh.operatorToken })).body;
          if (tenant.move?.state === 'DONE' || tenant.move?.state === 'FAILED') {
            expect(tenant).toMatchObject({ cellId: 'cell-2', move: { state: 'DONE' } });
            break;
          }
          if (Date.now() > deadline) throw new Error(`move of ${tenantId} still ${tenant.move?.state}`);
          await sleep(50);
        }
      }
      const cells = (await fresh.call('GET', '/admin/cells', { token: fresh.operatorToken })).body.items;
      expect(cells.find((c: { cellId: string }) => c.cellId === 'cell-1')).toMatchObject({ status: 'draining', tenantCount: 0 });
      for (const tenant of tenants) expect((await tenant.call('GET', '/me')).body.cellId).toBe('cell-2');
    } finally {
      await fresh.stop();
    }
  });

  it('keeps the record of a change whose function died before writing it, and writes it exactly once', async () => {
    const before = (await trailOf('cell-2')).items.length;
    await expect(
      Cell.update(
        { cellId: 'cell-2', capacity: 9, reason: 'drill' },
        {
          actor: 'operator',
          afterChange: () => {
            throw new SimulatedCrash('died after the change');
          },
        },
      ),
    ).rejects.toBeInstanceOf(SimulatedCrash);

    // The change took effect, and the trail already lists it.
    const cells = await env.call('GET', '/admin/cells', { token: env.operatorToken });
    expect(cells.body.items.find((cell: { cellId: string }) => cell.cellId === 'cell-2').capacity).toBe(9);
    const listed = (await trailOf('cell-2')).items;
    expect(listed).toHaveLength(before + 1);
    expect(listed.at(-1)).toMatchObject({ action: 'cell.updated', reason: 'drill', before: { capacity: 10 }, after: { capacity: 9 } });

    // The next change writes it first, then its own: each once, in order.
    expect((await setCell({ cellId: 'cell-2', capacity: 10 })).status).toBe(200);
    const after = (await trailOf('cell-2')).items;
    expect(after).toHaveLength(before + 2);
    expect(after.slice(-2).map((record) => [record.reason ?? null, record.before, record.after])).toEqual([
      ['drill', { capacity: 10 }, { capacity: 9 }],
      [null, { capacity: 9 }, { capacity: 10 }],
    ]);
    expect(new Set(after.map((record) => record.auditId)).size).toBe(after.length);
  });

  it('gives concurrent changes exact before and after values: each record starts where another ended', async () => {
    const start = (await trailOf('cell-1')).items.length;
    const capacities = [11, 12, 13, 14, 15];
    // Started together in this process (no gateway spreading them out), as racing functions would be.
    const results = await Promise.all(capacities.map((capacity) => Cell.update({ cellId: 'cell-1', capacity }, { actor: 'operator' })));
    expect(results.map((cell) => cell.cellId)).toEqual(capacities.map(() => 'cell-1'));

    const records = (await trailOf('cell-1', '?limit=100')).items.slice(start) as Array<{ before: { capacity: number }; after: { capacity: number } }>;
    expect(records).toHaveLength(capacities.length);
    // Oldest first, the records form one chain from the old capacity to the final one.
    for (let i = 1; i < records.length; i++) expect(records[i]!.before.capacity).toBe(records[i - 1]!.after.capacity);
    const final = (await env.call('GET', '/admin/cells', { token: env.operatorToken })).body.items.find((cell: { cellId: string }) => cell.cellId === 'cell-1');
    expect(records.at(-1)!.after.capacity).toBe(final.capacity);
    await setCell({ cellId: 'cell-1', capacity: 10 });
  });

  it('pages the trail with a cursor that belongs to that cell only', async () => {
    for (const wave of [4, 5, 0]) await setCell({ cellId: 'cell-1', wave });
    const all = (await trailOf('cell-1', '?limit=100')).items;
    const first = await trailOf('cell-1', '?limit=2');
    expect(first.items).toEqual(all.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await trailOf('cell-1', `?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.items).toEqual(all.slice(2, 4));

    const foreign = await env.call('GET', `/admin/cells/cell-2/audit?cursor=${encodeURIComponent(first.nextCursor!)}`, { token: env.operatorToken });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('INVALID_CURSOR');
  });

  it('answers 404 for a cell that does not exist, and only operators may read a trail', async () => {
    for (const cellId of ['cell-9', 'CELL%23cell-1', 't-1']) {
      const response = await env.call('GET', `/admin/cells/${cellId}/audit`, { token: env.operatorToken });
      expect(response.status, cellId).toBe(404);
      expect(response.body.error.code, cellId).toBe('CELL_NOT_FOUND');
    }
    const tenant = await env.onboard('basic');
    // A tenant's token is not one the operator directory issued (DESIGN §13): 401.
    const asTenant = await env.call('GET', '/admin/cells/cell-1/audit', { token: tenant.token });
    expect(asTenant.status).toBe(401);
    expect((await env.call('GET', '/admin/cells/cell-1/audit?limit=0', { token: env.operatorToken })).status).toBe(422);
  });

  it('keeps a draining cell draining when its stack is deployed again', async () => {
    const cell = (await Cell.get('cell-2'))!;
    await setCell({ cellId: 'cell-2', status: 'draining' });
    const { tenantCount: _count, tenants: _tenants, requestedFor: _requested, ...registration } = cell;
    await Cell.register({ ...registration, status: 'active' });
    expect((await Cell.get('cell-2'))!.status).toBe('draining');
    // Taking the stack down always drains; an operator re-opens the cell explicitly.
    await setCell({ cellId: 'cell-2', status: 'active' });
    await Cell.register({ ...registration, status: 'active' });
    expect((await Cell.get('cell-2'))!.status).toBe('active');
  });
});
