import type { ScheduledEvent } from 'aws-lambda';
import { ledgerTable } from '@cellbook/core/metering/ledger';
import { type ReconciliationReport, reconcileUsage } from '@cellbook/core/metering/reconciliation';
import { logger, metrics } from '../observability.js';

/** How long after an hour ends its usage is reconciled: late log deliveries have landed by then. */
const SETTLE_HOURS = 1;
/** Each run looks back this many settled hours, so one missed run leaves no hour unchecked. */
const LOOKBACK_HOURS = 3;

/**
 * Scheduled, hourly: reconciles the last settled hours (metered requests against the requests the
 * gateway logged as answered, per tenant and hour), logs every difference with its tenant, and
 * publishes the count as a metric an alarm watches. Operators see the same report on demand at
 * `GET /admin/usage/reconciliation`.
 */
export async function handler(event: ScheduledEvent): Promise<ReconciliationReport> {
  logger.resetKeys();
  logger.appendKeys({ scope: 'system' });
  const now = Date.parse(event.time) || Date.now();
  const settled = Math.floor(now / 3_600_000) * 3_600_000 - SETTLE_HOURS * 3_600_000;
  const report = await reconcileUsage(ledgerTable(), { from: new Date(settled - LOOKBACK_HOURS * 3_600_000), to: new Date(settled) });
  for (const difference of report.differences) logger.warn('usage does not reconcile', { tenant_id: difference.tenantId, ...difference });
  logger.info('usage reconciled', { from: report.from, to: report.to, tenantHours: report.tenantHours, differences: report.differences.length });
  metrics.addMetric('UsageReconciliationDifferences', 'Count', report.differences.length);
  metrics.publishStoredMetrics();
  return report;
}
