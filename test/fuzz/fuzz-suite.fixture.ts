/** What both planes' fuzz suites set up before fuzzing: a token per kind of caller, and cursors the server issued. */
import type { JsonResponse } from '@cellbook/local/client';
import type { TestPlatform, TestTenant } from '../support/platform.js';
import type { Caller } from './hostile.js';

/** A token for each kind of caller: none, a garbage one, a user the tenant's admin invites, that admin, and the operator. */
export async function callerTokens(env: TestPlatform, tenant: TestTenant): Promise<Record<Caller, string | undefined>> {
  const invited = await tenant.call('POST', '/users', { body: { email: 'fuzz-user@example.com', role: 'user' } });
  const userToken = await env.signIn('fuzz-user@example.com', invited.body.temporaryPassword, 'Fuzz-User-Pass-1');
  return { none: undefined, garbage: 'not.a.token', 'tenant user': userToken, 'tenant admin': tenant.token, operator: env.operatorToken };
}

/** Listing path → the cursor its first page of one issued, for the fuzzer to forge from. */
export async function issuedCursors(listings: readonly string[], get: (target: string) => Promise<JsonResponse<{ nextCursor?: unknown }>>): Promise<Map<string, string>> {
  const issued = new Map<string, string>();
  for (const listing of listings) {
    const cursor = (await get(`${listing}?limit=1`)).body.nextCursor;
    if (typeof cursor !== 'string') throw new Error(`${listing} issued no cursor`);
    issued.set(listing, cursor);
  }
  return issued;
}
