import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * POST /auth/token against the local Cognito's temporary lockout (as Cognito's: five free failures,
 * then 1 s doubling up to ~15 min). The identity clock is real time plus an offset the test moves,
 * so issued tokens stay valid for the gateway while lockouts pass without sleeping.
 */
let offsetMs = 0;
let env: TestPlatform;
let tenant: TestTenant;

beforeAll(async () => {
  env = await bootTestPlatform({ identityClock: () => Date.now() + offsetMs });
  tenant = await env.onboard('basic');
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

const signIn = (password: string, username = tenant.username) => env.call('POST', '/auth/token', { body: { username, password } });

describe('POST /auth/token under repeated wrong passwords', () => {
  it('refuses the right password after fifteen wrong ones with 429 TOO_MANY_FAILED_ATTEMPTS, until the lockout passes', async () => {
    for (let attempt = 0; attempt < 15; attempt++) {
      const wrong = await signIn(`Wrong-Pass-${attempt}`);
      expect([401, 429]).toContain(wrong.status);
    }
    const refused = await signIn(tenant.password);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'TOO_MANY_FAILED_ATTEMPTS', message: expect.any(String) }, requestId: expect.any(String) });
    expect(refused.body).not.toHaveProperty('access_token');

    offsetMs += 1_000;
    const admitted = await signIn(tenant.password);
    expect(admitted.status).toBe(200);
    // The token works on the tenant's cell: the lockout changed nothing else.
    expect((await env.call('GET', '/me', { token: admitted.body.access_token })).status).toBe(200);
  });

  it('answers the first five wrong passwords 401 INVALID_CREDENTIALS, then 429 while locked out', async () => {
    offsetMs += 16 * 60_000;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) statuses.push((await signIn('Wrong-Pass-1')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('locks out an unknown username exactly like a known one', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) statuses.push((await signIn('Wrong-Pass-1', 'nobody-here@example.com')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('signs a user in by any capitalisation of the username', async () => {
    offsetMs += 16 * 60_000;
    const response = await signIn(tenant.password, tenant.username.toUpperCase());
    expect(response.status).toBe(200);
  });
});
