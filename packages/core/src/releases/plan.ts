/**
 * The order in which a release reaches the cells (DESIGN §9, issue 8): one pooled cell alone first
 * (the canary: a fault there reaches the fewest tenants), then the other pooled cells in waves that
 * double in size, then the dedicated (enterprise) cells, also in doubling waves, last. The catalog's
 * `wave` orders cells within those rules (operators move a cell earlier or later by changing it);
 * it never puts a second cell beside the canary or a dedicated cell before a pooled one.
 *
 * A cell that is not deployed yet (`provisioning`) runs nothing and gets nothing; a draining cell
 * still serves its tenants, so it gets the release like any other.
 */
import type { CellRecord } from '../cells/cell.js';

export type WaveKind = 'canary' | 'pooled' | 'dedicated';

export interface ReleaseWave {
  /** 0 for the canary, then 1, 2, … in the order the waves run. */
  index: number;
  kind: WaveKind;
  cellIds: string[];
}

export type PlannedCell = Pick<CellRecord, 'cellId' | 'placement' | 'wave' | 'status'>;

/** Catalog order: the operator's wave first, then the cell id, so a plan is the same on every run. */
function inCatalogOrder(a: PlannedCell, b: PlannedCell): number {
  return a.wave - b.wave || (a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0);
}

/** Cuts `cells` into consecutive waves of 1, 2, 4, … cells (the last one may be smaller). */
function doubling(cells: readonly PlannedCell[], firstSize: number): PlannedCell[][] {
  const waves: PlannedCell[][] = [];
  let size = firstSize;
  for (let start = 0; start < cells.length; start += size, size *= 2) waves.push(cells.slice(start, start + size));
  return waves;
}

/**
 * The waves of a release over `cells` (the cell catalog as the control plane holds it). Throws when
 * there is no deployed pooled cell to be the canary: a release never starts on an enterprise
 * tenant's dedicated cell.
 */
export function planWaves(cells: readonly PlannedCell[]): ReleaseWave[] {
  const deployed = cells.filter((cell) => cell.status !== 'provisioning');
  const pooled = deployed.filter((cell) => cell.placement === 'pooled').sort(inCatalogOrder);
  const dedicated = deployed.filter((cell) => cell.placement === 'dedicated').sort(inCatalogOrder);
  const [canary, ...restPooled] = pooled;
  if (!canary) throw new Error('a release needs a deployed pooled cell for its canary wave, and the catalog has none');
  const groups: { kind: WaveKind; cells: PlannedCell[] }[] = [
    { kind: 'canary', cells: [canary] },
    ...doubling(restPooled, 1).map((wave) => ({ kind: 'pooled' as const, cells: wave })),
    ...doubling(dedicated, 1).map((wave) => ({ kind: 'dedicated' as const, cells: wave })),
  ];
  return groups.map((group, index) => ({ index, kind: group.kind, cellIds: group.cells.map((cell) => cell.cellId) }));
}
