import { beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The app's API client as a user would notice it: a token renewal that finishes after a sign-out
 * never signs the user back in, nor replaces the next user's session; a 401 answering a previous
 * user's request never signs the next one out. `fetch` and `sessionStorage` are stood in for.
 */
class MemoryStorage {
  private readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

vi.stubGlobal('sessionStorage', new MemoryStorage());
const { api, renewSession, signOut } = await import('./client.js');
const { sessionFromTokens, sessionStore } = await import('./session.js');

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.signature`;
}

function signedIn(username: string, tenantId: string, expiresInSeconds: number, refreshToken = `refresh-${username}`) {
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  const accessToken = jwt({ username, tenant_id: tenantId, exp, roles: ['user'] });
  sessionStore.set(sessionFromTokens({ access_token: accessToken, refresh_token: refreshToken, expires_in: expiresInSeconds }));
  return accessToken;
}

/** A fetch whose answers the test releases one by one. */
function heldFetch() {
  const calls: { url: string; init: RequestInit; answer: (response: Response) => void }[] = [];
  vi.stubGlobal(
    'fetch',
    (url: string, init: RequestInit) =>
      new Promise<Response>((resolve) => {
        calls.push({ url, init, answer: resolve });
      }),
  );
  return calls;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  signOut();
});

describe('renewing the access token', () => {
  it('renews a token about to expire before the request, and sends the new one', async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 30);
    const request = api('GET', '/me');
    await tick();
    expect(calls[0]!.url).toBe('/auth/token');
    const fresh = jwt({ username: 'alice', tenant_id: 't-1', exp: Math.floor(Date.now() / 1000) + 3600 });
    calls[0]!.answer(json(200, { access_token: fresh, expires_in: 3600 }));
    await tick();
    expect(calls[1]!.url).toBe('/me');
    expect((calls[1]!.init.headers as Record<string, string>).authorization).toBe(`Bearer ${fresh}`);
    calls[1]!.answer(json(200, { tenantId: 't-1' }));
    await expect(request).resolves.toEqual({ tenantId: 't-1' });
    expect(sessionStore.get()?.accessToken).toBe(fresh);
  });

  it('does not sign a user back in when the renewal finishes after they signed out', async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 30);
    const renewal = renewSession();
    await tick();
    signOut();
    calls[0]!.answer(json(200, { access_token: jwt({ username: 'alice', tenant_id: 't-1', exp: 9_999_999_999 }), expires_in: 3600 }));
    await renewal;
    expect(sessionStore.get()).toBeUndefined();
  });

  it("keeps the next user's session when the previous user's renewal finishes after they signed in", async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 30);
    const renewal = renewSession();
    await tick();
    signOut();
    signedIn('bob', 't-2', 3600);
    calls[0]!.answer(json(200, { access_token: jwt({ username: 'alice', tenant_id: 't-1', exp: 9_999_999_999 }), expires_in: 3600 }));
    await renewal;
    expect(sessionStore.get()).toMatchObject({ username: 'bob', tenantId: 't-2' });
  });

  it('ends the session when the refresh token is refused', async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 30);
    const renewal = renewSession();
    await tick();
    calls[0]!.answer(json(400, { error: { code: 'INVALID_GRANT', message: 'The refresh token is not valid.' } }));
    await renewal;
    expect(sessionStore.get()).toBeUndefined();
  });
});

describe('a 401', () => {
  it("for a previous user's request does not sign the next user out", async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 3600, '');
    const request = api('GET', '/cases');
    await tick();
    signOut();
    signedIn('bob', 't-2', 3600);
    calls[0]!.answer(json(401, { message: 'Unauthorized' }));
    await expect(request).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(sessionStore.get()).toMatchObject({ username: 'bob' });
  });

  it('for the current token ends the session, and says so in words', async () => {
    const calls = heldFetch();
    signedIn('alice', 't-1', 3600, '');
    const request = api('GET', '/cases');
    await tick();
    calls[0]!.answer(json(401, { message: 'Unauthorized' }));
    const error = await request.catch((failure: unknown) => failure);
    expect(sessionStore.get()).toBeUndefined();
    const { describeError } = await import('./errors.js');
    expect(describeError(error)).toBe('Unauthorized. Your session has ended. Sign in again.');
  });
});
