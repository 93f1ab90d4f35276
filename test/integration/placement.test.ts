import * as Cell from '@cellbook/core/cells/cell';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, twoPooledCells, type TestPlatform } from '../support/platform.js';

/** Two small pooled cells, so concurrent onboardings race for the last slots. */
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform({ cells: twoPooledCells(3) });
});
afterAll(() => env?.stop());

describe('placement', () => {
  it('never fills a cell past its capacity, even with ten onboardings at once', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        env.call('POST', '/admin/tenants', {
          token: env.operatorToken,
          body: { name: `Racer ${i}`, tier: 'basic', adminEmail: `racer-${i}@example.com` },
        }),
      ),
    );
    const placed = attempts.filter((response) => response.status === 201);
    const refused = attempts.filter((response) => response.status !== 201);
    expect(placed).toHaveLength(6);
    expect(refused.map((response) => response.body.error.code)).toEqual(Array(4).fill('NO_CELL_CAPACITY'));

    const cells = await env.call('GET', '/admin/cells', { token: env.operatorToken });
    expect(cells.body.items.map((cell: { cellId: string; tenantCount: number }) => [cell.cellId, cell.tenantCount])).toEqual([
      ['cell-1', 3],
      ['cell-2', 3],
    ]);
    const perCell = placed.reduce<Record<string, number>>((count, response) => {
      count[response.body.cellId] = (count[response.body.cellId] ?? 0) + 1;
      return count;
    }, {});
    expect(perCell).toEqual({ 'cell-1': 3, 'cell-2': 3 });
    // The refused onboardings left nothing behind: only the placed tenants exist.
    const tenants = await env.call('GET', '/admin/tenants?limit=100', { token: env.operatorToken });
    expect(tenants.body.items.map((t: { tenantId: string }) => t.tenantId).sort()).toEqual(placed.map((response) => response.body.tenantId).sort());
  });

  it('takes slots with conditional writes: ten placements racing on one stale snapshot still stop at capacity', async () => {
    const race = await bootTestPlatform({ cells: twoPooledCells(3) });
    try {
      // This process plays the onboarding function: same environment, the deployer's credentials.
      const credentials = sdkCredentials(race.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin'));
      Object.assign(process.env, {
        AWS_REGION: race.platform.region,
        AWS_ENDPOINT_URL_DYNAMODB: race.platform.endpoints.dynamodb,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        CELLS_TABLE: 'cellbook-local-cells',
      });
      // Started together, every call reads the catalog before any of them writes: all see two empty cells.
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => Cell.reserveSlot('pooled', `racer-${i}`)));
      const granted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.cellId] : []));
      expect(granted.sort()).toEqual(['cell-1', 'cell-1', 'cell-1', 'cell-2', 'cell-2', 'cell-2']);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason.code)).toEqual(
        Array(4).fill('NO_CELL_CAPACITY'),
      );
      expect((await Cell.list()).map((cell) => cell.tenantCount)).toEqual([3, 3]);
    } finally {
      await race.stop();
    }
  });

  it('places no new tenant in a draining cell, and resumes once the cell is active again', async () => {
    const fresh = await bootTestPlatform({ cells: twoPooledCells(10) });
    try {
      const setCell = (body: unknown) => fresh.call('POST', '/admin/cells', { token: fresh.operatorToken, body });
      const drained = await setCell({ cellId: 'cell-1', status: 'draining' });
      expect(drained.status).toBe(200);
      expect(drained.body).toEqual({
        cellId: 'cell-1',
        placement: 'pooled',
        wave: 0,
        region: 'us-east-1',
        capacity: 10,
        status: 'draining',
        tenantCount: 0,
        release: expect.objectContaining({ releaseId: expect.stringMatching(/^r-/) }),
      });
      const placed: string[] = [];
      for (let i = 0; i < 3; i++) placed.push((await fresh.onboard('basic')).cellId);
      expect(placed).toEqual(['cell-2', 'cell-2', 'cell-2']);
      await setCell({ cellId: 'cell-1', status: 'active' });
      expect((await fresh.onboard('basic')).cellId).toBe('cell-1');

      const full = await setCell({ cellId: 'cell-2', capacity: 3 });
      expect(full.body).toMatchObject({ capacity: 3, tenantCount: 3 });
      expect((await fresh.onboard('basic')).cellId).toBe('cell-1');

      expect((await setCell({ cellId: 'cell-9', capacity: 5 })).body.error.code).toBe('CELL_NOT_FOUND');
      for (const body of [{ cellId: 'cell-1' }, { cellId: 'cell-1', status: 'deleted' }, { cellId: 'cell-1', capacity: -1 }, { cellId: 'cell-1', tenantCount: 0 }]) {
        expect((await setCell(body)).status, JSON.stringify(body)).toBe(422);
      }
    } finally {
      await fresh.stop();
    }
  });

  it('puts each new pooled tenant in the least-loaded cell', async () => {
    const fresh = await bootTestPlatform({ cells: twoPooledCells(10) });
    try {
      const cells: string[] = [];
      for (let i = 0; i < 4; i++) cells.push((await fresh.onboard('basic')).cellId);
      expect(cells).toEqual(['cell-1', 'cell-2', 'cell-1', 'cell-2']);
    } finally {
      await fresh.stop();
    }
  });
});
