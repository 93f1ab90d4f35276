import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, unverifiedTenantClaim } from './router.js';

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT-shaped token; the signature is never checked here (the cell's authorizer does that). */
function token(claims: unknown): string {
  return `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.${b64url('signature-bytes')}`;
}

describe('unverifiedTenantClaim', () => {
  it('reads tenant_id from a Bearer token', () => {
    expect(unverifiedTenantClaim(`Bearer ${token({ sub: 'u-1', tenant_id: 'acme-x1', roles: ['admin'] })}`)).toBe('acme-x1');
  });

  it('returns undefined without an Authorization header', () => {
    expect(unverifiedTenantClaim(undefined)).toBeUndefined();
    expect(unverifiedTenantClaim('')).toBeUndefined();
  });

  it('returns undefined for a token without a tenant_id claim (e.g. an operator token)', () => {
    expect(unverifiedTenantClaim(`Bearer ${token({ sub: 'operator', roles: ['operator'] })}`)).toBeUndefined();
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an array', ['t-1']],
    ['an object', { id: 't-1' }],
  ])('returns undefined when tenant_id is %s', (_label, tenantId) => {
    expect(unverifiedTenantClaim(`Bearer ${token({ tenant_id: tenantId })}`)).toBeUndefined();
  });

  it.each([
    ['Basic credentials', `Basic ${b64url('user:pass')}`],
    ['a bare token without a scheme', token({ tenant_id: 't-1' })],
    ['another scheme', `Token ${token({ tenant_id: 't-1' })}`],
    ['two spaces after Bearer', `Bearer  ${token({ tenant_id: 't-1' })}`],
    ['trailing text', `Bearer ${token({ tenant_id: 't-1' })} extra`],
    ['only two segments', `Bearer ${b64url({ alg: 'none' })}.${b64url({ tenant_id: 't-1' })}`],
    ['four segments', `Bearer ${token({ tenant_id: 't-1' })}.more`],
    ['standard base64 characters', `Bearer a+b.${b64url({ tenant_id: 't-1' })}.c/d`],
  ])('returns undefined for a non-Bearer or malformed header: %s', (_label, header) => {
    expect(unverifiedTenantClaim(header)).toBeUndefined();
  });

  it.each([
    ['a payload that is not JSON', b64url('{')],
    ['a payload that is JSON null', b64url('null')],
    ['a payload that is a JSON string', b64url('"t-1"')],
    ['a payload of garbage bytes', Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('base64url')],
  ])('returns undefined for %s', (_label, payload) => {
    expect(unverifiedTenantClaim(`Bearer ${b64url({ alg: 'RS256' })}.${payload}.${b64url('sig')}`)).toBeUndefined();
  });
});

/** A client-side view of one exchange: status and body, or how the connection failed. */
interface Exchange {
  status: number;
  body: string;
  /** Set when the response did not arrive whole. */
  cut?: string;
}

function send(base: string, method: string, path: string, body?: { bytes: number }): Promise<Exchange> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let exchange: Exchange | undefined;
    let uploaded = body === undefined;
    const settle = () => exchange && uploaded && resolve(exchange);
    const headers = body ? { 'content-length': String(body.bytes) } : {};
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), cut: error.message }));
      res.on('end', () => {
        exchange = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
        settle();
      });
    });
    req.on('error', (error) => {
      if (!exchange) return resolve({ status: 0, body: '', cut: error.message });
      uploaded = true;
      settle();
    });
    // A request the router lost is reported as such rather than hanging the test.
    req.setTimeout(5_000, () => {
      resolve({ status: 0, body: '', cut: 'no answer within 5 s' });
      req.destroy();
    });
    req.on('finish', () => {
      uploaded = true;
      settle();
    });
    if (body) {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const writeMore = () => {
        while (sent < body.bytes) {
          const piece = chunk.subarray(0, Math.min(chunk.byteLength, body.bytes - sent));
          sent += piece.byteLength;
          if (!req.write(piece)) return void req.once('drain', writeMore);
        }
        req.end();
      };
      writeMore();
    } else req.end();
  });
}

