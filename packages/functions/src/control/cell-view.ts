import type * as Cell from '@cellbook/core/cells/cell';

/** What operators see of a cell: placement settings and load, not its wiring (table, API, plans). */
export function cellView({ cellId, placement, wave, region, capacity, status, tenantCount }: Cell.CellRecord) {
  return { cellId, placement, wave, region, capacity, status, tenantCount };
}
