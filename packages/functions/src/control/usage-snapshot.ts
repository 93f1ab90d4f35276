import type { ScheduledEvent } from 'aws-lambda';
import * as UsageSnapshot from '@cellbook/core/metering/usage-snapshot';
import { logger } from '../observability.js';

/**
 * Scheduled, hourly: one snapshot usage event per active tenant — its active cases, users and the
 * bytes its cell items take — into the usage ledger (idempotent per tenant and hour).
 */
export async function handler(_event: ScheduledEvent): Promise<UsageSnapshot.SnapshotResult> {
  logger.resetKeys();
  logger.appendKeys({ scope: 'system' });
  const result = await UsageSnapshot.snapshotActiveTenants();
  for (const refusal of result.refused) logger.warn('snapshot refused by the ledger', { idempotency_key: refusal.idempotencyKey, reason: refusal.reason });
  logger.info('usage snapshots taken', { tenants: result.tenants, counted: result.counted, duplicates: result.duplicates });
  return result;
}
