/**
 * Reconciliation (DESIGN §10): per tenant and hour, the requests the data plane metered against the
 * requests the gateway's access log says a function answered. Both reach the ledger through the
 * same delivery but from different writers — the function's usage line, the gateway's log record —
 * so a request metered twice or not at all (a crashed function, a lost line, a bug in the meter)
 * shows as a difference — in count, or, when errors cancel out in the count, in which requests each
 * side names (the fingerprints of their request ids). Throttled, over-quota and refused requests never reached a function: they
 * are reported beside the comparison, never in it.
 */
import { parse } from '../shared/validation.js';
import { type LedgerTable, ledgerTable, type Range, usageInRange } from './ledger.js';
import { HourRangeInput, reportRange } from './usage-report.js';

export interface TenantHourReconciliation {
  tenantId: string;
  hour: string;
  /** The cells the tenant's usage of that hour was recorded in (two across a move). */
  cells: string[];
  /** Requests the tenant's functions metered. */
  metered: number;
  /** Requests the gateway logged as answered by a function. */
  answered: number;
  /** metered − answered: positive, metered more than the gateway saw. */
  difference: number;
  /**
   * Whether both sides name the same requests (the sums of their request ids' fingerprints agree):
   * false even with no difference in count when a request metered twice hides one never metered.
   */
  sameRequests: boolean;
  /** Requests the gateway answered itself: throttled, over quota, refused. */
  notForwarded: number;
}

export interface ReconciliationReport {
  from: string;
  to: string;
  tenants: number;
  tenantHours: number;
  metered: number;
  answered: number;
  notForwarded: number;
  /** Every tenant-hour where the two disagree, in count or in which requests; empty when the books balance. */
  differences: TenantHourReconciliation[];
}

export async function reconcileUsage(ledger: LedgerTable, range: Range): Promise<ReconciliationReport> {
  const rows = await usageInRange(ledger, range, 'hour');
  const byTenantHour = new Map<string, TenantHourReconciliation>();
  const sums = new Map<string, { metered: number; answered: number }>();
  for (const row of rows) {
    const id = `${row.tenantId}\u0000${row.period}`;
    const entry = byTenantHour.get(id) ?? { tenantId: row.tenantId, hour: row.period, cells: [], metered: 0, answered: 0, difference: 0, sameRequests: true, notForwarded: 0 };
    const fingerprints = sums.get(id) ?? { metered: 0, answered: 0 };
    fingerprints.metered += row.fingerprints.metered;
    fingerprints.answered += row.fingerprints.answered;
    sums.set(id, fingerprints);
    if (!entry.cells.includes(row.cellId)) entry.cells.push(row.cellId);
    entry.metered += row.quantities.apiRequests;
    entry.answered += row.gateway.integration;
    entry.notForwarded += row.gateway.throttled + row.gateway.quota + row.gateway.refused;
    entry.difference = entry.metered - entry.answered;
    entry.sameRequests = fingerprints.metered === fingerprints.answered;
    byTenantHour.set(id, entry);
  }
  const all = [...byTenantHour.values()];
  for (const entry of all) entry.cells.sort();
  const sum = (pick: (entry: TenantHourReconciliation) => number) => all.reduce((total, entry) => total + pick(entry), 0);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    tenants: new Set(all.map((entry) => entry.tenantId)).size,
    tenantHours: all.length,
    metered: sum((entry) => entry.metered),
    answered: sum((entry) => entry.answered),
    notForwarded: sum((entry) => entry.notForwarded),
    differences: all.filter((entry) => entry.difference !== 0 || !entry.sameRequests).sort((a, b) => a.hour.localeCompare(b.hour) || a.tenantId.localeCompare(b.tenantId)),
  };
}

/** `GET /admin/usage/reconciliation?from=&to=`: whole hours, the last 24 by default, within the hourly rows' retention. */
export async function reconciliationReport(input: unknown, options: { now?: Date; ledger?: LedgerTable } = {}): Promise<ReconciliationReport> {
  const range = reportRange({ ...parse(HourRangeInput, input ?? {}, '(query)'), granularity: 'hour' }, options.now ?? new Date());
  return reconcileUsage(options.ledger ?? ledgerTable(), range);
}