describe('the router’s connections to an origin', () => {
  let origin: Server;
  let router: Server;
  let routerUrl: string;
  /** Connections on which the origin answered before reading the body; it closes them at their next request. */
  const answeredEarly = new WeakSet<Socket>();
  /** Bodies the origin stopped receiving: read to their end, or cut by the router. */
  let bodiesDrained = 0;
  let posts = 0;
  let partialStarted = 0;
  let partialAbandoned = 0;

  beforeAll(async () => {
    origin = createServer((req, res) => {
      if (answeredEarly.has(req.socket)) return void req.socket.destroy();
      if (req.url === '/upload') {
        // Like an origin that refuses a body it will not read, without saying it will close.
        answeredEarly.add(req.socket);
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Too Long"}');
        let stopped = false;
        const stop = () => {
          if (stopped) return;
          stopped = true;
          bodiesDrained += 1;
        };
        req.on('end', stop).resume();
        req.socket.once('close', stop);
        return;
      }
      if (req.url === '/half') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
        setImmediate(() => req.socket.destroy());
        return;
      }
      if (req.url === '/partial') {
        // Waits for a body its client will never finish sending.
        partialStarted += 1;
        req.resume();
        req.once('close', () => {
          if (!req.complete) partialAbandoned += 1;
        });
        return;
      }
      if (req.method === 'POST') posts += 1;
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    });
    origin.keepAliveTimeout = 60_000;
    const originUrl = await listenOn(origin);
    router = createServer(
      createRouter({ controlPlaneUrl: originUrl, cellUrls: new Map([['cell-1', originUrl]]), defaultCellId: 'cell-1', resolveCell: async () => 'cell-1' }),
    );
    routerUrl = await listenOn(router);
  });

  afterAll(async () => {
    for (const server of [router, origin]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never sends the next request over a connection whose origin answered before reading the body', async () => {
    for (let round = 0; round < 3; round++) {
      const drained = bodiesDrained;
      const refused = await send(routerUrl, 'POST', '/upload', { bytes: 4 * 1024 * 1024 });
      expect(refused).toEqual({ status: 413, body: '{"message":"Request Too Long"}' });
      // The origin has read (or lost) the whole body, so the connection is idle before the next request.
      while (bodiesDrained === drained) await new Promise((resolve) => setImmediate(resolve));
      const postsBefore = posts;
      const next = await Promise.all([send(routerUrl, 'POST', '/cases', { bytes: 10 }), send(routerUrl, 'POST', '/cases', { bytes: 10 })]);
      expect(next).toEqual([
        { status: 200, body: '{"ok":true}' },
        { status: 200, body: '{"ok":true}' },
      ]);
      expect(posts).toBe(postsBefore + 2);
    }
  });

  it('drops the request to the origin when its client goes away before sending the whole body', async () => {
    // A browser cancelling a fetch mid-upload: without this the origin would wait for the rest of the
    // body for ever, holding its connection (and a local gateway that could then never close).
    const { hostname, port } = new URL(routerUrl);
    const client = connect(Number(port), hostname);
    client.write('POST /partial HTTP/1.1\r\nHost: cellbook\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":');
    while (partialStarted === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.destroy();
    while (partialAbandoned === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(partialAbandoned).toBe(1);
    expect(await send(routerUrl, 'GET', '/cases')).toEqual({ status: 200, body: '{"ok":true}' });
  });

  it('cuts a response the origin broke off after its headers, and keeps serving', async () => {
    const half = await send(routerUrl, 'GET', '/half');
    // The client learns at once that the response is incomplete, instead of waiting on it.
    expect(half.status).toBe(200);
    expect(half.cut).toBeDefined();
    expect(half.cut).not.toBe('no answer within 5 s');
    expect(await send(routerUrl, 'GET', '/cases')).toEqual({ status: 200, body: '{"ok":true}' });
  });
});

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One exchange with its response headers, as a browser's network layer sees it. */
function call(base: string, method: string, path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const corsHeaderNames = (headers: IncomingHttpHeaders) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

describe('the router for browsers: CORS on every route, the web app on its own origin', () => {
  const ALLOWED = 'https://portal.example.com';
  const OTHER = 'https://evil.example.net';
  let origin: Server;
  let router: Server;
  let routerUrl: string;
  let webRoot: string;
  /** What reached the origin: a preflight must never get there. */
  const reached: string[] = [];

  beforeAll(async () => {
    webRoot = await mkdtemp(join(tmpdir(), 'cellbook-web-'));
    await mkdir(join(webRoot, 'assets'));
    await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>Cellbook</title><script type="module" src="/app/assets/index-abc123.js"></script>');
    await writeFile(join(webRoot, 'assets', 'index-abc123.js'), 'console.log("app")');
    await writeFile(join(webRoot, '..', `${basename(webRoot)}-secret.txt`), 'outside the build');
    origin = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      // An origin that says something about CORS itself: the router's policy replaces it.
      const ownCors = { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' };
      if (req.url === '/cases') res.writeHead(401, { 'content-type': 'application/json', ...ownCors }).end('{"message":"Unauthorized"}');
      else res.writeHead(200, { 'content-type': 'application/json', 'retry-after': '2', vary: 'Accept-Encoding', ...ownCors }).end('{"ok":true}');
    });
    const originUrl = await listenOn(origin);
    router = createServer(
      createRouter({
        controlPlaneUrl: originUrl,
        cellUrls: new Map([['cell-1', originUrl]]),
        defaultCellId: 'cell-1',
        resolveCell: async () => 'cell-1',
        browserOrigins: () => [ALLOWED],
        webRoot,
        evidenceOrigins: () => ['http://127.0.0.1:9999'],
      }),
    );
    routerUrl = await listenOn(router);
  });

  afterAll(async () => {
    for (const server of [router, origin]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await rm(join(webRoot, '..', `${basename(webRoot)}-secret.txt`), { force: true });
    await rm(webRoot, { recursive: true, force: true });
  });

  const preflight = (path: string, from: string, method = 'POST', headers = 'authorization, content-type') =>
    call(routerUrl, 'OPTIONS', path, { origin: from, 'access-control-request-method': method, 'access-control-request-headers': headers });

  it.each(['/cases', '/cases/c-1/notes', '/auth/token', '/admin/tenants', '/no/such/route'])(
    'answers a preflight for %s from an allowed origin itself, without credentials',
    async (path) => {
      const before = reached.length;
      const answer = await preflight(path, ALLOWED);
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(answer.headers.vary).toMatch(/\borigin\b/i);
      expect(answer.headers['access-control-allow-methods']?.split(', ')).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS']));
      expect(answer.headers['access-control-allow-headers']?.split(', ')).toEqual(expect.arrayContaining(['authorization', 'content-type']));
      expect(Number(answer.headers['access-control-max-age'])).toBeGreaterThan(0);
      expect(reached.length).toBe(before);
    },
  );

  it('refuses a preflight from an origin the configuration does not list, with no CORS header', async () => {
    const answer = await preflight('/cases', OTHER);
    expect(answer.status).toBe(403);
    expect(corsHeaderNames(answer.headers)).toEqual([]);
  });

  it('refuses a preflight for a method or a header the API does not take, even from an allowed origin', async () => {
    expect((await preflight('/cases', ALLOWED, 'PUT')).status).toBe(403);
    expect((await preflight('/cases', ALLOWED, 'POST', 'authorization, x-forwarded-for')).status).toBe(403);
  });

  it('gives an allowed origin CORS headers on actual responses, errors included, in place of the origin’s own', async () => {
    const ok = await call(routerUrl, 'GET', '/me', { origin: ALLOWED });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(ok.headers['access-control-expose-headers']?.split(', ')).toContain('retry-after');
    expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
    expect(ok.headers.vary).toBe('Accept-Encoding, Origin');
    const refused = await call(routerUrl, 'GET', '/cases', { origin: ALLOWED });
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('gives any other origin no CORS header at all, whatever the origin said', async () => {
    for (const headers of [{ origin: OTHER }, {}] as Record<string, string>[]) {
      const answer = await call(routerUrl, 'GET', '/me', headers);
      expect(answer.status).toBe(200);
      expect(corsHeaderNames(answer.headers)).toEqual([]);
    }
  });

  it('sends a browser opening the origin’s root to the web app', async () => {
    for (const method of ['GET', 'HEAD']) {
      const answer = await call(routerUrl, method, '/');
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe('/app/');
    }
    expect((await call(routerUrl, 'GET', '/app')).headers.location).toBe('/app/');
  });

  it('serves the built app under /app/: index.html revalidated, hashed assets cached for good, strict security headers', async () => {
    const page = await call(routerUrl, 'GET', '/app/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<title>Cellbook</title>');
    const csp = page.headers['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' http:\/\/127\.0\.0\.1:9999(;|$)/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBeDefined();
    const asset = await call(routerUrl, 'GET', '/app/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.body).toBe('console.log("app")');
  });

  it('answers index.html for a client-side route, so a reload or a shared link opens the app there', async () => {
    for (const path of ['/app/cases/123', '/app/admin/tenants?tier=premium']) {
      const page = await call(routerUrl, 'GET', path);
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body).toContain('<title>Cellbook</title>');
    }
  });

  it('answers 404 for a hashed asset the build does not have, never index.html under its name', async () => {
    const answer = await call(routerUrl, 'GET', '/app/assets/index-old999.js');
    expect(answer.status).toBe(404);
    expect(answer.headers['cache-control']).not.toContain('immutable');
  });

  it('never serves a file outside the build, however the path is spelt', async () => {
    const secret = `${basename(webRoot)}-secret.txt`;
    for (const path of [`/app/../${secret}`, `/app/%2e%2e/${secret}`, `/app/assets/..%2f..%2f${secret}`, `/app/%2e%2e%2f${secret}`]) {
      const answer = await call(routerUrl, 'GET', path);
      expect(answer.body, path).not.toContain('outside the build');
    }
  });

  it('answers a missing build with a 503 that says how to build it', async () => {
    const bare = createServer(
      createRouter({
        controlPlaneUrl: 'http://127.0.0.1:9',
        cellUrls: new Map(),
        defaultCellId: 'cell-1',
        resolveCell: async () => undefined,
        webRoot: join(webRoot, 'nothing-here'),
      }),
    );
    const bareUrl = await listenOn(bare);
    try {
      const answer = await call(bareUrl, 'GET', '/app/cases/1');
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(answer.body).toContain('npm run build:web');
    } finally {
      bare.closeAllConnections();
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
