import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELL_ROUTES } from '@cellbook/functions/routes';
import { watchPlatformState, type StateWatcher } from '../support/platform-state.js';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';
import { callerTokens, issuedCursors } from './fuzz-suite.fixture.js';
import { FUZZ_TEST_TIMEOUT_MS, anyBody, expectForgedCursorsAnswered, expectRouteWithstands, hostileRequests, refusedBody, type Caller } from './hostile.js';

/**
 * Every cell route (the public health check included), fed hostile names and values in its path,
 * query, headers and body, by every kind of caller: never a 5xx, a 4xx always carries the error
 * body, and a refused request writes nothing (every table and the event bus are unchanged).
 */
let env: TestPlatform;
let tenant: TestTenant;
let watcher: StateWatcher;
let tokens: Record<Caller, string | undefined>;
let ids: Record<string, string>;
/** listing path → a cursor it issued */
let issued: Map<string, string>;

beforeAll(async () => {
  env = await bootTestPlatform();
  tenant = await env.onboard('premium');
  const caseId = (await tenant.call('POST', '/cases', { body: { title: 'Fuzzed', priority: 'low' } })).body.caseId as string;
  await tenant.call('POST', '/cases', { body: { title: 'Second', priority: 'high' } });
  await tenant.call('POST', `/cases/${caseId}/notes`, { body: { body: 'A note' } });
  await tenant.call('POST', `/cases/${caseId}/notes`, { body: { body: 'Another note' } });
  issued = await issuedCursors(['/cases', `/cases/${caseId}/notes`], (target) => tenant.call('GET', target));
  tokens = await callerTokens(env, tenant);
  ids = { caseId };
  watcher = watchPlatformState(env.platform);
});
afterAll(async () => {
  watcher?.close();
  await env?.stop();
});

describe('the data plane under hostile input', () => {
  for (const route of CELL_ROUTES) {
    const reads = route.method === 'GET';
    it(
      `${route.method} ${route.path}: never a 5xx, the error body on every 4xx, and ${reads ? 'no write' : 'every request refused with no write'}`,
      async () => {
        const target = { url: env.url, tokens, readState: () => watcher.read() };
        await expectRouteWithstands(target, hostileRequests(route, { ids, cursors: [...issued.values()], bodies: reads ? anyBody : refusedBody }), !reads);
      },
      FUZZ_TEST_TIMEOUT_MS,
    );
  }

  it(
    'answers a cursor forged from an issued one (a field emptied, changed, dropped or added) with a 4xx or the page, never a 5xx',
    () => expectForgedCursorsAnswered({ url: env.url, tokens }, issued, ['tenant admin', 'tenant user']),
    FUZZ_TEST_TIMEOUT_MS * 2,
  );

  it('sees a write when one happens (positive control for the snapshot above)', async () => {
    const before = await watcher.read();
    expect((await tenant.call('POST', '/cases', { body: { title: 'Control', priority: 'low' } })).status).toBe(201);
    expect(await watcher.read()).not.toEqual(before);
  });
});
