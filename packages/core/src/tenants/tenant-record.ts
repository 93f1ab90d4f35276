import type { EntitlementOverrides } from '../tenancy/entitlements.js';
import { TENANT_LISTING_PARTITION } from '../keys/keys.js';
import type { TierName } from '../tenancy/tiers.js';

/**
 * A tenant as the registry stores it. PENDING while onboarding runs; only ACTIVE tenants are
 * served; OFFBOARDED is the tombstone that stays after the tenant's data is gone.
 */
export type TenantStatus = 'PENDING' | 'ACTIVE' | 'SUSPENDED' | 'OFFBOARDED';

export interface TenantRecord {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string | null;
  /** The cell the tenant last moved away from; its stale requests there are told to retry. */
  previousCellId?: string;
  overrides: EntitlementOverrides;
  adminUsername: string;
  createdAt: string;
  updatedAt: string;
  /** API Gateway key id and value (the usage identifier); never returned to clients. */
  apiKeyId?: string;
  apiKeyValue?: string;
}

/** A move between cells, recorded on the tenant (see tenant-move.ts for the states). */
export type MoveState = 'REQUESTED' | 'FROZEN' | 'COPIED' | 'VERIFIED' | 'SWITCHED' | 'DONE' | 'FAILED';

export interface TenantMoveRecord {
  moveId: string;
  fromCellId: string;
  toCellId: string;
  state: MoveState;
  /** A tier change that needs another kind of cell (to or from enterprise) takes effect at the switch. */
  toTier?: TierName;
  actor: string;
  reason?: string;
  requestedAt: string;
  updatedAt: string;
  /** What the copy read from the source: item count and order-independent checksum. */
  copied?: { count: number; checksum: string };
  /**
   * How far a copy that spans several runs has got: everything before `cursor` is in the target,
   * and `read` fingerprints it. Recorded every few seconds while copying; gone once COPIED.
   */
  copyCheckpoint?: { cursor: string; read: { count: number; checksum: string }; at: string };
  /** Verifications that found the copy different from the source, each followed by a fresh copy. */
  verifyAttempts?: number;
  /** The operator's view of `copyCheckpoint` (see `summary`). */
  copyProgress?: { items: number; at: string };
  finishedAt?: string;
  error?: string;
}

export type TenantSummary = Omit<TenantRecord, 'apiKeyId' | 'apiKeyValue'> & { move?: TenantMoveRecord };

/** The registry's GSI1 partition that lists every tenant, oldest first (formatted by keys.ts). */
export const LISTING_PARTITION = TENANT_LISTING_PARTITION;

export function summary(record: TenantRecord & { move?: TenantMoveRecord }): TenantSummary {
  const { tenantId, name, tier, status, cellId, overrides, adminUsername, createdAt, updatedAt, move } = record;
  return { tenantId, name, tier, status, cellId, overrides, adminUsername, createdAt, updatedAt, ...(move ? { move: moveView(move) } : {}) };
}

/** A move as operators see it: a copy in progress shows how many items it has copied, not its resume position. */
export function moveView(move: TenantMoveRecord): TenantMoveRecord {
  const { copyCheckpoint, ...rest } = move;
  return copyCheckpoint ? { ...rest, copyProgress: { items: copyCheckpoint.read.count, at: copyCheckpoint.at } } : rest;
}
