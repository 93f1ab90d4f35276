import fc from 'fast-check';
import { expect } from 'vitest';
import type { RouteDefinition } from '@cellbook/functions/routes';
import { PROTOTYPE_NAMES, rawRequest, type RawResponse } from '../support/raw-http.js';

/**
 * Hostile requests for any route of either plane: names and values an attacker would try
 * (Object.prototype names, empty and oversized strings, invalid UTF-8 as raw bytes and as
 * %-escapes, nested structures, repeated query parameters and headers, wrong JSON types) in the
 * path, the query, the headers and the body. Deterministic: a fixed seed and a bounded number of
 * runs per route, so a failure replays exactly.
 */
export const FUZZ_SEED = Number(process.env.CELLBOOK_FUZZ_SEED ?? 20261202);
/** `CELLBOOK_FUZZ_RUNS` raises it for a longer hunt; CI keeps the bounded default. */
export const RUNS_PER_ROUTE = Number(process.env.CELLBOOK_FUZZ_RUNS ?? 40);

/** Headers that steer HTTP itself (framing, routing, identity): the fuzzer never generates them. */
const TRANSPORT_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-connection',
  'http2-settings',
  'authorization',
  'content-type',
]);

/** Every member name any route's body schema knows: an unknown member is one not in this list. */
const KNOWN_FIELDS = new Set([
  'title',
  'priority',
  'description',
  'assignee',
  'status',
  'body',
  'email',
  'role',
  'username',
  'password',
  'newPassword',
  'name',
  'tier',
  'adminEmail',
  'overrides',
  'cellId',
  'reason',
  'capacity',
  'wave',
  'placement',
  'maxActiveCases',
  'maxUsers',
  'features',
  'limit',
  'cursor',
  'confirm',
  'tenantId',
]);

/** Query names the listings know, so hostile values reach their validation too. */
const KNOWN_QUERY = ['limit', 'cursor', 'status', 'tenant', 'tier', 'reason', 'confirm'];

const OVERSIZED = 3_000;
/** The whole request head stays under Node's 16 KiB header limit (the router would answer 431 before anything of ours runs). */
const MAX_HEAD_BYTES = 12_000;

/** Text of one latin1 char per byte: 0x80–0xFF alone or in bad sequences is invalid UTF-8 on the wire. */
const latin1Char = fc
  .integer({ min: 0x21, max: 0xff })
  .filter((code) => code !== 0x7f)
  .map((code) => String.fromCharCode(code));
const invalidUtf8 = fc.constantFrom('\xff', '\xfe\xff', '\xc3\x28', '\xe0\x80\x80', '\xed\xa0\x80', '\xf8\x88\x80\x80\x80', '\xc0\xaf', '\x80');
const badEscapes = fc.constantFrom('%', '%%', '%F', '%FF', '%C3%28', '%E0%80%80', '%ED%A0%80', '%ZZ', '%00', '%u0041', '%25%32%35');
const nestedLooking = fc.constantFrom('a[b]', 'a[b][c]', '__proto__[x]', 'constructor.prototype', 'a.b.c', '[]', '{}', '{"a":{"b":[1]}}', '[[["x"]]]');

/** Any Unicode text that can be %-encoded (no lone surrogates). */
const unicodeText = fc.string({ unit: 'grapheme', maxLength: 24 });
const prototypeName = fc.constantFrom(...PROTOTYPE_NAMES);

