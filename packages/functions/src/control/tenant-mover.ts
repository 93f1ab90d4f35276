import type { Context, EventBridgeEvent } from 'aws-lambda';
import { parseTenantEvent } from '@cellbook/core/events/catalog';
import * as TenantMove from '@cellbook/core/lifecycle/tenant-move';
import { logger } from '../observability.js';

/**
 * How long before the function's timeout a run stops copying and hands the move over: enough to
 * write the last batch, record the checkpoint, release the lease and publish the continuation.
 */
export const HAND_OVER_MARGIN_MS = 60_000;

/**
 * The mover: runs a recorded tenant move to the end, started by `TenantMoveRequested`. A failure
 * throws, so the bus delivers the event again (then to the dead-letter queue), and the next run
 * resumes from the recorded state. A move too large for one invocation checkpoints and hands over
 * to a fresh one before the timeout.
 */
export async function handler(event: EventBridgeEvent<string, unknown>, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> {
  const {
    tenantId,
    data: { moveId },
  } = parseTenantEvent('TenantMoveRequested', event);
  logger.resetKeys();
  logger.appendKeys({ tenant_id: tenantId, move_id: moveId, scope: 'system' });
  const remaining = context.getRemainingTimeInMillis();
  // A mover that died keeps its lease for up to a minute: this run waits that out and takes over.
  const move = await TenantMove.run(tenantId, moveId, {
    handOverAt: Date.now() + remaining - Math.min(HAND_OVER_MARGIN_MS, remaining / 4),
    waitForLease: true,
  });
  logger.info('move finished its run', {
    state: move?.state ?? 'unknown',
    from: move?.fromCellId,
    to: move?.toCellId,
    ...(move?.copyCheckpoint ? { items_copied_so_far: move.copyCheckpoint.read.count } : {}),
  });
}
