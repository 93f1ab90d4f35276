import { APIGatewayClient, DeleteUsagePlanKeyCommand, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { TIERS } from '@cellbook/core/tenancy/tiers';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * Usage plans as API Gateway applies them: one token bucket and one quota per tenant API key.
 * The gateway's clock is moved by hand, so refills and quota resets happen exactly when a test says.
 */
let env: TestPlatform;
const clock = new ManualClock();

beforeAll(async () => {
  env = await bootTestPlatform({ gatewayClock: clock.now });
});
afterAll(() => env?.stop());

async function burst(tenant: TestTenant, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await tenant.call('GET', '/me')).status);
  return statuses;
}

describe('throttling', () => {
  it('serves a basic tenant its burst of 20, then answers 429 Too Many Requests', async () => {
    const tenant = await env.onboard('basic');
    expect(await burst(tenant, TIERS.basic.throttle.burstLimit)).toEqual(Array(20).fill(200));
    const throttled = await tenant.call('GET', '/me');
    expect(throttled.status).toBe(429);
    expect(throttled.body).toEqual({ message: 'Too Many Requests' });
  });

  it('refills at the plan’s rate: 10 requests per second for basic', async () => {
    const tenant = await env.onboard('basic');
    await burst(tenant, 20);
    expect((await tenant.call('GET', '/me')).status).toBe(429);
    clock.advance(500); // half a second → 5 tokens
    expect(await burst(tenant, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    clock.advance(10_000); // long idle never refills past the burst
    const refilled = await burst(tenant, 21);
    expect(refilled.filter((status) => status === 200)).toHaveLength(20);
    expect(refilled.at(-1)).toBe(429);
  });

  it('gives every tenant its own bucket: one tenant’s burst does not throttle another of the same tier', async () => {
    const noisy = await env.onboard('basic');
    const quiet = await env.onboard('basic');
    await burst(noisy, 21);
    expect((await noisy.call('GET', '/me')).status).toBe(429);
    expect((await quiet.call('GET', '/me')).status).toBe(200);
  });

  it('gives a standard tenant the larger burst of its tier', async () => {
    const tenant = await env.onboard('standard');
    const statuses = await burst(tenant, TIERS.standard.throttle.burstLimit + 1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(100);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('quota', () => {
  it('answers 429 Limit Exceeded once the daily quota is used, and serves again after UTC midnight', async () => {
    const tenant = await env.onboard('premium');
    // An operator lowers the premium plan's quota in this cell so the test need not send a million requests.
    const cell = env.platform.cells.find((c) => c.cellId === tenant.cellId)!;
    env.platform.apiGateway.updateUsagePlan(cell.usagePlans.premium, { quota: { limit: 5, period: 'DAY', offset: 0 } });
    try {
      expect(await burst(tenant, 5)).toEqual([200, 200, 200, 200, 200]);
      const over = await tenant.call('GET', '/me');
      expect(over.status).toBe(429);
      expect(over.body).toEqual({ message: 'Limit Exceeded' });
      clock.advance(60 * 60 * 1000);
      expect((await tenant.call('GET', '/me')).status).toBe(429);
      const nextMidnight = Date.UTC(new Date(clock.ms).getUTCFullYear(), new Date(clock.ms).getUTCMonth(), new Date(clock.ms).getUTCDate() + 1);
      clock.advance(nextMidnight - clock.ms);
      expect((await tenant.call('GET', '/me')).status).toBe(200);
    } finally {
      const { quota } = TIERS.premium;
      env.platform.apiGateway.updateUsagePlan(cell.usagePlans.premium, { quota: { limit: quota!.limit, period: quota!.period, offset: 0 } });
    }
  });

  it('answers 403 Forbidden when the tenant’s API key is no longer on a usage plan of this API', async () => {
    const tenant = await env.onboard('basic');
    expect((await tenant.call('GET', '/me')).status).toBe(200);
    const cell = env.platform.cells.find((c) => c.cellId === tenant.cellId)!;
    const apiGateway = new APIGatewayClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.apiGateway,
      credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
    });
    const { items } = await apiGateway.send(new GetApiKeysCommand({ nameQuery: `tenant-${tenant.tenantId}` }));
    await apiGateway.send(new DeleteUsagePlanKeyCommand({ usagePlanId: cell.usagePlans.basic, keyId: items![0]!.id! }));
    const response = await tenant.call('GET', '/me');
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ message: 'Forbidden' });
  });
});
