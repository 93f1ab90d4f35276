import type { EventBridgeEvent } from 'aws-lambda';
import { parseTenantEvent } from '@cellbook/core/events/catalog';
import * as Export from '@cellbook/core/exports/self-service';
import { logger } from '../observability.js';

/**
 * The exporter: builds a tenant's self-service export, started by `TenantExportRequested`. An
 * unexpected failure throws, so the bus delivers the event again (then to the dead-letter queue);
 * the job is FAILED by then, and a redelivery finds nothing PENDING to claim.
 */
export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const {
    tenantId,
    actor,
    data: { exportId },
  } = parseTenantEvent('TenantExportRequested', event);
  logger.resetKeys();
  logger.appendKeys({ tenant_id: tenantId, export_id: exportId, scope: 'system' });
  const result = await Export.runRequestedExport(tenantId, exportId, actor);
  logger.info('export finished its run', {
    status: result.status,
    parts: result.parts.length,
    bytes: result.parts.reduce((sum, part) => sum + part.bytes, 0),
    ...(result.counts ?? {}),
  });
}
