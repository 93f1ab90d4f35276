import type { ScheduledEvent } from 'aws-lambda';
import * as OnboardingReaper from '@cellbook/core/lifecycle/onboarding-reaper';
import { logger } from '../observability.js';

/**
 * Scheduled: cancels abandoned onboardings — PENDING tenants whose onboarding made no progress for
 * an hour (its client never retried a crashed request) — so they stop holding names, API keys and
 * cell slots. Each cancellation is audited in the tenant's trail with actor `system`.
 */
export async function handler(_event: ScheduledEvent): Promise<OnboardingReaper.ReapResult> {
  logger.resetKeys();
  logger.appendKeys({ scope: 'system' });
  const result = await OnboardingReaper.reapAbandonedOnboardings();
  for (const tenantId of result.cancelled) logger.info('abandoned onboarding cancelled', { tenant_id: tenantId });
  for (const { tenantId, code } of result.skipped) logger.info('pending tenant left alone', { tenant_id: tenantId, code });
  logger.info('abandoned onboardings reaped', { cancelled: result.cancelled.length, skipped: result.skipped.length });
  return result;
}
