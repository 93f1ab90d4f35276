import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/** An export's bytes are its tenant's usage (DESIGN §10): every page counted once, in the ledger. */
let env: TestPlatform;
beforeAll(async () => {
  env = await bootTestPlatform();
}, 120_000);
afterAll(() => env?.stop());

describe('export usage', () => {
  it("counts every byte of every export page as the tenant's exportBytes, and nothing for its neighbour", async () => {
    const tenant = await env.onboard('standard');
    const neighbour = await env.onboard('standard');
    for (let i = 0; i < 5; i += 1) expect((await tenant.call('POST', '/cases', { body: { title: `Case ${i}`, priority: 'low' } })).status).toBe(201);

    let bytes = 0;
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await fetch(new URL(`/admin/tenants/${tenant.tenantId}/export?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, env.url), {
        headers: { authorization: `Bearer ${env.operatorToken}` },
      });
      expect(response.status).toBe(200);
      bytes += (await response.arrayBuffer()).byteLength;
      cursor = response.headers.get('x-next-cursor') ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);

    const usage = async (tenantId: string) =>
      (await env.call('GET', `/admin/tenants/${tenantId}/usage?granularity=hour`, { token: env.operatorToken })).body.totals.quantities.exportBytes;
    expect(await usage(tenant.tenantId)).toBe(bytes);
    expect(await usage(neighbour.tenantId)).toBe(0);
  });
});
