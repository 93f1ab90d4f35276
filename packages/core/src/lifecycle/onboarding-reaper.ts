/**
 * The reaper of abandoned onboardings: an onboarding whose client never retried its crashed
 * request would hold a name, an API key and a cell slot for ever; the reaper cancels it through
 * the offboarding workflow, on a schedule.
 */
import { DomainError } from '../shared/errors.js';
import * as Tenant from '../tenants/tenant.js';
import { offboard } from './offboarding.js';

/** How long a PENDING tenant must have made no progress before the reaper cancels it. */
export const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export interface ReapOptions {
  /** Who cancels (`system` for the schedule). */
  actor?: string;
  /** How long without progress makes an onboarding abandoned (default `ABANDONED_AFTER_MS`). */
  olderThanMs?: number;
  now?: () => number;
}

export interface ReapResult {
  /** Abandoned onboardings cancelled (tombstoned, name, key, user and slot freed). */
  cancelled: string[];
  /** PENDING tenants left alone this time, and why (an attempt running again, …). */
  skipped: { tenantId: string; code: string }[];
}

/**
 * Cancels every onboarding that has made no progress for `olderThanMs` — a client that never
 * retried its crashed request — so that abandoned attempts do not hold names, keys and cell slots
 * for ever. Run on a schedule; each cancellation is the offboarding workflow (resumable, audited
 * with actor `system`). An onboarding retried meanwhile holds its lease and is skipped. A failure
 * on one tenant does not stop the others; the run then fails, so the schedule's retry shows it.
 */
export async function reapAbandonedOnboardings(options: ReapOptions = {}): Promise<ReapResult> {
  const now = options.now ?? Date.now;
  const cutoff = now() - (options.olderThanMs ?? ABANDONED_AFTER_MS);
  const result: ReapResult = { cancelled: [], skipped: [] };
  const failed: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await Tenant.list({ status: 'PENDING', limit: 100, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      if (Date.parse(tenant.updatedAt) > cutoff) continue;
      try {
        await offboard(tenant.tenantId, { reason: `Abandoned onboarding: no progress since ${tenant.updatedAt}` }, { actor: options.actor ?? 'system', now });
        result.cancelled.push(tenant.tenantId);
      } catch (error) {
        if (error instanceof DomainError) result.skipped.push({ tenantId: tenant.tenantId, code: error.code });
        else failed.push(tenant.tenantId);
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  if (failed.length > 0) {
    throw new Error(`reaping abandoned onboardings: ${failed.length} could not be cancelled (${failed.join(', ')}); cancelled ${result.cancelled.length}`);
  }
  return result;
}
