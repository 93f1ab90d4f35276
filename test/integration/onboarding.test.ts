import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, captureControlEvents, type TestPlatform } from '../support/platform.js';

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
});
afterAll(() => env?.stop());

async function registry() {
  const tenants = await env.call('GET', '/admin/tenants?limit=100', { token: env.operatorToken });
  const cells = await env.call('GET', '/admin/cells', { token: env.operatorToken });
  return {
    tenants: tenants.body.items.map((t: { tenantId: string; status: string }) => `${t.tenantId}:${t.status}`).sort(),
    load: cells.body.items.map((c: { cellId: string; tenantCount: number }) => `${c.cellId}:${c.tenantCount}`),
  };
}

describe('lifecycle events', () => {
  it('puts TenantRoutingChanged, TenantActivated and TenantSuspended on the bus, each naming its tenant, cell and tier (DESIGN §6)', async () => {
    const capture = captureControlEvents(env);
    const tenant = await env.onboard('basic');
    await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, { token: env.operatorToken });
    await env.platform.eventBus.service.drain();
    const mine = capture.events.filter((event) => event.detail.tenantId === tenant.tenantId);
    expect(mine.map((event) => event['detail-type'])).toEqual(['TenantRoutingChanged', 'TenantActivated', 'TenantSuspended']);
    for (const event of mine) {
      expect(event.detail).toEqual({
        tenantId: tenant.tenantId,
        cellId: tenant.cellId,
        tier: 'basic',
        eventId: expect.any(String),
        idempotencyKey: expect.any(String),
        occurredAt: expect.any(String),
        actor: 'operator',
        data: expect.any(Object),
      });
    }
    capture.stop();
  });
});

describe('events without a tenant', () => {
  it('dead-letters an event that names no tenant unless it is system-scoped (DESIGN §6)', async () => {
    const events = new EventBridgeClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.eventBridge,
      credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
    });
    const put = (marker: string, detail: Record<string, unknown>) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: env.platform.eventBus.name,
              Source: 'cellbook.cell.cell-1',
              DetailType: 'CaseCreated',
              Detail: JSON.stringify({ ...detail, data: { marker } }),
            },
          ],
        }),
      );
    await put('no-tenant', { actor: 'someone' });
    await put('empty-tenant', { tenantId: '', actor: 'someone' });
    await put('system', { scope: 'system', actor: 'scheduler' });
    await put('tenant', { tenantId: 't-1', actor: 'someone' });
    await env.platform.eventBus.service.drain();
    const markers = env.platform.eventBus.deadLetterQueue
      .filter((entry) => entry.reason === 'no-tenant')
      .map((entry) => (entry.event as { detail: { data: { marker: string } } }).detail.data.marker);
    expect(markers).toEqual(['no-tenant', 'empty-tenant']);
  });
});

describe('POST /admin/tenants', () => {
  it('onboards a tenant ACTIVE in a pooled cell and audits it', async () => {
    const response = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Audit Me', tier: 'standard', adminEmail: 'audit-me@example.com' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ name: 'Audit Me', tier: 'standard', status: 'ACTIVE', cellId: expect.stringMatching(/^cell-/) });
    const audit = await env.call('GET', `/admin/tenants/${response.body.tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items).toEqual([expect.objectContaining({ action: 'tenant.onboarded', actor: 'operator', tenantId: response.body.tenantId })]);
  });

  it('refuses an admin email that is already a user with 409 and leaves no tenant, slot or name behind', async () => {
    const taken = await env.onboard('basic');
    const before = await registry();
    const response = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Copycat', tier: 'basic', adminEmail: taken.username },
    });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('USER_ALREADY_EXISTS');
    expect(await registry()).toEqual(before);
    const retry = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Copycat', tier: 'basic', adminEmail: 'copycat@example.com' },
    });
    expect(retry.status).toBe(201);
  });

  it('undoes every step when no cell can take the tenant', async () => {
    const capacity = (cellId: string, value: number) => env.call('POST', '/admin/cells', { token: env.operatorToken, body: { cellId, capacity: value } });
    await capacity('cell-1', 0);
    await capacity('cell-2', 0);
    const before = await registry();
    const response = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Mega Corp', tier: 'standard', adminEmail: 'mega@example.com' },
    });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('NO_CELL_CAPACITY');
    expect(await registry()).toEqual(before);
    await capacity('cell-1', 200);
    await capacity('cell-2', 200);
    // Neither the name nor the admin's email stays reserved.
    const basic = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Mega Corp', tier: 'basic', adminEmail: 'mega@example.com' },
    });
    expect(basic.status).toBe(201);
  });
});
