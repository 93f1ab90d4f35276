import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * The platform as a browser meets it (issue 11, DESIGN §12): the web app on the router's origin,
 * `/` leading to it; a web app on another origin may call the API only when the platform's
 * configuration lists that origin — its preflights succeed on every route (cell, control plane,
 * unknown) and its actual requests, refusals included, carry CORS headers — while any other origin
 * gets no CORS header at all, so its browser withholds every answer from its page.
 */
const ALLOWED = 'https://portal.example.com';
const OTHER = 'https://evil.example.net';

let env: TestPlatform;
let tenant: TestTenant;
let webRoot: string;

beforeAll(async () => {
  webRoot = await mkdtemp(join(tmpdir(), 'cellbook-web-dist-'));
  await mkdir(join(webRoot, 'assets'));
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>Cellbook</title><script type="module" src="/app/assets/index-4f2a.js"></script>');
  await writeFile(join(webRoot, 'assets', 'index-4f2a.js'), 'export {};');
  env = await bootTestPlatform({ browserOrigins: [ALLOWED], webRoot });
  tenant = await env.onboard('basic');
});
afterAll(async () => {
  await env?.stop();
  await rm(webRoot, { recursive: true, force: true });
});

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What a browser sends before a cross-origin request with a token and a JSON body. */
const preflight = (path: string, origin: string, method = 'POST') =>
  send(env.url, 'OPTIONS', path, { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' });

const corsHeaders = (headers: IncomingHttpHeaders) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

function expectPreflightAllowed(answer: Exchange, method: string): void {
  expect(answer.status).toBe(204);
  expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
  expect(answer.headers['access-control-allow-methods']?.split(', ')).toContain(method);
  expect(answer.headers['access-control-allow-headers']?.split(', ')).toEqual(expect.arrayContaining(['authorization', 'content-type']));
  expect(answer.headers.vary).toMatch(/\borigin\b/i);
}

describe('a browser on an origin the configuration allows', () => {
  it('calls a cell route: preflight, then the request, whose answer it may read', async () => {
    expectPreflightAllowed(await preflight('/cases', ALLOWED), 'POST');
    const created = await send(
      env.url,
      'POST',
      '/cases',
      { origin: ALLOWED, authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json' },
      JSON.stringify({ title: 'From the portal', priority: 'low' }),
    );
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(created.headers.vary).toMatch(/\borigin\b/i);
    expectPreflightAllowed(await preflight(`/cases/${JSON.parse(created.body).caseId}`, ALLOWED, 'PATCH'), 'PATCH');
  });

  it('signs in on the control plane: preflight, then the request', async () => {
    expectPreflightAllowed(await preflight('/auth/token', ALLOWED), 'POST');
    const signedIn = await send(
      env.url,
      'POST',
      '/auth/token',
      { origin: ALLOWED, 'content-type': 'application/json' },
      JSON.stringify({ username: 'operator', password: 'operator' }),
    );
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers['access-control-allow-origin']).toBe(ALLOWED);
    expectPreflightAllowed(await preflight('/admin/tenants', ALLOWED, 'GET'), 'GET');
  });

  it('can read a refusal (401 from the gateway, 404 for an unknown route), so the app can say why', async () => {
    const unauthenticated = await send(env.url, 'GET', '/cases', { origin: ALLOWED });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe(ALLOWED);
    expectPreflightAllowed(await preflight('/no/such/route', ALLOWED, 'DELETE'), 'DELETE');
    const unknown = await send(env.url, 'GET', '/no/such/route', { origin: ALLOWED, authorization: `Bearer ${tenant.token}` });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('may upload evidence to the cells’ bucket: the S3 endpoint reads the same configuration', async () => {
    const bucket = env.platform.cells[0]!.evidenceBucket;
    const s3Preflight = (origin: string) =>
      send(env.platform.endpoints.s3, 'OPTIONS', `/${bucket}/tenant=x/evidence`, {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      });
    const allowed = await s3Preflight(ALLOWED);
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED);
    const refused = await s3Preflight(OTHER);
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('a browser on an origin the configuration does not list', () => {
  it('has every preflight refused, with no CORS header', async () => {
    for (const path of ['/cases', '/auth/token', '/admin/tenants']) {
      const answer = await preflight(path, OTHER);
      expect(answer.status, path).toBe(403);
      expect(corsHeaders(answer.headers), path).toEqual([]);
    }
  });

  it('gets no CORS header on an actual response, so its page cannot read it', async () => {
    const listed = await send(env.url, 'GET', '/cases', { origin: OTHER, authorization: `Bearer ${tenant.token}` });
    expect(listed.status).toBe(200);
    expect(corsHeaders(listed.headers)).toEqual([]);
    const refused = await send(env.url, 'GET', '/cases', { origin: OTHER });
    expect(refused.status).toBe(401);
    expect(corsHeaders(refused.headers)).toEqual([]);
  });
});

describe('the web app on the router’s origin', () => {
  it('opens from the root', async () => {
    const root = await send(env.url, 'GET', '/', {});
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/app/');
  });

  it('serves the build, and index.html for a client-side route', async () => {
    for (const path of ['/app/', '/app/cases/123']) {
      const page = await send(env.url, 'GET', path, {});
      expect(page.status, path).toBe(200);
      expect(page.body, path).toContain('<title>Cellbook</title>');
      expect(page.headers['cache-control'], path).toBe('no-cache');
      const csp = page.headers['content-security-policy'] ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      // The app PUTs and GETs evidence at presigned URLs on the local S3 endpoint.
      expect(csp).toContain(`connect-src 'self' ${new URL(env.platform.endpoints.s3).origin}`);
    }
    const asset = await send(env.url, 'GET', '/app/assets/index-4f2a.js', {});
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('may upload evidence from its own origin, which no configuration lists: the bucket allows the router’s origin', async () => {
    const origin = new URL(env.url).origin;
    const preflight = await send(env.platform.endpoints.s3, 'OPTIONS', `/${env.platform.cells[0]!.evidenceBucket}/tenant=x/evidence`, {
      origin,
      'access-control-request-method': 'PUT',
      // Exactly what the app's upload declares (packages/web: the signed type, length and checksum).
      'access-control-request-headers': 'content-length,content-type,x-amz-checksum-sha256',
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
  });

  it('leaves the API where it was: same-origin calls need no CORS', async () => {
    const listed = await tenant.call('GET', '/cases');
    expect(listed.status).toBe(200);
  });
});
