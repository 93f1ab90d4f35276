import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { awslogsEvent } from '@cellbook/local/aws/log-subscriptions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, ManualClock, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * Reconciliation through the operator API (DESIGN §10): per tenant and hour, the requests its
 * functions metered against the requests the gateway logged as answered by a function — equal after
 * mixed traffic, and a planted gateway record nobody metered shows as a difference.
 */
let env: TestPlatform;
let tenant: TestTenant;
let neighbour: TestTenant;
/** The gateway's clock stands still: every request lands in one hour and no usage plan refills. */
const clock = new ManualClock(Date.now());
const HOUR_MS = 3_600_000;
const range = () => {
  const hour = Math.floor(clock.now() / HOUR_MS) * HOUR_MS;
  return `from=${new Date(hour - HOUR_MS).toISOString()}&to=${new Date(hour + HOUR_MS).toISOString()}`;
};
const reconciliation = async (query = range()) => env.call('GET', `/admin/usage/reconciliation?${query}`, { token: env.operatorToken });

beforeAll(async () => {
  env = await bootTestPlatform({ gatewayClock: clock.now });
  tenant = await env.onboard('basic');
  neighbour = await env.onboard('standard');
}, 120_000);
afterAll(() => env?.stop());

describe('usage reconciliation', () => {
  it('balances after mixed traffic: created, listed, not found, invalid, throttled, unauthenticated', async () => {
    const statuses: number[] = [];
    const created = await tenant.call('POST', '/cases', { body: { title: 'Leaking roof', priority: 'high' } });
    statuses.push(created.status);
    statuses.push((await tenant.call('POST', `/cases/${created.body.caseId}/notes`, { body: { body: 'on it' } })).status);
    statuses.push((await tenant.call('GET', '/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status);
    statuses.push((await tenant.call('POST', '/cases', { body: { title: '' } })).status);
    statuses.push((await neighbour.call('GET', '/cases')).status);
    expect((await env.call('GET', '/cases', { token: 'not-a-token' })).status).toBe(401);
    // Basic allows a burst of 20: the clock never refills it, so the rest are throttled by the gateway.
    for (let i = 0; i < 25; i += 1) statuses.push((await tenant.call('GET', '/cases')).status);
    expect(statuses.slice(0, 5)).toEqual([201, 201, 404, 422, 200]);
    const throttled = statuses.filter((status) => status === 429).length;
    expect(throttled).toBeGreaterThan(0);

    await env.platform.usageDelivered();
    const response = await reconciliation();
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      tenants: 2,
      metered: statuses.length - throttled,
      answered: statuses.length - throttled,
      notForwarded: throttled,
      differences: [],
    });
  });

  it('reports a planted difference: a request the gateway logged as answered that no function metered', async () => {
    await env.platform.usageDelivered();
    const record = env.logs.find(({ source, line }) => source.endsWith(`${neighbour.cellId}-gateway`) && line.includes(`"tenantId":"${neighbour.tenantId}"`));
    expect(record).toBeDefined();
    const planted = { ...JSON.parse(record!.line), requestId: 'planted-0001', status: 200, errorType: '-' };
    await env.platform.invokeControl(
      'control/usage-ingest',
      awslogsEvent({
        logGroup: record!.source,
        logStream: 'planted',
        filterName: usageSubscriptionName(neighbour.cellId),
        events: [{ id: '1', timestamp: Date.now(), message: JSON.stringify(planted) }],
      }),
    );

    const response = await reconciliation();
    expect(response.body.differences).toEqual([expect.objectContaining({ tenantId: neighbour.tenantId, cells: [neighbour.cellId], difference: -1, metered: 1, answered: 2 })]);
  });

  it('refuses a range that is reversed, beyond the hourly rows’ retention, or not a date, and changes nothing', async () => {
    const hour = Math.floor(clock.now() / HOUR_MS) * HOUR_MS;
    for (const query of [
      `from=${new Date(hour).toISOString()}&to=${new Date(hour - HOUR_MS).toISOString()}`,
      `from=${new Date(hour - 200 * 24 * HOUR_MS).toISOString()}`,
      'from=yesterday',
      'tenant=t-1',
    ]) {
      const response = await reconciliation(query);
      expect(response.status, query).toBe(422);
      expect(response.body.error.code, query).toBe('VALIDATION_FAILED');
    }
  });
});
