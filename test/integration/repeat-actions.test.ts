import * as Tenant from '@cellbook/core/tenants/tenant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, captureControlEvents, type ControlEvent, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * An operator who repeats an action that changes nothing (suspends a suspended tenant, drains a
 * draining cell, sets the tier a tenant already has) gets the current state back, and the audit
 * trails and the event bus show the action once — not once per click.
 */
let env: TestPlatform;
let events: ControlEvent[];

beforeAll(async () => {
  env = await bootTestPlatform({
    cells: [
      { cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 10 },
      { cellId: 'cell-2', placement: 'pooled', wave: 1, region: 'us-east-1', capacity: 10 },
      { cellId: 'cell-3', placement: 'pooled', wave: 1, region: 'us-east-1', capacity: 10 },
    ],
  });
  // Racing requests run the registry's code in this process, with the control plane's environment.
  Object.assign(process.env, env.platform.controlPlaneEnv);
  events = captureControlEvents(env).events;
});
afterAll(() => env?.stop());

const asOperator = (body?: unknown) => ({ token: env.operatorToken, ...(body !== undefined ? { body } : {}) });

async function tenantTrail(tenantId: string): Promise<string[]> {
  const response = await env.call('GET', `/admin/tenants/${tenantId}/audit?limit=100`, asOperator());
  expect(response.status).toBe(200);
  return response.body.items.map((record: { action: string }) => record.action);
}

async function cellTrail(cellId: string): Promise<string[]> {
  const response = await env.call('GET', `/admin/cells/${cellId}/audit?limit=100`, asOperator());
  expect(response.status).toBe(200);
  return response.body.items.map((record: { action: string }) => record.action);
}

async function eventsOf(tenantId: string): Promise<string[]> {
  await env.platform.eventBus.service.drain();
  return events.filter((event) => event.detail.tenantId === tenantId).map((event) => event['detail-type']);
}

async function onboardIn(cellId: string): Promise<TestTenant> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tenant = await env.onboard('basic');
    if (tenant.cellId === cellId) return tenant;
  }
  throw new Error(`no tenant landed in ${cellId}`);
}

describe('repeating a tenant lifecycle action', () => {
  it('suspends once: a second suspend answers 200 SUSPENDED and records nothing', async () => {
    const tenant = await env.onboard('basic');
    const first = await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, asOperator({ reason: 'unpaid' }));
    expect(first.status).toBe(200);
    const [trail, bus] = [await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    expect(trail.filter((action) => action === 'tenant.suspended')).toHaveLength(1);
    expect(bus.filter((type) => type === 'TenantSuspended')).toHaveLength(1);

    for (let i = 0; i < 3; i++) {
      const again = await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, asOperator({ reason: 'still unpaid' }));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    expect(await tenantTrail(tenant.tenantId)).toEqual(trail);
    expect(await eventsOf(tenant.tenantId)).toEqual(bus);
    expect((await tenant.call('GET', '/me')).status).toBe(403);
  });

  it('reactivates once: reactivating an active tenant answers 200 ACTIVE and records nothing', async () => {
    const tenant = await env.onboard('basic');
    const [trail, bus] = [await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    const again = await env.call('POST', `/admin/tenants/${tenant.tenantId}/reactivate`, asOperator());
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('ACTIVE');
    expect(await tenantTrail(tenant.tenantId)).toEqual(trail);
    expect(await eventsOf(tenant.tenantId)).toEqual(bus);

    // The positive control: a real change still records, once.
    await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, asOperator());
    await env.call('POST', `/admin/tenants/${tenant.tenantId}/reactivate`, asOperator());
    await env.call('POST', `/admin/tenants/${tenant.tenantId}/reactivate`, asOperator());
    expect(await tenantTrail(tenant.tenantId)).toEqual([...trail, 'tenant.suspended', 'tenant.reactivated']);
    expect(await eventsOf(tenant.tenantId)).toEqual([...bus, 'TenantSuspended', 'TenantReactivated']);
  });

  it('settles three identical suspends sent at once with one record and one event', async () => {
    const tenant = await env.onboard('basic');
    const [trail, bus] = [await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    // Started together in this process (no gateway spreading them out), as racing functions would be.
    const answers = await Promise.all([1, 2, 3].map(() => Tenant.suspend(tenant.tenantId, {}, { actor: 'operator' })));
    expect(answers.map((answer) => answer.status)).toEqual(['SUSPENDED', 'SUSPENDED', 'SUSPENDED']);
    expect(await tenantTrail(tenant.tenantId)).toEqual([...trail, 'tenant.suspended']);
    expect(await eventsOf(tenant.tenantId)).toEqual([...bus, 'TenantSuspended']);
  });

  it('answers a PATCH with the tier and overrides the tenant already has with 200 and records nothing', async () => {
    const tenant = await env.onboard('basic');
    const overrides = { limits: { maxUsers: 4, maxActiveCases: 30 }, features: { grant: ['analytics'] } };
    const set = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ overrides }));
    expect(set.status).toBe(200);
    const [trail, bus] = [await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    expect(trail.at(-1)).toBe('tenant.overrides-changed');

    const sameTier = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ tier: 'basic', reason: 'again' }));
    expect(sameTier.status).toBe(200);
    expect(sameTier.body).toEqual(set.body);
    // The same overrides written in another order are the same overrides.
    const reordered = { features: { grant: ['analytics'] }, limits: { maxActiveCases: 30, maxUsers: 4 } };
    const sameOverrides = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ tier: 'basic', overrides: reordered }));
    expect(sameOverrides.status).toBe(200);
    expect(sameOverrides.body).toEqual(set.body);
    expect(await tenantTrail(tenant.tenantId)).toEqual(trail);
    expect(await eventsOf(tenant.tenantId)).toEqual(bus);

    // The positive control: a real change of the overrides still records.
    const changed = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ overrides: { limits: { maxUsers: 5 } } }));
    expect(changed.status).toBe(200);
    expect(await tenantTrail(tenant.tenantId)).toEqual([...trail, 'tenant.overrides-changed']);
  });
});

