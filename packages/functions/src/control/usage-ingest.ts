import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { ingestUsage, ledgerTable } from '@cellbook/core/metering/ledger';
import { admitUsage, cellOfUsageSubscription, readUsageLine, registryPlacement } from '@cellbook/core/metering/usage-intake';
import type { UsageEvent } from '@cellbook/core/metering/usage-event';
import { logger } from '../observability.js';
import { CELL_ROUTES } from '../routes.js';

/** The routes a cell's usage line may name: its route table's, as `METHOD /resource/{param}`. */
const CELL_ROUTE_NAMES: ReadonlySet<string> = new Set(CELL_ROUTES.map((route) => `${route.method} ${route.path}`));

/** A CloudWatch Logs subscription's payload, once decoded (`awslogs.data`: base64 of gzip of this JSON). */
const LogsPayload = z.object({
  messageType: z.string(),
  logGroup: z.string(),
  subscriptionFilters: z.array(z.string()),
  logEvents: z.array(z.object({ id: z.string(), timestamp: z.number(), message: z.string() })),
});

export interface UsageIngestSummary {
  cellId: string | null;
  lines: number;
  counted: number;
  duplicates: number;
  /** Lines and events not counted: from another cell, about a tenant not placed here, malformed, too old. */
  refused: number;
  /** Access log records without a tenant, and synthetic probe tenants' usage. */
  ignored: number;
}

/**
 * The metering intake (DESIGN §10): a cell's log subscription delivers batches of its usage lines and
 * access log records; each is checked against the cell the subscription names (core usage-intake.ts)
 * and counted in the ledger once per idempotency key. Refusals are logged, never thrown (a retry would
 * refuse them again); a ledger write that fails throws, so the subscription delivers the batch again.
 */
export async function handler(event: CloudWatchLogsEvent): Promise<UsageIngestSummary> {
  logger.resetKeys();
  logger.appendKeys({ scope: 'system' });
  const payload = LogsPayload.parse(JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')));
  const summary: UsageIngestSummary = { cellId: null, lines: payload.logEvents.length, counted: 0, duplicates: 0, refused: 0, ignored: 0 };
  // CloudWatch Logs tests a new subscription with a CONTROL_MESSAGE: nothing to meter.
  if (payload.messageType !== 'DATA_MESSAGE') return summary;
  const cells = new Set(payload.subscriptionFilters.map(cellOfUsageSubscription));
  const [cellId] = cells;
  if (cells.size !== 1 || !cellId) {
    logger.error('usage delivery refused: its subscription names no single cell', { log_group: payload.logGroup, subscription_filters: payload.subscriptionFilters });
    return { ...summary, refused: summary.lines };
  }
  summary.cellId = cellId;
  logger.appendKeys({ cell_id: cellId, log_group: payload.logGroup });

  const events: UsageEvent[] = [];
  for (const logEvent of payload.logEvents) {
    const line = readUsageLine(logEvent.message, cellId, CELL_ROUTE_NAMES);
    if (line.outcome === 'event') events.push(line.event);
    else if (line.outcome === 'ignored') summary.ignored += 1;
    else {
      summary.refused += 1;
      logger.warn('usage line refused', { reason: line.reason, log_event_id: logEvent.id, tenant_id: line.tenantId, idempotency_key: line.idempotencyKey });
    }
  }
  const admission = await admitUsage(cellId, events, registryPlacement);
  summary.ignored += admission.synthetic;
  summary.refused += admission.refused.length;
  for (const refusal of admission.refused) {
    logger.warn('usage event refused', { reason: refusal.reason, tenant_id: refusal.tenantId, idempotency_key: refusal.idempotencyKey });
  }
  if (admission.admitted.length > 0) {
    const result = await ingestUsage(ledgerTable(), admission.admitted);
    summary.counted = result.counted;
    summary.duplicates = result.duplicates;
    summary.refused += result.refused.length;
    for (const refusal of result.refused) logger.warn('usage event refused by the ledger', { reason: refusal.reason, idempotency_key: refusal.idempotencyKey });
  }
  logger.info('usage delivered', { ...summary });
  return summary;
}
