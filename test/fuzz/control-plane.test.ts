import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_ROUTES } from '@cellbook/functions/routes';
import { watchPlatformState, type StateWatcher } from '../support/platform-state.js';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';
import { callerTokens, issuedCursors } from './fuzz-suite.fixture.js';
import {
  FUZZ_SEED,
  FUZZ_TEST_TIMEOUT_MS,
  RUNS_PER_ROUTE,
  anyBody,
  expectForgedCursorsAnswered,
  expectNoServerError,
  expectRouteWithstands,
  hostileRequests,
  reachedFunction,
  refusedBody,
  send,
  type Caller,
} from './hostile.js';

/**
 * Every control-plane route (sign-in included), fed hostile names and values in its path, query,
 * headers and body, by every kind of caller: never a 5xx, a 4xx always carries the error body, and
 * nothing is written (every table and the event bus are unchanged). Routes that change a tenant or
 * a cell only ever name ones that do not exist or send a body no schema accepts, so every such
 * request must be refused. The identity broker's routes are signed calls of cells' tenant sessions:
 * through the router they are unreachable whatever is sent (their fences are specified in
 * test/isolation/identity-boundary.test.ts).
 */
let env: TestPlatform;
let watcher: StateWatcher;
let tokens: Record<Caller, string | undefined>;
let ids: Record<string, string>;
/** listing path → a cursor it issued */
let issued: Map<string, string>;

beforeAll(async () => {
  env = await bootTestPlatform();
  const tenant = await env.onboard('standard');
  await tenant.call('POST', '/cases', { body: { title: 'Exported', priority: 'high' } });
  tokens = await callerTokens(env, tenant);
  ids = { tenantId: tenant.tenantId, cellId: tenant.cellId };
  await env.onboard('basic');
  issued = await issuedCursors(['/admin/tenants', `/admin/tenants/${tenant.tenantId}/audit`], (target) => env.call('GET', target, { token: env.operatorToken }));
  watcher = watchPlatformState(env.platform);
});
afterAll(async () => {
  watcher?.close();
  await env?.stop();
});

/** The identity broker's routes are signed AWS calls of cells' tenant sessions, not reachable through the router. */
const ROUTED = CONTROL_ROUTES.filter((route) => route.auth !== 'iam');
const BROKER = CONTROL_ROUTES.filter((route) => route.auth === 'iam');

describe('the control plane under hostile input', () => {
  for (const route of BROKER) {
    it(
      `${route.method} ${route.path}: is not reachable through the router, whatever it is sent, and writes nothing`,
      async () => {
        const before = await watcher.read();
        await fc.assert(
          fc.asyncProperty(hostileRequests(route, { ids, bodies: anyBody }), async (request) => {
            const response = await send(env.url, request, tokens);
            expectNoServerError(request, response);
            expect(reachedFunction(response), response.text).toBe(false);
            expect(response.status, response.text).toBeGreaterThanOrEqual(400);
          }),
          { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        );
        expect(await watcher.read()).toEqual(before);
      },
      FUZZ_TEST_TIMEOUT_MS,
    );
  }

  for (const route of ROUTED) {
    // Sign-in writes nothing whatever it is sent; every other non-GET route changes state when it succeeds.
    const readsOnly = route.method === 'GET' || route.path === '/auth/token';
    it(
      `${route.method} ${route.path}: never a 5xx, the error body on every 4xx, and ${readsOnly ? 'no write' : 'every request refused with no write'}`,
      async () => {
        const target = { url: env.url, tokens, readState: () => watcher.read() };
        const requests = readsOnly ? hostileRequests(route, { ids, cursors: [...issued.values()], bodies: anyBody }) : hostileRequests(route, { bodies: refusedBody });
        await expectRouteWithstands(target, requests, !readsOnly);
      },
      FUZZ_TEST_TIMEOUT_MS,
    );
  }

  it(
    'answers a cursor forged from an issued one (a field emptied, changed, dropped or added) with a 4xx or the page, never a 5xx',
    () => expectForgedCursorsAnswered({ url: env.url, tokens }, issued, ['operator']),
    FUZZ_TEST_TIMEOUT_MS * 2,
  );
});
