/**
 * `GET /admin/slo` (DESIGN §10): the tenants and cells burning their error budget at a moment, from
 * the ledger's gateway buckets of the budget period before it, and a tenant's noisy neighbours.
 */
import * as z from 'zod/mini';
import { isTenantId } from '../keys/keys.js';
import { ValidationFailed } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import { LEDGER_RETENTION_DAYS, latencyBuckets, type LedgerTable } from './ledger.js';
import { noisyNeighbours, sloReport, windowRange, type NoisyNeighbourView, type SloReport } from './slo.js';
import { SLO_BUDGET_DAYS } from './slo-policy.js';

const DAY_MS = 86_400_000;

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
  const oldest = now.getTime() - (LEDGER_RETENTION_DAYS.slo - SLO_BUDGET_DAYS) * DAY_MS;
  const problems = [
    ...(end.getTime() > now.getTime() ? [{ path: 'at', message: 'Must not be in the future.' }] : []),
    ...(end.getTime() < oldest
      ? [
          {
            path: 'at',
            message: `Must be within the last ${LEDGER_RETENTION_DAYS.slo - SLO_BUDGET_DAYS} day(s): the SLO budget looks back ${SLO_BUDGET_DAYS} days and the ledger keeps ${LEDGER_RETENTION_DAYS.slo}.`,
          },
        ]
      : []),
  ];
  if (problems.length > 0) throw new ValidationFailed('The request is not valid.', { details: problems });
  const buckets = await latencyBuckets(ledger, windowRange(end, SLO_BUDGET_DAYS * 24 * 60));
  const report = sloReport(buckets, end);
  return tenantId === undefined ? report : { ...report, neighbours: noisyNeighbours(buckets, tenantId, end) };
}