/** A name or value, already as it goes on the wire inside a path segment or a query. */
export const wireText = fc.oneof(
  prototypeName,
  fc.constant(''),
  fc.constant('x'.repeat(OVERSIZED)),
  unicodeText.map(encodeURIComponent),
  fc.string({ unit: latin1Char, maxLength: 16 }).map((text) => text.replace(/[#?&=/%+]/g, '')),
  invalidUtf8,
  badEscapes,
  nestedLooking.map(encodeURIComponent),
  nestedLooking,
);

/** A header name: valid HTTP token chars, but any name a client may choose. */
const headerName = fc
  .oneof(
    prototypeName,
    fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,30}$/),
    fc.constant(`x-${'n'.repeat(OVERSIZED)}`),
    fc.constantFrom('x-api-key', 'x-amzn-requestid', 'x-forwarded-for', 'idempotency-key', 'cookie', 'accept'),
  )
  .filter((name) => !TRANSPORT_HEADERS.has(name.toLowerCase()));

/** A header value: any bytes HTTP allows in a value (latin1, so invalid UTF-8 too), empty or oversized. */
const headerValue = fc.oneof(prototypeName, fc.constant(''), fc.constant('v'.repeat(OVERSIZED)), fc.string({ unit: latin1Char, maxLength: 24 }), invalidUtf8, nestedLooking);

function withRepeats<T>(items: fc.Arbitrary<T[]>): fc.Arbitrary<T[]> {
  // Repeats the first item at the end: the same name twice, with the same or another value.
  return fc.tuple(items, fc.boolean()).map(([list, repeat]) => (repeat && list.length > 0 ? [...list, list[0]!] : list));
}

export const hostileQuery = withRepeats(fc.array(fc.tuple(fc.oneof(wireText, fc.constantFrom(...KNOWN_QUERY)), wireText), { maxLength: 4 }));
export const hostileHeaders = withRepeats(fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }));

/** JSON values of every type, nested, with hostile member names. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1e308, 0.5, '', ' ', 'x'.repeat(OVERSIZED), '\u0000', '\ud800'),
    prototypeName,
    unicodeText,
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.oneof(prototypeName, unicodeText, fc.constantFrom(...KNOWN_FIELDS)), tie('value'), { maxKeys: 4 }),
})).value;

/** A member name no route's schema knows: strict schemas refuse the whole body because of it. */
const unknownMember = fc.oneof(
  prototypeName,
  unicodeText.filter((name) => !KNOWN_FIELDS.has(name)),
);

/** A value that no field of any route accepts: a non-empty array or an object with an unknown member. */
const wrongTyped = fc.oneof(
  fc.array(hostileJson, { minLength: 1, maxLength: 3 }),
  fc.tuple(unknownMember, hostileJson).map(([name, value]) => Object.fromEntries([[name, value]])),
);

function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * A body no route may accept: none, not JSON, invalid UTF-8, a JSON value of the wrong type, too
 * large, nested thousands deep, or an object with at least one member its schema does not know
 * (plus, maybe, known members with wrong types).
 */
export const refusedBody: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  fc.constant(undefined),
  fc
    .constantFrom('', ' ', '{', '{"a":', 'null', 'true', '42', '"text"', '[]', '[{}]', 'undefined', "{'a':1}", '{"a":1}}', '\ufeff{}')
    .map((text) => Buffer.from(text, 'utf8')),
  // Invalid UTF-8 decodes to U+FFFD: a field holding it may be valid, so these also carry an unknown member.
  fc
    .tuple(invalidUtf8, fc.constantFrom('{"#":1}', '#', '{"title":"#","__proto__":"#"}', '{"constructor":{"name":"#"}}'))
    .map(([bytes, template]) => Buffer.from(template.replaceAll('#', bytes), 'latin1')),
  fc.array(hostileJson, { maxLength: 3 }).map((array) => Buffer.from(JSON.stringify(array))),
  fc.constantFrom(10, 1_000, 5_000).chain((depth) => fc.constantFrom('array' as const, 'object' as const).map((kind) => Buffer.from(deeplyNested(depth, kind)))),
  fc.constant(Buffer.from(JSON.stringify({ title: 'x'.repeat(70 * 1024), priority: 'low' }))),
  fc
    .tuple(unknownMember, hostileJson, fc.dictionary(fc.constantFrom(...KNOWN_FIELDS), fc.oneof(hostileJson, wrongTyped), { maxKeys: 3 }))
    .map(([name, value, known]) => Buffer.from(JSON.stringify({ ...known, ...Object.fromEntries([[name, value]]) }))),
);

/**
 * Cursors an attacker forges from ones the server issued: each field of a real page key kept,
 * emptied, or replaced by hostile text, a field dropped or added, or any JSON at all — encoded as
 * the server encodes its own. Only a cursor the server issued may be accepted.
 */
