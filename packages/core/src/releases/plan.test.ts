import { describe, expect, it } from 'vitest';
import { CELL_CATALOG } from '../cells/cell.js';
import { planWaves, type PlannedCell } from './plan.js';

const pooled = (cellId: string, wave = 1): PlannedCell => ({ cellId, placement: 'pooled', wave, status: 'active' });
const dedicated = (cellId: string, wave = 2): PlannedCell => ({ cellId, placement: 'dedicated', wave, status: 'active' });

describe('planWaves', () => {
  it("plans today's catalog: the canary cell alone, the other pooled cell, then the dedicated cells", () => {
    const cells = CELL_CATALOG.map((cell) => ({ ...cell, status: 'active' as const }));
    expect(planWaves(cells)).toEqual([
      { index: 0, kind: 'canary', cellIds: ['cell-1'] },
      { index: 1, kind: 'pooled', cellIds: ['cell-2'] },
      { index: 2, kind: 'dedicated', cellIds: ['cell-d1'] },
      { index: 3, kind: 'dedicated', cellIds: ['cell-d2'] },
    ]);
  });

  it('puts exactly one pooled cell in the canary wave, even when the catalog gives several wave 0', () => {
    const waves = planWaves([pooled('cell-b', 0), pooled('cell-a', 0), pooled('cell-c', 0)]);
    expect(waves[0]).toEqual({ index: 0, kind: 'canary', cellIds: ['cell-a'] });
    expect(waves.slice(1).map((wave) => wave.cellIds)).toEqual([['cell-b'], ['cell-c']]);
  });

  it('grows the waves after the canary: 1, 2, 4, … cells, in the catalog’s wave order', () => {
    const cells = Array.from({ length: 10 }, (_, i) => pooled(`cell-${String(i).padStart(2, '0')}`, 10 - i));
    const waves = planWaves(cells);
    expect(waves.map((wave) => wave.cellIds.length)).toEqual([1, 1, 2, 4, 2]);
    // A higher catalog wave never runs before a lower one.
    expect(waves.flatMap((wave) => wave.cellIds)).toEqual(cells.map((cell) => cell.cellId).reverse());
  });

  it('sends dedicated cells last, whatever their catalog wave, in growing waves of their own', () => {
    const waves = planWaves([dedicated('cell-d1', 0), dedicated('cell-d2', 0), dedicated('cell-d3', 0), pooled('cell-1', 5), pooled('cell-2', 6)]);
    expect(waves.map(({ kind, cellIds }) => [kind, cellIds])).toEqual([
      ['canary', ['cell-1']],
      ['pooled', ['cell-2']],
      ['dedicated', ['cell-d1']],
      ['dedicated', ['cell-d2', 'cell-d3']],
    ]);
  });

  it('leaves out cells not deployed yet, and keeps draining cells (they still serve their tenants)', () => {
    const waves = planWaves([pooled('cell-1', 0), { ...pooled('cell-2'), status: 'draining' }, { ...dedicated('cell-d1'), status: 'provisioning' }]);
    expect(waves.flatMap((wave) => wave.cellIds)).toEqual(['cell-1', 'cell-2']);
  });

  it('refuses to plan a release with no deployed pooled cell for the canary', () => {
    expect(() => planWaves([dedicated('cell-d1')])).toThrow(/needs a deployed pooled cell for its canary wave/);
    expect(() => planWaves([{ ...pooled('cell-1'), status: 'provisioning' }])).toThrow(/canary/);
    expect(() => planWaves([])).toThrow(/canary/);
  });
});
