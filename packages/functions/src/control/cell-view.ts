import type * as Cell from '@cellbook/core/cells/cell';

/** What operators see of a cell: placement settings, load and release, not its wiring (table, API, plans). */
export function cellView({ cellId, placement, wave, region, capacity, status, tenantCount, release }: Cell.CellRecord) {
  // The release the cell runs, and the one a rollback would take it back to (DESIGN §9).
  return { cellId, placement, wave, region, capacity, status, tenantCount, release: release ?? null };
}
