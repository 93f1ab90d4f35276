import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/** A raw request: fetch would normalise the path before it leaves the client. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('router', () => {
  let t: TestPlatform;
  let tenant: TestTenant;
  let otherHost: Server;
  let otherPort: number;
  const received: string[] = [];

  beforeAll(async () => {
    t = await bootTestPlatform();
    tenant = await t.onboard('basic');
    otherHost = createServer((req, res) => {
      received.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.end('another host');
    });
    await new Promise<void>((resolve) => otherHost.listen(0, '127.0.0.1', resolve));
    otherPort = (otherHost.address() as AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => otherHost?.close(() => resolve()));
    await t?.stop();
  });

  it('never forwards a request whose path starts with // to the host it names', async () => {
    const response = await raw(t.url, 'GET', `//127.0.0.1:${otherPort}/x`, { authorization: `Bearer ${tenant.token}` });
    expect(response.status).toBeLessThan(500);
    expect(response.body).not.toContain('another host');
    expect(received).toEqual([]);
  });

  it('treats //cases as the path it is: API Gateway answers 404, never a 5xx', async () => {
    const response = await raw(t.url, 'GET', '//cases', { authorization: `Bearer ${tenant.token}` });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ message: 'Not Found' });
  });

  it.each(['//x:99999/health', '//[/health', '//:0/health', '//%zz/health', '//127.0.0.1:1/cases', '/\\127.0.0.1:1/cases', '//a@b/health'])(
    'answers 404 to %s: a path starting with // names no host and no resource, never a 5xx',
    async (path) => {
      for (const headers of [{}, { authorization: `Bearer ${tenant.token}` }] as Record<string, string>[]) {
        const response = await raw(t.url, 'GET', path, headers);
        expect(response.status, `${path}: ${response.body}`).toBe(404);
        expect(JSON.parse(response.body)).toEqual({ message: 'Not Found' });
      }
      expect(received).toEqual([]);
    },
  );

  it.each([
    ['absolute-form', 'GET', () => `http://127.0.0.1:${otherPort}/x`],
    ['asterisk-form', 'OPTIONS', () => '*'],
  ])('answers 400 to a %s request target and reaches no other host', async (_label, method, target) => {
    const response = await raw(t.url, method, target(), { authorization: `Bearer ${tenant.token}` });
    expect(response.status).toBe(400);
    expect(received).toEqual([]);
  });
});
