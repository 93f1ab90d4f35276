import type { EventBridgeEvent } from 'aws-lambda';
import { Keys, TenantMove } from '@cellbook/core';
import { logger } from '../observability.js';

interface MoveRequested {
  tenantId?: unknown;
  data?: { moveId?: unknown };
}

/**
 * The mover: runs a recorded tenant move to the end, started by `TenantMoveRequested`. A failure
 * throws, so the bus delivers the event again (then to the dead-letter queue), and the next run
 * resumes from the recorded state.
 */
export async function handler(event: EventBridgeEvent<string, MoveRequested>): Promise<void> {
  const tenantId = event.detail?.tenantId;
  const moveId = event.detail?.data?.moveId;
  if (!Keys.isTenantId(tenantId) || typeof moveId !== 'string') {
    throw new Error('TenantMoveRequested without a valid tenantId and moveId');
  }
  logger.resetKeys();
  logger.appendKeys({ tenant_id: tenantId, move_id: moveId, scope: 'system' });
  const move = await TenantMove.run(tenantId, moveId);
  logger.info('move finished its run', { state: move?.state ?? 'unknown', from: move?.fromCellId, to: move?.toCellId });
}
