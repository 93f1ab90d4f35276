import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * A tenant admin manages the users they invited (issue 10, item 5): remove, change role, reset a
 * password, sign out everywhere; and POST /auth/token's refresh tokens. Each action is checked as
 * the affected user notices it, on their very next request: the authorizer cache of the cell is
 * warmed first, so a change that only expired with the cache would fail these tests.
 */
let env: TestPlatform;
/** The tenant whose admin acts. */
let acme: TestTenant;
/** Another tenant, in the same platform. */
let globex: TestTenant;

beforeAll(async () => {
  env = await bootTestPlatform();
  [acme, globex] = await Promise.all([env.onboard('standard'), env.onboard('standard')]);
}, 120_000);
afterAll(() => env?.stop());

interface Session {
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

/** POST /auth/token as a client sends it. */
const token = (body: unknown) => env.call('POST', '/auth/token', { body });

/** A new user of `tenant` who has signed in once (chose their password) and holds both tokens. */
async function member(tenant: TestTenant, role: 'admin' | 'user'): Promise<Session> {
  const username = `${role}-${randomUUID().slice(0, 8)}@example.com`;
  const invited = await tenant.call('POST', '/users', { body: { email: username, role } });
  expect(invited.status).toBe(201);
  const password = `Chosen-${randomUUID().slice(0, 8)}-Pass1`;
  const signedIn = await token({ username, password: invited.body.temporaryPassword, newPassword: password });
  expect(signedIn.status).toBe(200);
  return { username, password, accessToken: signedIn.body.access_token, refreshToken: signedIn.body.refresh_token };
}

/** A request as `session`'s user; the first one also fills the cell's authorizer cache for their token. */
const as = (session: Session, method: string, path: string, body?: unknown) => env.call(method, path, { token: session.accessToken, ...(body === undefined ? {} : { body }) });

const userPath = (username: string, suffix = '') => `/users/${encodeURIComponent(username)}${suffix}`;

async function listedUsers(tenant: TestTenant): Promise<Array<{ username: string; role: string }>> {
  const listed = await tenant.call('GET', '/users');
  expect(listed.status).toBe(200);
  return listed.body.items;
}

describe('POST /auth/token and refresh tokens', () => {
  it('returns a refresh token with the access token, and trades it for a new access token that works', async () => {
    const agent = await member(acme, 'user');
    expect(agent.refreshToken).toEqual(expect.any(String));
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: agent.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number) });
    const me = await env.call('GET', '/me', { token: refreshed.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenantId: acme.tenantId, roles: ['user'] });
  });

  it('keeps the first sign-in challenge: a temporary password alone is NEW_PASSWORD_REQUIRED, and no token', async () => {
    const invited = await acme.call('POST', '/users', { body: { email: `first-${randomUUID().slice(0, 8)}@example.com`, role: 'user' } });
    const challenged = await token({ username: invited.body.username, password: invited.body.temporaryPassword });
    expect(challenged.status).toBe(403);
    expect(challenged.body.error.code).toBe('NEW_PASSWORD_REQUIRED');
    expect(challenged.body).not.toHaveProperty('refresh_token');
  });

  it('refuses an unknown refresh token with 400 INVALID_GRANT, and a malformed grant with 422', async () => {
    const unknown = await token({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { code: 'INVALID_GRANT', message: expect.any(String) }, requestId: expect.any(String) });
    expect((await token({ grant_type: 'password', refresh_token: 'x' })).status).toBe(422);
    expect((await token({ grant_type: 'refresh_token' })).status).toBe(422);
    expect((await token({ grant_type: 'refresh_token', refresh_token: 'x', username: acme.username })).status).toBe(422);
  });

  it('refreshes an operator’s token too, which stays an operator’s', async () => {
    const signedIn = await token({ username: 'operator', password: 'operator' });
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: signedIn.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await env.call('GET', '/admin/tenants', { token: refreshed.body.access_token })).status).toBe(200);
  });
});