describe('repeating overrides that mean the same entitlements', () => {
  it('answers 200 and records nothing for grants in another order, repeated grants, or empty lists and groups', async () => {
    const tenant = await env.onboard('basic');
    const set = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ overrides: { features: { grant: ['analytics', 'export'] } } }));
    expect(set.status).toBe(200);
    const [trail, bus] = [await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    for (const overrides of [
      { features: { grant: ['export', 'analytics'] } },
      { features: { grant: ['analytics', 'export', 'export'] } },
      { features: { grant: ['analytics', 'export'], revoke: [] }, limits: {} },
    ]) {
      const again = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, asOperator({ overrides }));
      expect(again.status, JSON.stringify(overrides)).toBe(200);
      expect(again.body).toEqual(set.body);
    }
    // A tenant without overrides given empty ones: still nothing to record.
    const plain = await env.onboard('basic');
    const plainTrail = await tenantTrail(plain.tenantId);
    for (const overrides of [{ limits: {} }, { features: { grant: [] } }, { features: {}, limits: {} }]) {
      expect((await env.call('PATCH', `/admin/tenants/${plain.tenantId}`, asOperator({ overrides }))).status).toBe(200);
    }
    expect(await tenantTrail(tenant.tenantId)).toEqual(trail);
    expect(await eventsOf(tenant.tenantId)).toEqual(bus);
    expect(await tenantTrail(plain.tenantId)).toEqual(plainTrail);
  });
});

describe('repeating a cell action', () => {
  it('answers a cell change to the settings it already has with 200 and records nothing', async () => {
    const before = await cellTrail('cell-2');
    const cell = (await env.call('GET', '/admin/cells', asOperator())).body.items.find((c: { cellId: string }) => c.cellId === 'cell-2');
    const again = await env.call('POST', '/admin/cells', asOperator({ cellId: 'cell-2', capacity: cell.capacity, wave: cell.wave, status: 'active' }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(cell);
    expect(await cellTrail('cell-2')).toEqual(before);
    // The positive control: a change of one setting records that setting only.
    await env.call('POST', '/admin/cells', asOperator({ cellId: 'cell-2', capacity: cell.capacity, wave: cell.wave + 1 }));
    const records = (await env.call('GET', '/admin/cells/cell-2/audit?limit=100', asOperator())).body.items;
    expect(records).toHaveLength(before.length + 1);
    expect(records.at(-1)).toMatchObject({ before: { wave: cell.wave }, after: { wave: cell.wave + 1 } });
  });

  it('drains once: draining a draining cell again starts nothing and records nothing', async () => {
    const tenant = await onboardIn('cell-3');
    const first = await env.call('POST', '/admin/cells/cell-3/drain', asOperator({ reason: 'retire' }));
    expect(first.status).toBe(202);
    expect(first.body.moves.map((move: { tenantId: string }) => move.tenantId)).toContain(tenant.tenantId);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = (await env.call('GET', `/admin/tenants/${tenant.tenantId}`, asOperator())).body.move?.state;
      if (state === 'DONE') break;
      if (state === 'FAILED' || Date.now() > deadline) throw new Error(`move ended ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [trail, ownTrail, bus] = [await cellTrail('cell-3'), await tenantTrail(tenant.tenantId), await eventsOf(tenant.tenantId)];
    expect(trail).toEqual(['cell.drain-started', 'cell.moves-requested']);

    for (let i = 0; i < 2; i++) {
      const again = await env.call('POST', '/admin/cells/cell-3/drain', asOperator({ reason: 'retire' }));
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ cellId: 'cell-3', moves: [], skipped: [] });
    }
    expect(await cellTrail('cell-3')).toEqual(trail);
    expect(await tenantTrail(tenant.tenantId)).toEqual(ownTrail);
    expect(await eventsOf(tenant.tenantId)).toEqual(bus);
  });
});
