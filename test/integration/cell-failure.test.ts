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
  // That a crash fails the in-flight invocation is proven deterministically in function-host.test.ts.
  it('leaves the other cell serving and recovers with a cold start, data intact', async () => {
    const cell1 = env.platform.cells.find((cell) => cell.cellId === 'cell-1')!;
    await inCell1.call('POST', '/cases', { body: { title: 'before the crash', priority: 'low' } });
    const startsBefore = cell1.functions.api.starts;

    await cell1.functions.api.crash();

    expect((await inCell2.call('GET', '/me')).status).toBe(200);
    const after = await inCell1.call('GET', '/cases');
    expect(after.status).toBe(200);
    expect(after.body.items.map((item: { title: string }) => item.title)).toContain('before the crash');
    expect(cell1.functions.api.starts).toBe(startsBefore + 1);
  });
});