describe('refresh tokens and the tenant’s suspension', () => {
  it('issues a suspended tenant’s user a token the cell refuses (403) until the tenant is reactivated, as a password sign-in', async () => {
    const tenant = await env.onboard('standard');
    const agent = await member(tenant, 'user');
    expect((await as(agent, 'GET', '/me')).status).toBe(200);
    expect((await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, { token: env.operatorToken })).status).toBe(200);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: agent.refreshToken });
    expect((await env.call('GET', '/me', { token: refreshed.body.access_token })).status).toBe(403);
    expect((await as(agent, 'GET', '/me')).status).toBe(403);
    expect((await env.call('POST', `/admin/tenants/${tenant.tenantId}/reactivate`, { token: env.operatorToken })).status).toBe(200);
    expect((await env.call('GET', '/me', { token: refreshed.body.access_token })).status).toBe(200);
  });
});

describe('DELETE /users/{username}', () => {
  it('removes the user: their access token fails on the very next request, their refresh token and password too', async () => {
    const agent = await member(acme, 'user');
    expect((await as(agent, 'GET', '/me')).status).toBe(200);
    const usersBefore = (await acme.call('GET', '/me')).body.usage.users;

    const removed = await acme.call('DELETE', userPath(agent.username));
    expect(removed.status).toBe(204);

    expect((await as(agent, 'GET', '/me')).status).toBe(401);
    expect((await as(agent, 'GET', '/cases')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: agent.refreshToken })).body.error.code).toBe('INVALID_GRANT');
    expect((await token({ username: agent.username, password: agent.password })).status).toBe(401);
    expect((await listedUsers(acme)).map((user) => user.username)).not.toContain(agent.username);
    // The seat goes back to the plan.
    expect((await acme.call('GET', '/me')).body.usage.users).toBe(usersBefore - 1);
  });

  it('answers a repeat 404 USER_NOT_FOUND and changes nothing more', async () => {
    const agent = await member(acme, 'user');
    expect((await acme.call('DELETE', userPath(agent.username))).status).toBe(204);
    const usersAfter = (await acme.call('GET', '/me')).body.usage.users;
    const again = await acme.call('DELETE', userPath(agent.username));
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('USER_NOT_FOUND');
    expect((await acme.call('GET', '/me')).body.usage.users).toBe(usersAfter);
  });

  it('lets a user of the same address be invited again, who signs in and works', async () => {
    const agent = await member(acme, 'user');
    expect((await acme.call('DELETE', userPath(agent.username))).status).toBe(204);
    const again = await acme.call('POST', '/users', { body: { email: agent.username, role: 'user' } });
    expect(again.status).toBe(201);
    const signedIn = await token({ username: agent.username, password: again.body.temporaryPassword, newPassword: 'Second-Life-Pass1' });
    expect((await env.call('GET', '/me', { token: signedIn.body.access_token })).status).toBe(200);
  });

  it('refuses an admin removing themself (409 OWN_ACCOUNT), and keeps them', async () => {
    const response = await acme.call('DELETE', userPath(acme.username));
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('OWN_ACCOUNT');
    expect((await acme.call('GET', '/me')).status).toBe(200);
  });
});

