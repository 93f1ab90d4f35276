import type { Context, ScheduledEvent } from 'aws-lambda';
import { requireEnv } from '@cellbook/core/shared/config';
import { advanceActiveRelease } from '@cellbook/core/releases/orchestrator';
import { awsReleaseDeps } from '../releases/aws-release-deps.js';
import { logger } from '../observability.js';

/**
 * AWS only, every minute: steps the active release (if any) — deploys, gates, promotes or rolls
 * back — until it is done or this invocation nears its timeout. The release's state is durable, so
 * the next minute's invocation resumes where this one stopped (or where a crashed one left it).
 */

/** Time kept back from the function's timeout: the last step's writes and the log flush. */
export const DEADLINE_MARGIN_MS = 15_000;

export async function handler(_event: ScheduledEvent, context: Context): Promise<void> {
  logger.resetKeys();
  logger.appendKeys({ scope: 'system' });
  const deadlineMs = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  const deps = awsReleaseDeps({ namePrefix: requireEnv('CELL_STACK_PREFIX'), bucket: requireEnv('RELEASE_BUCKET'), owner: `release-driver:${context.awsRequestId}` });
  await advanceActiveRelease(deps, { deadlineMs });
}
