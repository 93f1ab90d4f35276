/**
 * `GET /me/usage`: a tenant's consumption against its plan — today's requests against the tier's
 * daily quota, active cases and users against its limits (the cell's live counters), storage
 * against what the plan includes (the ledger's latest hourly snapshot, through the usage broker).
 */
import * as Counters from '../tenancy/counters.js';
import { currentEntitlements } from '../tenancy/entitlements.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { TIERS, type TierName } from '../tenancy/tiers.js';
import { TIER_PRICES } from './prices.js';
import { type TenantDayUsage, usageThroughBroker } from './usage-broker.js';

/** One measure against its allowance; `limit` and `remaining` are null when the plan sets none. */
export interface Allowance {
  used: number;
  limit: number | null;
  remaining: number | null;
}

export interface PlanUsage {
  tenantId: string;
  tier: TierName;
  /** The UTC day the requests count in (the quota's day). */
  day: string;
  /** Metered requests today (as the ledger has them: a minute or so behind) against the daily quota. */
  requests: Allowance;
  activeCases: Allowance;
  users: Allowance;
  /** Bytes of evidence against the plan's total, counted from the upload request on (PENDING and AVAILABLE files; the cell's live counter). */
  evidenceBytes: Allowance;
  /** Bytes stored, from the latest hourly snapshot. */
  storage: Allowance & { measuredIn: string | null };
}

function allowance(used: number, limit: number | null): Allowance {
  return { used, limit, remaining: limit === null ? null : Math.max(0, limit - used) };
}

/** The current tenant's usage against its plan; `dayUsage` reads the ledger's figures (the usage broker by default). */
export async function planUsage(dayUsage: () => Promise<TenantDayUsage> = usageThroughBroker): Promise<PlanUsage> {
  const { tenantId, tier } = useTenant();
  const { limits } = currentEntitlements();
  const [ledger, counters] = await Promise.all([dayUsage(), Counters.usage()]);
  const storageBytes = ledger.storageBytes ?? 0;
  return {
    tenantId,
    tier,
    day: ledger.day,
    requests: allowance(ledger.apiRequests, TIERS[tier].quota?.limit ?? null),
    activeCases: allowance(counters.activeCases, limits.maxActiveCases),
    users: allowance(counters.users, limits.maxUsers),
    evidenceBytes: allowance(counters.evidenceBytes, limits.maxEvidenceBytes),
    storage: { ...allowance(storageBytes, TIER_PRICES[tier].includedStorageBytes), measuredIn: ledger.storageMeasuredIn },
  };
}