describe('PATCH /users/{username} {role}', () => {
  it('demotes an admin: their token held since before can no longer invite, on their next request', async () => {
    const deputy = await member(acme, 'admin');
    expect((await as(deputy, 'GET', '/users')).status).toBe(200);

    const demoted = await acme.call('PATCH', userPath(deputy.username), { body: { role: 'user' } });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({ username: deputy.username, role: 'user' });

    const invite = await as(deputy, 'POST', '/users', { email: `by-demoted-${randomUUID().slice(0, 8)}@example.com`, role: 'user' });
    expect(invite.status).toBe(403);
    expect(invite.body.error.code).toBe('FORBIDDEN');
    expect((await as(deputy, 'GET', '/me')).body.roles).toEqual(['user']);
    // Not signed out: the user keeps working, in their new role, and a refreshed token carries it.
    expect((await as(deputy, 'GET', '/cases')).status).toBe(200);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: deputy.refreshToken });
    expect((await env.call('GET', '/me', { token: refreshed.body.access_token })).body.roles).toEqual(['user']);
    expect((await listedUsers(acme)).find((user) => user.username === deputy.username)?.role).toBe('user');
  });

  it('promotes a user, whose token held since before can invite at once', async () => {
    const agent = await member(acme, 'user');
    expect((await as(agent, 'POST', '/users', { email: `early-${randomUUID().slice(0, 8)}@example.com`, role: 'user' })).status).toBe(403);
    expect((await acme.call('PATCH', userPath(agent.username), { body: { role: 'admin' } })).status).toBe(200);
    const invite = await as(agent, 'POST', '/users', { email: `by-promoted-${randomUUID().slice(0, 8)}@example.com`, role: 'user' });
    expect(invite.status).toBe(201);
  });

  it('answers a repeat with the user as they are', async () => {
    const agent = await member(acme, 'user');
    const first = await acme.call('PATCH', userPath(agent.username), { body: { role: 'user' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ username: agent.username, role: 'user' });
    expect((await as(agent, 'GET', '/me')).status).toBe(200);
  });

  it('refuses an admin demoting themself (409 OWN_ACCOUNT)', async () => {
    const response = await acme.call('PATCH', userPath(acme.username), { body: { role: 'user' } });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('OWN_ACCOUNT');
    expect((await acme.call('GET', '/me')).body.roles).toEqual(['admin']);
  });

  it('keeps an admin when two admins demote each other at the same moment', async () => {
    const tenant = await env.onboard('standard');
    const second = await member(tenant, 'admin');
    const [first, other] = await Promise.all([
      tenant.call('PATCH', userPath(second.username), { body: { role: 'user' } }),
      as(second, 'PATCH', userPath(tenant.username), { role: 'user' }),
    ]);
    const statuses = [first.status, other.status].sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBe(409);
    expect([first, other].find((response) => response.status === 409)?.body.error.code).toMatch(/^(LAST_ADMIN|CONCURRENT_MODIFICATION)$/);
    expect((await listedUsers(tenant)).filter((user) => user.role === 'admin')).toHaveLength(1);
  });

  it('refuses an unknown role or any other member with 422, and changes nothing', async () => {
    const agent = await member(acme, 'user');
    for (const body of [{ role: 'operator' }, { role: 'owner' }, { role: 'admin', tenantId: globex.tenantId }, {}]) {
      const response = await acme.call('PATCH', userPath(agent.username), { body });
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await listedUsers(acme)).find((user) => user.username === agent.username)?.role).toBe('user');
    expect((await as(agent, 'GET', '/me')).body.roles).toEqual(['user']);
  });
});

describe('POST /users/{username}/sign-out', () => {
  it('signs the user out everywhere: their access token fails on the next request and their refresh token is refused', async () => {
    const agent = await member(acme, 'user');
    expect((await as(agent, 'GET', '/me')).status).toBe(200);
    expect((await acme.call('POST', userPath(agent.username, '/sign-out'))).status).toBe(204);
    expect((await as(agent, 'GET', '/me')).status).toBe(401);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: agent.refreshToken });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error.code).toBe('INVALID_GRANT');
    // They may sign in again, and that new session works.
    const again = await token({ username: agent.username, password: agent.password });
    expect(again.status).toBe(200);
    expect((await env.call('GET', '/me', { token: again.body.access_token })).status).toBe(200);
    // Nobody else was signed out: the admin and the operator carry on.
    expect((await acme.call('GET', '/me')).status).toBe(200);
    expect((await env.call('GET', '/admin/tenants', { token: env.operatorToken })).status).toBe(200);
  });
});

describe('an admin signing themself out everywhere', () => {
  it('is allowed: the token they asked with fails on their next request, and they sign in again', async () => {
    const deputy = await member(acme, 'admin');
    expect((await as(deputy, 'POST', userPath(deputy.username, '/sign-out'))).status).toBe(204);
    expect((await as(deputy, 'GET', '/me')).status).toBe(401);
    const again = await token({ username: deputy.username, password: deputy.password });
    expect((await env.call('GET', '/users', { token: again.body.access_token })).status).toBe(200);
  });
});