export function forgedCursor(issued: readonly string[]): fc.Arbitrary<string> {
  const keys = issued.map((cursor) => (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k: Record<string, string> }).k);
  const hostileValue = fc.oneof(
    fc.constant(''),
    fc.constant(''),
    fc.constant(' '),
    prototypeName,
    unicodeText,
    fc.constant('x'.repeat(600)),
    fc.constant(null),
    fc.constant(1),
  );
  // One change away from an issued key: the most dangerous forgeries pass every check but one.
  const oneChange =
    keys.length === 0
      ? fc.constant<Record<string, unknown>>({})
      : fc.constantFrom(...keys).chain((key) => {
          const names = Object.keys(key);
          return fc.oneof(
            fc.tuple(fc.constantFrom(...names), hostileValue).map(([name, value]) => ({ ...key, [name]: value })),
            fc.tuple(fc.constantFrom(...names), fc.constantFrom('#', '#x', '\u0000', '/')).map(([name, suffix]) => ({ ...key, [name]: `${key[name]}${suffix}` })),
            fc.constantFrom(...names).map((name) => Object.fromEntries(Object.entries(key).filter(([other]) => other !== name))),
            fc.tuple(fc.oneof(prototypeName, fc.constantFrom('PK', 'SK', 'GSI1PK', 'GSI1SK', 'extra')), hostileValue).map(([name, value]) => {
              const result: Record<string, unknown> = { ...key };
              Object.defineProperty(result, name, { value, enumerable: true, configurable: true, writable: true });
              return result;
            }),
          );
        });
  return fc
    .oneof(
      { arbitrary: oneChange.map((k) => ({ v: 1, k })), weight: 4 },
      hostileJson.map((k) => ({ v: 1, k })),
      hostileJson,
    )
    .map((payload) => Buffer.from(JSON.stringify(payload) ?? 'null', 'utf8').toString('base64url'));
}

/** Any body: refused ones, and ones that may be valid (for routes that only read). */
export const anyBody: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  refusedBody,
  hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.tuple(invalidUtf8, fc.constantFrom('title', 'username', 'password', 'name')).map(([bytes, field]) => Buffer.from(`{"${field}":"${bytes}"}`, 'latin1')),
);

/** A test's time budget: generous per run, so a longer hunt (CELLBOOK_FUZZ_RUNS) or a loaded machine does not time out. */
export const FUZZ_TEST_TIMEOUT_MS = 30_000 + RUNS_PER_ROUTE * 1_000;

export type Caller = 'none' | 'garbage' | 'tenant user' | 'tenant admin' | 'operator';
export const CALLERS: readonly Caller[] = ['none', 'garbage', 'tenant user', 'tenant admin', 'operator'];

export interface HostileRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer | undefined;
  caller: Caller;
}

/**
 * Requests for one route: each `{param}` is a hostile value or (when `ids` names one) a real id,
 * hostile query and headers, and a body from `bodies`.
 */
export function hostileRequests(
  route: RouteDefinition,
  options: { ids?: Record<string, string>; bodies: fc.Arbitrary<Buffer | undefined>; cursors?: readonly string[] },
): fc.Arbitrary<HostileRequest> {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const paramValue = (name: string) => {
    const real = options.ids?.[name];
    return real === undefined ? wireText : fc.oneof(wireText, fc.constant(real));
  };
  const contentType = fc.oneof(
    fc.constant('application/json'),
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', ''),
  );
  return fc
    .record({
      path: fc.tuple(...params.map(paramValue)),
      // A forged cursor alone (or with a valid limit) reaches the cursor check; mixed in, the other parameters' checks.
      query:
        route.method === 'GET' && options.cursors
          ? fc.oneof(
              hostileQuery,
              forgedCursor(options.cursors).chain((cursor) =>
                fc.constantFrom<[string, string][]>(
                  [['cursor', cursor]],
                  [
                    ['limit', '1'],
                    ['cursor', cursor],
                  ],
                  [
                    ['cursor', cursor],
                    ['cursor', cursor],
                  ],
                ),
              ),
            )
          : hostileQuery,
      headers: hostileHeaders,
      body: options.bodies,
      contentType,
      caller: fc.constantFrom(...CALLERS),
    })
    .map(({ path, query, headers, body, contentType: type, caller }) => {
      let concrete = route.path;
      params.forEach((name, i) => {
        concrete = concrete.replace(`{${name}}`, path[i]!);
      });
      const search = query.map(([name, value]) => `${name}=${value}`).join('&');
      const allHeaders: [string, string][] = [...headers];
      if (body !== undefined) allHeaders.push(['Content-Type', type]);
      return { method: route.method, target: search ? `${concrete}?${search}` : concrete, headers: allHeaders, body, caller };
    })
    .filter((request) => request.target.length + request.headers.reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0) < MAX_HEAD_BYTES);
}

