/**
 * `GET /admin/slo` (DESIGN §10): the tenants and cells burning their error budget at a moment, and a
 * tenant's noisy neighbours. The alerting windows (5 min to 6 h) read the ledger's 5-minute buckets
 * of the last 6 hours; the 30-day budget reads its day rows (one per tenant, cell, tier and day) and
 * the current day's hour rows, so a call reads a bounded number of items per tenant.
 */
import * as z from 'zod/mini';
import { isTenantId } from '../keys/keys.js';
import { ValidationFailed } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import { LEDGER_RETENTION_DAYS, type LatencyBucket, latencyBuckets, type LedgerTable, type UsageRow, usageInRange } from './ledger.js';
import { budgetRange, noisyNeighbours, sloReport, windowRange, type NoisyNeighbourView, type SloReport } from './slo.js';
import { SLO_WINDOWS } from './slo-policy.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** `GET /admin/slo`'s query: `at` (the windows' end, default now), `tenantId` (adds the noisy-neighbour view). */
export const SloQuery = z.strictObject({
  at: z.optional(z.iso.datetime({ offset: true })),
  tenantId: z.optional(z.string().check(z.refine(isTenantId, 'Not a tenant id.'))),
});

export interface SloAnswer extends SloReport {
  neighbours?: NoisyNeighbourView;
}

/**
 * The operator's SLO view at `at` (default `now`): tenants and cells burning their budget, and with
 * `tenantId` that tenant's noisy-neighbour view. `at` may not be in the future, nor so old that its
 * budget period reaches past what the ledger keeps.
 */
export async function sloOverview(ledger: LedgerTable, query: unknown, now = new Date()): Promise<SloAnswer> {
  const { at, tenantId } = parse(SloQuery, query, '(query)');
  const end = at === undefined ? now : new Date(at);
  // The windows read 5-minute buckets, which the ledger keeps LEDGER_RETENTION_DAYS.slo days.
  const lookbackDays = LEDGER_RETENTION_DAYS.slo - 1;
  const oldest = now.getTime() - lookbackDays * DAY_MS;
  const problems = [
    ...(end.getTime() > now.getTime() ? [{ path: 'at', message: 'Must not be in the future.' }] : []),
    ...(end.getTime() < oldest
      ? [{ path: 'at', message: `Must be within the last ${lookbackDays} days: the ledger keeps the SLO windows' 5-minute buckets ${LEDGER_RETENTION_DAYS.slo} days.` }]
      : []),
  ];
  if (problems.length > 0) throw new ValidationFailed('The request is not valid.', { details: problems });
  const longestWindow = Math.max(...Object.values(SLO_WINDOWS));
  const budget = budgetRange(end);
  // The budget: whole UTC days from the first one that starts inside the period up to the day of
  // `end`, then that day's hours up to the hour `end` falls in (nothing much later than `end`).
  const today = Math.floor(budget.to.getTime() / DAY_MS) * DAY_MS;
  const firstDay = Math.ceil(budget.from.getTime() / DAY_MS) * DAY_MS;
  const lastHour = Math.ceil(budget.to.getTime() / HOUR_MS) * HOUR_MS;
  const [buckets, days, hours] = await Promise.all([
    latencyBuckets(ledger, windowRange(end, longestWindow)),
    firstDay < today ? usageInRange(ledger, { from: new Date(firstDay), to: new Date(today) }, 'day') : [],
    today < lastHour ? usageInRange(ledger, { from: new Date(today), to: new Date(lastHour) }, 'hour') : [],
  ]);
  const report = sloReport(buckets, end, [
    ...days.map((row) => coarseBucket(row, `${row.period}T00:00:00.000Z`)),
    ...hours.map((row) => coarseBucket(row, `${row.period}:00:00.000Z`)),
  ]);
  return tenantId === undefined ? report : { ...report, neighbours: noisyNeighbours(buckets, tenantId, end) };
}

/** A day or hour row as a coarse SLO bucket: its gateway counts, and how many answered requests were slow. */
function coarseBucket(row: UsageRow, start: string): LatencyBucket {
  return {
    tenantId: row.tenantId,
    cellId: row.cellId,
    tier: row.tier,
    start,
    requests: row.gateway.requests,
    answered: row.gateway.integration,
    serverErrors: row.gateway.serverErrors,
    throttled: row.gateway.throttled,
    latencies: new Map(),
    slow: row.gateway.slow,
  };
}
