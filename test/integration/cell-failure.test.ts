import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/** Cells share nothing: a crash in one cell's compute is felt only by that cell's tenants. */
let env: TestPlatform;
let inCell1: TestTenant;
let inCell2: TestTenant;

beforeAll(async () => {
  env = await bootTestPlatform();
  const first = await env.onboard('premium');
  const second = await env.onboard('premium');
  [inCell1, inCell2] = first.cellId === 'cell-1' ? [first, second] : [second, first];
  expect([inCell1.cellId, inCell2.cellId]).toEqual(['cell-1', 'cell-2']);
});
afterAll(() => env?.stop());

describe('a crashed cell', () => {
  it('fails only its own in-flight request, leaves the other cell serving, and recovers with a cold start', async () => {
    const cell1 = env.platform.cells.find((cell) => cell.cellId === 'cell-1')!;
    await inCell1.call('POST', '/cases', { body: { title: 'before the crash', priority: 'low' } });
    const startsBefore = cell1.functions.api.starts;

    const inFlight = inCell1.call('GET', '/cases');
    await cell1.functions.api.crash();
    const failed = await inFlight;
    // Either the request already finished, or API Gateway's 502 for a crashed integration.
    expect([200, 502]).toContain(failed.status);
    if (failed.status === 502) expect(failed.body).toEqual({ message: 'Internal server error' });

    expect((await inCell2.call('GET', '/me')).status).toBe(200);
    const after = await inCell1.call('GET', '/cases');
    expect(after.status).toBe(200);
    expect(after.body.items.map((item: { title: string }) => item.title)).toContain('before the crash');
    expect(cell1.functions.api.starts).toBe(startsBefore + 1);
  });
});
