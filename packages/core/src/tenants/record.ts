/**
 * The tenant record: its shape, its statuses and the states of a move, and the rules that read
 * them. The one place that says what "a move is in progress" means, in code and as a condition
 * the registry checks on write.
 */
import type { EntitlementOverrides } from '../tenancy/entitlements.js';
import { TENANT_LISTING_PARTITION } from '../keys/keys.js';
import type { TierName } from '../tenancy/tiers.js';

/**
 * A tenant as the registry stores it. PENDING while onboarding runs; only ACTIVE tenants are
 * served; OFFBOARDED is the tombstone that stays after the tenant's data is gone.
 */
export const TENANT_STATUSES = ['PENDING', 'ACTIVE', 'SUSPENDED', 'OFFBOARDED'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export interface TenantRecord {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string | null;
  /** The cell the tenant last moved away from; its stale requests there are told to retry. */
  previousCellId?: string;
  /** When it left `previousCellId` (the move's switch). */
  previousCellUntil?: string;
  overrides: EntitlementOverrides;
  adminUsername: string;
  createdAt: string;
  updatedAt: string;
  /** API Gateway key id and value (the usage identifier); never returned to clients. */
  apiKeyId?: string;
  apiKeyValue?: string;
  /** The tenant's latest move between cells, once it has had one. */
  move?: TenantMoveRecord;
  /**
   * A cell's synthetic probe tenant (releases/probe.ts): pinned to its cell outside the cell's
   * capacity, never moved; metering and analytics leave it out.
   */
  synthetic?: true;
}

/** A move between cells, recorded on the tenant (see lifecycle/tenant-move.ts for what each state does). */
export const MOVE_STATES = ['REQUESTED', 'FROZEN', 'COPIED', 'VERIFIED', 'SWITCHED', 'DONE', 'FAILED'] as const;
export type MoveState = (typeof MOVE_STATES)[number];

/** The states that end a move; any other state (or a record whose state cannot be read) is a move under way. */
const MOVE_END_STATES: readonly MoveState[] = ['DONE', 'FAILED'];

/** Whether the tenant has a move under way (one that a tier change, another move or offboarding must wait for). */
export function isMoveInProgress(move: Pick<TenantMoveRecord, 'state'> | undefined): boolean {
  return move !== undefined && !MOVE_END_STATES.includes(move.state);
}

/**
 * `isMoveInProgress` as a condition on a write to the tenant record: true when the tenant has no
 * move, or its move has ended. It fails closed: a move in a state it does not know counts as under
 * way. Its names and values are prefixed so that it joins any other condition.
 */
export function noMoveInProgressCondition(): { expression: string; names: Record<string, string>; values: Record<string, MoveState> } {
  const values = Object.fromEntries(MOVE_END_STATES.map((state) => [`:moveState${state}`, state]));
  return {
    expression: `(attribute_not_exists(#move) OR #move.#moveState IN (${Object.keys(values).join(', ')}))`,
    names: { '#move': 'move', '#moveState': 'state' },
    values,
  };
}

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
  /** What the copy read of the tenant's evidence objects: count, checksum of keys and SHA-256s, bytes. */
  copiedObjects?: { count: number; checksum: string; bytes: number };
  /**
   * When the recorded object copy started (ISO). After the switch only objects stored in the source
   * since then (less `LATE_OBJECT_SLACK_MS`) can be ones the copy missed; older ones it carried.
   */
  objectsCopyStartedAt?: string;
  /** The keys that copy carried that were stored since then: carried already, never carried again. */
  objectsCopiedSince?: string[];
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

export type TenantSummary = Omit<TenantRecord, 'apiKeyId' | 'apiKeyValue'>;

/** The registry's GSI1 partition that lists every tenant, oldest first (formatted by keys.ts). */
export const LISTING_PARTITION = TENANT_LISTING_PARTITION;

export function summary(record: TenantRecord): TenantSummary {
  const { tenantId, name, tier, status, cellId, overrides, adminUsername, createdAt, updatedAt, move, synthetic } = record;
  return {
    tenantId,
    name,
    tier,
    status,
    cellId,
    overrides,
    adminUsername,
    createdAt,
    updatedAt,
    ...(move ? { move: moveView(move) } : {}),
    ...(synthetic ? { synthetic } : {}),
  };
}

/** A move as operators see it: a copy in progress shows how many items it has copied, not its resume position. */
export function moveView(move: TenantMoveRecord): TenantMoveRecord {
  const { copyCheckpoint, ...rest } = move;
  return copyCheckpoint ? { ...rest, copyProgress: { items: copyCheckpoint.read.count, at: copyCheckpoint.at } } : rest;
}