/** Sends a hostile request with the caller's token, over raw node:http. */
export function send(baseUrl: string, request: HostileRequest, tokens: Record<Caller, string | undefined>): Promise<RawResponse> {
  const token = tokens[request.caller];
  return rawRequest(baseUrl, {
    method: request.method,
    target: request.target,
    headers: [...request.headers, ...(token !== undefined ? [['Authorization', `Bearer ${token}`] as const] : [])],
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

/**
 * Refusals with a `{message}` body that no function wrote: API Gateway's own (DESIGN §5), and the
 * router's 400 for a request HTTP cannot parse (raw non-ASCII bytes in the target).
 */
const GATEWAY_OWN_STATUSES = new Set([401, 403, 404, 413, 429]);
const ROUTER_OWN = { status: 400, message: 'Bad Request' };

/**
 * Never a 5xx; a 4xx carries the application's error body (or API Gateway's own `{message}`
 * for its own refusals), and never a stack trace.
 */
export function expectNoServerError(request: HostileRequest, response: RawResponse): void {
  const described = `${request.caller} ${request.method} ${JSON.stringify(request.target.slice(0, 300))} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, described).toBeLessThan(500);
  expect(response.text, described).not.toMatch(/\n\s+at |\.(ts|js|mjs):\d+:\d+/);
  if (response.status < 400) return;
  const body = response.json as { message?: unknown } | undefined;
  if (typeof body?.message === 'string' && Object.keys(body).length === 1) {
    if (GATEWAY_OWN_STATUSES.has(response.status)) return;
    if (response.status === ROUTER_OWN.status && body.message === ROUTER_OWN.message) return;
  }
  expect(response.json, described).toEqual({
    error: { code: expect.stringMatching(/^[A-Z][A-Z_]+$/), message: expect.any(String), ...(hasDetails(response.json) ? { details: expect.any(Array) } : {}) },
    requestId: expect.any(String),
  });
}

function hasDetails(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'details' in body.error;
}

/** Whether a function answered (its `requestId` body or a success), not only the router or API Gateway. */
export function reachedFunction(response: RawResponse): boolean {
  return response.status < 400 || (typeof response.json === 'object' && response.json !== null && 'requestId' in response.json);
}

/** What a route's fuzz run needs of its suite: the platform, its callers' tokens and a state watcher. */
export interface FuzzTarget {
  url: string;
  tokens: Record<Caller, string | undefined>;
  readState: () => Promise<unknown>;
}

/**
 * Sends `requests` to one route: never a 5xx, the error body on every 4xx, every request refused
 * when `mustRefuse`, no table or event bus changed, and at least one request reached the route's
 * function (not only the router's or API Gateway's refusals).
 */
export async function expectRouteWithstands(target: FuzzTarget, requests: fc.Arbitrary<HostileRequest>, mustRefuse: boolean): Promise<void> {
  const before = await target.readState();
  let reached = 0;
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      const response = await send(target.url, request, target.tokens);
      expectNoServerError(request, response);
      if (reachedFunction(response)) reached += 1;
      if (mustRefuse) expect(response.status, response.text).toBeGreaterThanOrEqual(400);
    }),
    { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
  );
  expect(await target.readState()).toEqual(before);
  expect(reached).toBeGreaterThan(0);
}

/**
 * Cursors forged from the ones the server issued (listing path → cursor), sent by any of `callers`:
 * each is answered with a 4xx or the page, never a 5xx.
 */
export async function expectForgedCursorsAnswered(target: Omit<FuzzTarget, 'readState'>, issued: ReadonlyMap<string, string>, callers: readonly Caller[]): Promise<void> {
  for (const [listing, cursor] of issued) {
    await fc.assert(
      fc.asyncProperty(forgedCursor([cursor]), fc.constantFrom(...callers), async (forged, caller) => {
        const request = { method: 'GET', target: `${listing}?cursor=${forged}`, headers: [], body: undefined, caller };
        expectNoServerError(request, await send(target.url, request, target.tokens));
      }),
      { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE * 2, endOnFailure: true },
    );
  }
}