describe('POST /users/{username}/reset-password', () => {
  it('re-sends the invitation of a user who never signed in: only the new temporary password works', async () => {
    const username = `late-${randomUUID().slice(0, 8)}@example.com`;
    const invited = await acme.call('POST', '/users', { body: { email: username, role: 'user' } });
    const reset = await acme.call('POST', userPath(username, '/reset-password'));
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ username, kind: 'invitation-resent', temporaryPassword: expect.any(String) });
    expect((await token({ username, password: invited.body.temporaryPassword, newPassword: 'Never-Used-Pass1' })).status).toBe(401);
    expect((await token({ username, password: reset.body.temporaryPassword, newPassword: 'Finally-Here-Pass1' })).status).toBe(200);
  });

  it('makes a user who signed in set a new password, and ends their sessions', async () => {
    const agent = await member(acme, 'user');
    expect((await as(agent, 'GET', '/me')).status).toBe(200);
    const reset = await acme.call('POST', userPath(agent.username, '/reset-password'));
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ username: agent.username, kind: 'password-reset', temporaryPassword: expect.any(String) });

    expect((await as(agent, 'GET', '/me')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: agent.refreshToken })).status).toBe(400);
    expect((await token({ username: agent.username, password: agent.password })).status).toBe(401);
    const challenged = await token({ username: agent.username, password: reset.body.temporaryPassword });
    expect(challenged.status).toBe(403);
    expect(challenged.body.error.code).toBe('NEW_PASSWORD_REQUIRED');
    const chosen = await token({ username: agent.username, password: reset.body.temporaryPassword, newPassword: 'After-Reset-Pass1' });
    expect(chosen.status).toBe(200);
    expect((await env.call('GET', '/me', { token: chosen.body.access_token })).status).toBe(200);
  });
});

describe('who may manage whom', () => {
  it('answers 404 USER_NOT_FOUND for another tenant’s user on every action, and that user is unchanged', async () => {
    const victim = await member(globex, 'admin');
    const attempts = [
      acme.call('DELETE', userPath(victim.username)),
      acme.call('PATCH', userPath(victim.username), { body: { role: 'user' } }),
      acme.call('POST', userPath(victim.username, '/sign-out')),
      acme.call('POST', userPath(victim.username, '/reset-password')),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('USER_NOT_FOUND');
    }
    expect((await as(victim, 'GET', '/me')).body).toMatchObject({ tenantId: globex.tenantId, roles: ['admin'] });
    expect((await token({ grant_type: 'refresh_token', refresh_token: victim.refreshToken })).status).toBe(200);
    expect((await token({ username: victim.username, password: victim.password })).status).toBe(200);
  });

  it('answers 404 for an unknown user and 422 for a username that is no e-mail address', async () => {
    const unknown = await acme.call('POST', userPath('nobody-at-all@example.com', '/sign-out'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('USER_NOT_FOUND');
    for (const name of ['not-an-address', 'operator', `${'a'.repeat(250)}@example.com`]) {
      const response = await acme.call('DELETE', userPath(name));
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('lets no tenant user (not admin) act on anyone: 403 FORBIDDEN, nothing changed', async () => {
    const agent = await member(acme, 'user');
    const colleague = await member(acme, 'user');
    const attempts = [
      as(agent, 'DELETE', userPath(colleague.username)),
      as(agent, 'PATCH', userPath(agent.username), { role: 'admin' }),
      as(agent, 'POST', userPath(colleague.username, '/sign-out')),
      as(agent, 'POST', userPath(colleague.username, '/reset-password')),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
    expect((await as(colleague, 'GET', '/me')).status).toBe(200);
    expect((await as(agent, 'GET', '/me')).body.roles).toEqual(['user']);
  });
});
