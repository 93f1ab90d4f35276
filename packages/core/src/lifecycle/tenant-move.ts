/**
 * Moving a tenant between cells (`POST /admin/tenants/{id}/move`): copy → verify → switch → purge,
 * without losing a write. The request only validates, takes a slot in the target cell and records
 * the move; the work runs in the mover, started by the `TenantMoveRequested` event. The mover
 * resumes from the recorded state, so a crash (or EventBridge's redelivery) at any point finishes
 * the same move:
 *
 * 1. REQUESTED → freeze the tenant in the source cell (the write fence: writes answer 503
 *    `TENANT_MOVING` with Retry-After; reads go on) and wait until no write is in flight;
 * 2. FROZEN → copy every item to the target cell and record count + checksum; then every evidence
 *    object under the tenant's prefix to the target cell's bucket (count + checksum of the keys and
 *    their SHA-256s);
 * 3. COPIED → verify the target holds exactly the source's items and objects (count and checksum);
 * 4. VERIFIED → switch: API key onto the target's usage plan, target unfrozen, registry points at
 *    the target, routes updated and checked through the router;
 * 5. SWITCHED → carry over the objects an upload URL handed out before the freeze put into the
 *    source after the copy (stored since the copy started, and not carried by it: never one the
 *    copy carried, which the user may have deleted in the new cell since), then purge the source
 *    and verify nothing of the tenant is left there (items and objects) → DONE.
 *
 * All tenant data is read and written through each cell's tenant access role tagged with the
 * tenant, so the data layer keeps a move inside its one tenant.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as ApiGateway from '../integrations/api-gateway.js';
import * as Audit from '../events/audit.js';
import * as Cell from '../cells/cell.js';
import * as Events from '../events/events.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import { CellNotFound, DomainError, InvalidMove, MoveInProgress, TenantNotActivated, TenantNotFound } from '../shared/errors.js';
import { deterministicId, newId } from '../shared/ids.js';
import { isCellId, tenantMetaKey, tenantRecordKey } from '../keys/keys.js';
import { backoffDelay, retry, sleep } from '../shared/retry.js';
import * as Routing from '../cells/routing.js';
import { type Fingerprint, fingerprintTenantCellItems } from '../tenant-data/fingerprint.js';
import { type ListedObject, type ObjectFingerprint, copyTenantObjects, fingerprintTenantObjects, listTenantObjects, purgeTenantObjects } from '../tenant-data/objects.js';
import { type CopyCheckpoint, copyTenantCellItemsResumable, purgeTenantCellItems } from '../tenant-data/write.js';
import { isMoveInProgress, moveView, noMoveInProgressCondition, type MoveState, type TenantMoveRecord, type TenantRecord } from '../tenants/record.js';
import * as Registry from '../tenants/repository.js';
import { tenantsTable } from '../tenants/repository.js';
import { tenantBucketIn, type TenantBucket } from '../tenancy/tenant-bucket.js';
import { tenantTableIn, type TenantTable } from '../tenancy/tenant-table.js';
import { TIERS, TIER_NAMES, type TierName } from '../tenancy/tiers.js';
import { Reason, parse } from '../shared/validation.js';

/** Re-copies before a move whose target does not match its source is given up. */
const VERIFY_RETRIES = 2;
/** The pause before the first re-copy; it doubles before each one after. */
const VERIFY_RETRY_DELAY_MS = 1_000;

/**
 * How long the mover waits for writes already in flight when it froze the tenant. A write that
 * registered with the fence finishes within the data-plane function timeout or its function is
 * gone; waiting longer than that protects nothing.
 */
export const DRAIN_TIMEOUT_MS = 30_000;

/**
 * One mover at a time per move: a mover holds a lease on the tenant record while it works and
 * renews it as it goes. A mover that dies stops renewing, and the next one (the bus's redelivery,
 * or an operator asking again) takes over once the lease has run out; one that finds a live lease
 * leaves the move to its holder.
 */
export const MOVER_LEASE_MS = 60_000;
const MOVER_LEASE_RENEW_MS = MOVER_LEASE_MS / 4;

export const MoveInput = z.strictObject({
  cellId: z.optional(z.string().check(z.refine(isCellId, 'cellId must be a cell id'))),
  reason: z.optional(Reason),
});

type MovingTenant = TenantRecord & { moverLease?: { moveId: string; runner: string; expiresAt: number } };

function readTenant(tenantId: string): Promise<MovingTenant | undefined> {
  return Registry.readTenant<MovingTenant>(tenantId, { consistent: true });
}

/**
 * Starts moving a tenant to `cellId`, or to the least-loaded other cell of its kind (a dedicated
 * cell is requested from the catalog if none is free). With `toTier`, the tenant changes tier at
 * the switch — how a tier change that needs another kind of cell is done. Asking again for a move
 * that is under way to the same cell starts its mover again, which resumes it.
 */
export async function request(
  tenantId: string,
  input: unknown,
  options: { actor: string; toTier?: TierName /** The cell whose drain asks for this move. */; drainOf?: string },
): Promise<TenantMoveRecord> {
  return (await requestMove(tenantId, input, options)).move;
}

/** `request`, saying whether it started a new move (`created`) or answered one under way. */
async function requestMove(
  tenantId: string,
  input: unknown,
  options: { actor: string; toTier?: TierName; drainOf?: string },
): Promise<{ move: TenantMoveRecord; created: boolean }> {
  const { cellId, reason: given } = parse(MoveInput, input ?? {});
  // A drain's moves say so in the tenant's trail (and on the move record).
  const reason = options.drainOf ? `Drain of ${options.drainOf}${given ? `: ${given}` : ''}` : given;
  const record = await readTenant(tenantId);
  if (!record) throw new TenantNotFound();
  if ((record.status !== 'ACTIVE' && record.status !== 'SUSPENDED') || !record.cellId || 'offboarding' in record) throw new TenantNotActivated();
  // A cell's probe tenant exists to test that cell (releases/probe.ts); it holds no slot anywhere.
  if (record.synthetic) throw new InvalidMove(`This is the synthetic probe tenant of ${record.cellId}; it stays in its cell.`);
  if (record.move && isMoveInProgress(record.move)) {
    if (cellId !== undefined && cellId !== record.move.toCellId) throw new MoveInProgress();
    await publishRequested(record, record.move);
    // As operators see it: progress, not the copy's resume position.
    return { move: moveView(record.move), created: false };
  }
  const tier = options.toTier ?? record.tier;
  const placement = TIERS[tier].placement;
  let target: Cell.CellRecord;
  if (cellId !== undefined) {
    const chosen = await Cell.get(cellId);
    if (!chosen) throw new CellNotFound();
    if (chosen.cellId === record.cellId) throw new InvalidMove(`The tenant is already in ${cellId}.`);
    if (chosen.placement !== placement) {
      throw new InvalidMove(`A ${tier} tenant belongs in a ${placement} cell; ${cellId} is ${chosen.placement}.`);
    }
    target = await Cell.reserveSlotIn(chosen.cellId, record.tenantId);
  } else {
    target = await Cell.placeTenant(placement, record.tenantId, { excluding: record.cellId });
  }

  const now = new Date().toISOString();
  const move: TenantMoveRecord = {
    moveId: newId(),
    fromCellId: record.cellId,
    toCellId: target.cellId,
    state: 'REQUESTED',
    ...(options.toTier && options.toTier !== record.tier ? { toTier: options.toTier } : {}),
    actor: options.actor,
    ...(reason ? { reason } : {}),
    requestedAt: now,
    updatedAt: now,
  };
  const noMove = noMoveInProgressCondition();
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET #move = :move, updatedAt = :now',
        ConditionExpression: `cellId = :from AND attribute_not_exists(offboarding) AND ${noMove.expression}`,
        ExpressionAttributeNames: noMove.names,
        ExpressionAttributeValues: { ':move': move, ':now': now, ':from': record.cellId, ...noMove.values },
      }),
    );
  } catch (error) {
    // Give the slot back only if no move under way needs it: a concurrent identical request may
    // have won, and the slot (which names the tenant, not the request) is then that move's.
    const now = await readTenant(tenantId);
    const winner = now?.move && isMoveInProgress(now.move) ? now.move : undefined;
    if (winner?.toCellId !== target.cellId) await Cell.releaseSlot(target.cellId, record.tenantId);
    if (isConditionalCheckFailed(error)) throw new MoveInProgress({ cause: error });
    throw error;
  }
  await Audit.record({
    tenantId,
    actor: options.actor,
    action: 'tenant.move-requested',
    ...(reason ? { reason } : {}),
    before: { cellId: move.fromCellId, tier: record.tier },
    after: { cellId: move.toCellId, tier, moveId: move.moveId },
  });
  await publishRequested(record, move);
  return { move, created: true };
}

async function publishRequested(record: TenantRecord, move: TenantMoveRecord, options: { continuation?: string } = {}): Promise<void> {
  await Events.publishTenantEvent('TenantMoveRequested', {
    tenantId: record.tenantId,
    cellId: move.fromCellId,
    tier: record.tier,
    actor: move.actor,
    data: { moveId: move.moveId, fromCellId: move.fromCellId, toCellId: move.toCellId },
    // A continuation is a new request to run (named by how far the move got), not a redelivery.
    idempotencyKey: `TenantMoveRequested#${move.moveId}${options.continuation !== undefined ? `#continue#${options.continuation}` : ''}`,
  });
}

interface Lease {
  runner: string;
  lost: boolean;
  /** Renews the lease now, or throws if another mover has it: called before every step that writes data. */
  confirm(): Promise<void>;
  stop(): Promise<void>;
}

/** Takes the move's mover lease, or answers undefined when a live mover holds it. */
async function takeLease(tenantId: string, moveId: string, now: () => number): Promise<Lease | undefined> {
  const runner = newId();
  const db = systemDocumentClient();
  try {
    await db.send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET moverLease = :lease',
        ConditionExpression: '#move.moveId = :moveId AND (attribute_not_exists(moverLease) OR moverLease.expiresAt < :now)',
        ExpressionAttributeNames: { '#move': 'move' },
        ExpressionAttributeValues: { ':lease': { moveId, runner, expiresAt: now() + MOVER_LEASE_MS }, ':moveId': moveId, ':now': now() },
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
  const renew = () =>
    db.send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET moverLease.expiresAt = :until',
        ConditionExpression: 'moverLease.runner = :runner',
        ExpressionAttributeValues: { ':until': now() + MOVER_LEASE_MS, ':runner': runner },
      }),
    );
  const lease: Lease = {
    runner,
    lost: false,
    confirm: async () => {
      try {
        await renew();
      } catch (error) {
        lease.lost = true;
        if (isConditionalCheckFailed(error)) throw new Error(`move ${moveId} of tenant ${tenantId}: another mover holds the lease`, { cause: error });
        throw error;
      }
    },
    stop: async () => {
      clearInterval(renewal);
      await db
        .send(
          new UpdateCommand({
            TableName: tenantsTable(),
            Key: tenantRecordKey(tenantId),
            UpdateExpression: 'REMOVE moverLease',
            ConditionExpression: 'moverLease.runner = :runner',
            ExpressionAttributeValues: { ':runner': runner },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionalCheckFailed(error)) throw error;
        });
    },
  };
  const renewal = setInterval(() => {
    renew().catch(() => {
      // Every state change is conditional on holding the lease: a lost lease stops this mover there.
      lease.lost = true;
    });
  }, MOVER_LEASE_RENEW_MS);
  renewal.unref();
  return lease;
}

async function advance(tenantId: string, move: TenantMoveRecord, lease: Lease, state: MoveState, extra: Partial<TenantMoveRecord> = {}): Promise<TenantMoveRecord> {
  const next: TenantMoveRecord = { ...move, ...extra, state, updatedAt: new Date().toISOString() };
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantRecordKey(tenantId),
      UpdateExpression: 'SET #move = :next',
      // Only the lease holder, for the move it runs, from the state it read.
      ConditionExpression: '#move.moveId = :moveId AND #move.#state = :state AND moverLease.runner = :runner',
      ExpressionAttributeNames: { '#move': 'move', '#state': 'state' },
      ExpressionAttributeValues: { ':next': next, ':moveId': move.moveId, ':state': move.state, ':runner': lease.runner },
    }),
  );
  return next;
}

export interface MoverOptions {
  /** Fault injection for drills: called after each state is recorded; throwing is a crash there. */
  afterState?: (state: MoveState) => Promise<void> | void;
  /** Fault injection for drills: called after each copy checkpoint is recorded. */
  afterCheckpoint?: (checkpoint: CopyCheckpoint) => Promise<void> | void;
  /** The mover's clock (lease expiry); drills move it to take over a crashed mover's lease. */
  now?: () => number;
  /**
   * When this run must stop (epoch ms; the Lambda's deadline less a margin). A copy still running
   * then records a checkpoint, a run between states stops there, and the run hands the move over
   * to a fresh run (it publishes `TenantMoveRequested` again) instead of being cut off by the
   * function's timeout.
   */
  handOverAt?: number;
  /**
   * When another mover holds the lease, wait until that lease would run out (if before
   * `handOverAt`) and try again: how the retry of a dead mover's event takes the move over. The
   * Lambda handler sets it; drills that start a second mover on purpose leave it off.
   */
  waitForLease?: boolean;
}

/** Past a lease's expiry, how long a waiting mover gives its holder to have renewed it. */
const LEASE_WAIT_SLACK_MS = 1_000;

/** How often a copy in progress records where it has got, so a crash loses at most this much work. */
export const COPY_CHECKPOINT_MS = 10_000;

/**
 * Runs (or resumes) a tenant's recorded move to the end. Safe to run twice at once: every state
 * change is conditional on the state read, so a second mover stops at its first write.
 */
export async function run(tenantId: string, moveId: string, options: MoverOptions = {}): Promise<TenantMoveRecord | undefined> {
  const first = await readTenant(tenantId);
  if (!first?.move || first.move.moveId !== moveId || !isMoveInProgress(first.move)) return first?.move;
  const now = options.now ?? Date.now;
  let lease = await takeLease(tenantId, moveId, now);
  if (!lease && options.waitForLease) lease = await waitOutDeadLease(tenantId, moveId, now, options.handOverAt ?? Number.POSITIVE_INFINITY);
  if (!lease) return first.move;
  let outcome: RunOutcome;
  try {
    outcome = await runLeased(tenantId, moveId, lease, options);
  } finally {
    await lease.stop();
  }
  // Only now that the lease is free can the next run take it.
  if (outcome.handOver && outcome.move) {
    const where = `${outcome.move.state}${outcome.move.verifyAttempts ? `-${outcome.move.verifyAttempts}` : ''}#${outcome.move.copyCheckpoint?.read.count ?? 0}`;
    await publishRequested(first, outcome.move, { continuation: where });
  }
  return outcome.move;
}

/**
 * Another mover holds the lease. A live one renews it every quarter lease; one that died (a
 * timeout, a crash) does not. Watch the lease: renewed means alive (leave the move to it); still
 * unrenewed when it runs out means dead — take it over, so the retry of a dead mover's event
 * carries the move on instead of leaving the tenant frozen.
 */
async function waitOutDeadLease(tenantId: string, moveId: string, now: () => number, giveUpAt: number): Promise<Lease | undefined> {
  let seen: number | undefined;
  for (;;) {
    const lease = await takeLease(tenantId, moveId, now);
    if (lease) return lease;
    const record = await readTenant(tenantId);
    if (record?.move?.moveId !== moveId || !isMoveInProgress(record.move)) return undefined;
    const expiresAt = record.moverLease?.expiresAt;
    if (typeof expiresAt !== 'number') continue;
    if (seen !== undefined && expiresAt !== seen) return undefined;
    seen = expiresAt;
    const waitMs = Math.min(MOVER_LEASE_RENEW_MS, expiresAt - now()) + LEASE_WAIT_SLACK_MS;
    if (now() + waitMs >= giveUpAt) return undefined;
    await sleep(Math.max(0, waitMs));
  }
}

interface RunOutcome {
  move: TenantMoveRecord | undefined;
  /** The run stopped at its deadline with the copy checkpointed: a fresh run must continue. */
  handOver?: boolean;
}

async function runLeased(tenantId: string, moveId: string, lease: Lease, options: MoverOptions): Promise<RunOutcome> {
  // Read again under the lease: the previous holder may have got further.
  const record = await readTenant(tenantId);
  let move = record?.move;
  if (!record || !move || move.moveId !== moveId || !isMoveInProgress(move)) return { move };
  const [from, to] = await Promise.all([Cell.get(move.fromCellId), Cell.get(move.toCellId)]);
  if (!from || !to) throw new Error(`move ${moveId} of tenant ${tenantId}: cell ${from ? move.toCellId : move.fromCellId} is not registered`);
  const source = tenantTableIn(from, tenantId);
  const target = tenantTableIn(to, tenantId);
  const sourceObjects = tenantBucketIn(from, tenantId);
  const targetObjects = tenantBucketIn(to, tenantId);
  const after = async (state: MoveState) => options.afterState?.(state);
  const handOverAt = options.handOverAt ?? Number.POSITIVE_INFINITY;
  // Between states, a run past its deadline stops and hands over: verification, the switch and
  // the purge each start only with time left (each reads or writes the whole tenant at most once).
  // Every run first makes some progress (a state, or a part of the copy), so runs with little time
  // still carry the move forward.
  let progressed = false;
  const outOfTime = () => progressed && Date.now() >= handOverAt;

  if (move.state === 'REQUESTED') {
    if (outOfTime()) return { move, handOver: true };
    await lease.confirm();
    await freeze(source, tenantId, moveId);
    progressed = true;
    move = await advance(tenantId, move, lease, 'FROZEN');
    await after('FROZEN');
  }
  if (move.state === 'FROZEN') {
    await drain(source, tenantId);
    // The copy goes in parts: each records where it got (a crash repeats at most one part), and
    // one that reaches the run's deadline hands the rest to a fresh run.
    let checkpoint: CopyCheckpoint | undefined = move.copyCheckpoint && { cursor: move.copyCheckpoint.cursor, read: move.copyCheckpoint.read };
    for (;;) {
      await lease.confirm();
      const partEndsAt = Date.now() + COPY_CHECKPOINT_MS;
      const progress = await copyTenantCellItemsResumable(source, target, tenantId, {
        ...(checkpoint ? { from: checkpoint } : {}),
        pauseWhen: () => Date.now() >= Math.min(partEndsAt, handOverAt),
      });
      if (progress.cursor === null) {
        // The objects in one go after the items (the source is frozen: no evidence is created,
        // completed or deleted meanwhile); a crash copies them again (plain puts).
        await lease.confirm();
        const objectsCopyStartedAt = new Date();
        const since = lateObjectCutoff(objectsCopyStartedAt);
        const objectsCopiedSince: string[] = [];
        const objects = await copyTenantObjects(sourceObjects, targetObjects, tenantId, {
          only: (object) => {
            if (!object.lastModified || object.lastModified >= since) objectsCopiedSince.push(object.key);
            return true;
          },
        });
        const { copyCheckpoint: _done, ...copiedMove } = move;
        progressed = true;
        move = await advance(tenantId, copiedMove, lease, 'COPIED', {
          copied: progress.read,
          copiedObjects: objects,
          objectsCopyStartedAt: objectsCopyStartedAt.toISOString(),
          objectsCopiedSince,
        });
        break;
      }
      progressed = true;
      move = await advance(tenantId, move, lease, 'FROZEN', {
        copyCheckpoint: { cursor: progress.cursor, read: progress.read, at: new Date().toISOString() },
      });
      await options.afterCheckpoint?.(progress);
      if (outOfTime()) return { move, handOver: true };
      checkpoint = progress;
    }
    await after('COPIED');
  }
  if (move.state === 'COPIED' && outOfTime()) return { move, handOver: true };
  if (move.state === 'COPIED') {
    // The source has been frozen and drained since before the copy read it, so what the copy read
    // (`move.copied`) is the source; only the target needs reading.
    const inSource = move.copied ?? (await fingerprintTenantCellItems(source, tenantId));
    const inTarget = await fingerprintTenantCellItems(target, tenantId);
    const objectsInSource = move.copiedObjects ?? (await fingerprintTenantObjects(sourceObjects, tenantId));
    const objectsInTarget = await fingerprintTenantObjects(targetObjects, tenantId);
    if (!sameItems(inSource, inTarget) || !sameObjects(objectsInSource, objectsInTarget)) {
      const attempts = (move.verifyAttempts ?? 0) + 1;
      if (attempts > VERIFY_RETRIES) {
        const failure = `verification failed: source ${describe(inSource)}, ${describeObjects(objectsInSource)}; target ${describe(inTarget)}, ${describeObjects(objectsInTarget)}`;
        return { move: await abandon(record, move, lease, target, targetObjects, failure) };
      }
      // A write to the target that failed silently, or (in AWS) a listing index still catching up:
      // wait a moment, then copy once more from the start — in checkpointed parts, like the first
      // copy — and compare again.
      await sleep(backoffDelay(attempts, { baseDelayMs: VERIFY_RETRY_DELAY_MS, jitter: 'none' }));
      const { copied: _mismatched, copiedObjects: _mismatchedObjects, ...again } = move;
      progressed = true;
      move = await advance(tenantId, again, lease, 'FROZEN', { verifyAttempts: attempts });
      // Carry on from FROZEN (bounded: each pass through here counts an attempt).
      return runLeased(tenantId, moveId, lease, options);
    }
    progressed = true;
    move = await advance(tenantId, move, lease, 'VERIFIED', { copied: inSource, copiedObjects: objectsInSource });
    await after('VERIFIED');
  }
  if (move.state === 'VERIFIED' && outOfTime()) return { move, handOver: true };
  if (move.state === 'VERIFIED') {
    await lease.confirm();
    await switchOver(record, move, from, to, target);
    progressed = true;
    move = await advance(tenantId, move, lease, 'SWITCHED');
    await after('SWITCHED');
  }
  if (move.state === 'SWITCHED' && outOfTime()) return { move, handOver: true };
  if (move.state === 'SWITCHED') {
    // The source must still hold exactly what was copied: in AWS the listing index could have
    // shown a late case to the purge that it hid from the copy. Never delete what was not copied.
    const inSource = await fingerprintTenantCellItems(source, tenantId);
    if (move.copied && inSource.count > 0 && !sameItems(inSource, move.copied)) {
      throw new Error(`move ${moveId} of tenant ${tenantId}: ${from.cellId} now holds ${describe(inSource)}, the copy had ${describe(move.copied)}; not purging`);
    }
    await lease.confirm();
    const { remaining } = await purgeTenantCellItems(source, tenantId);
    if (remaining !== 0) throw new Error(`move ${moveId} of tenant ${tenantId}: ${remaining} items left in ${from.cellId} after the purge`);
    // An upload URL handed out before the freeze may still have put a file into the source after
    // the copy: carry such files over before the source's objects go — only those, never one the
    // copy carried (the user may have deleted it in the new cell since the switch).
    await copyTenantObjects(sourceObjects, targetObjects, tenantId, { only: await lateObjects(move, targetObjects, tenantId) });
    const objects = await purgeTenantObjects(sourceObjects, tenantId);
    if (objects.remaining !== 0) throw new Error(`move ${moveId} of tenant ${tenantId}: ${objects.remaining} objects left in ${from.cellId}'s bucket after the purge`);
    progressed = true;
    move = await advance(tenantId, move, lease, 'DONE', { finishedAt: new Date().toISOString() });
    await Audit.record(
      {
        tenantId,
        actor: move.actor,
        action: 'tenant.moved',
        ...(move.reason ? { reason: move.reason } : {}),
        before: { cellId: move.fromCellId },
        after: { cellId: move.toCellId, items: move.copied?.count, checksum: move.copied?.checksum, objects: move.copiedObjects?.count ?? 0 },
      },
      // Timed at the recorded finish, so a rerun finds this record and it sorts after the request.
      { auditId: deterministicId(Date.parse(move.finishedAt ?? move.updatedAt), `${moveId}#tenant.moved`) },
    );
    await Events.publishTenantEvent('TenantMoved', {
      tenantId,
      cellId: move.toCellId,
      tier: record.tier,
      actor: move.actor,
      data: { moveId, fromCellId: move.fromCellId, toCellId: move.toCellId, items: move.copied?.count ?? 0 },
      idempotencyKey: `TenantMoved#${moveId}`,
    });
    await after('DONE');
  }
  return { move };
}

/**
 * How long before the copy started an object may have been stored (by S3's LastModified, in whole
 * seconds) and still be missing from the copy's listing: an upload that began before and ended
 * after the listing. Objects stored since then are told apart by the keys the copy recorded.
 */
export const LATE_OBJECT_SLACK_MS = 15 * 60_000;

function lateObjectCutoff(copyStartedAt: Date): Date {
  return new Date(Math.floor(copyStartedAt.getTime() / 1000) * 1000 - LATE_OBJECT_SLACK_MS);
}

/** Which source objects the SWITCHED step carries over: stored since the copy started and not carried by it. */
async function lateObjects(move: TenantMoveRecord, target: TenantBucket, tenantId: string): Promise<(object: ListedObject) => boolean> {
  if (!move.objectsCopyStartedAt) {
    // A move recorded before copies recorded their start: new keys only, as such moves did.
    const present = new Set((await listTenantObjects(target, tenantId)).map(({ key }) => key));
    return ({ key }) => !present.has(key);
  }
  const since = lateObjectCutoff(new Date(move.objectsCopyStartedAt));
  const carried = new Set(move.objectsCopiedSince ?? []);
  return ({ key, lastModified }) => !carried.has(key) && (!lastModified || lastModified >= since);
}

function sameItems(a: Fingerprint, b: Fingerprint): boolean {
  return a.count === b.count && a.checksum === b.checksum;
}

function describe(print: Fingerprint): string {
  return `${print.count} items, checksum ${print.checksum.slice(0, 12)}`;
}

function sameObjects(a: ObjectFingerprint, b: ObjectFingerprint): boolean {
  return a.count === b.count && a.checksum === b.checksum;
}

function describeObjects(print: ObjectFingerprint): string {
  return `${print.count} objects, checksum ${print.checksum.slice(0, 12)}`;
}

/** Stops the tenant's writes in its source cell; the fence answers them 503 until the switch. */
async function freeze(source: TenantTable, tenantId: string, moveId: string): Promise<void> {
  await source.doc.send(
    new UpdateCommand({
      TableName: source.tableName,
      Key: tenantMetaKey(tenantId),
      UpdateExpression: 'SET frozenBy = :moveId',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':moveId': moveId },
    }),
  );
}

/** Writes the fence let in are still running. */
class WritesInFlight extends Error {}

/** Waits until no write the fence let in before the freeze is still running, or until the first look past `DRAIN_TIMEOUT_MS`. */
async function drain(source: TenantTable, tenantId: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  await retry(
    async () => {
      const { Item } = await source.doc.send(new GetCommand({ TableName: source.tableName, Key: tenantMetaKey(tenantId), ConsistentRead: true }));
      if (Item && Number(Item.writesInFlight ?? 0) > 0 && Date.now() <= deadline) throw new WritesInFlight();
    },
    // No jitter: a poll of one tenant's count, where no other caller's timing matters.
    { retryable: (error) => error instanceof WritesInFlight, baseDelayMs: 10, maxDelayMs: 500, jitter: 'none' },
  );
}

async function switchOver(record: TenantRecord, move: TenantMoveRecord, from: Cell.CellRecord, to: Cell.CellRecord, target: TenantTable): Promise<void> {
  const tenantId = record.tenantId;
  const tier = move.toTier ?? record.tier;
  if (record.apiKeyId) {
    // The key joins the target's plan and stays on the source's until the tenant's next move: a
    // request a stale route still sends to the source is then answered `TENANT_MOVED` (retry)
    // instead of API Gateway's 403 for a key the stage does not know.
    // A key sits on one plan per API stage: if the tenant lived in the target before, its key may
    // still be on another of the target's plans — leave those first.
    for (const otherTier of TIER_NAMES.filter((candidate) => candidate !== tier)) {
      await ApiGateway.detachFromUsagePlan({ apiKeyId: record.apiKeyId, usagePlanId: to.usagePlans[otherTier] });
    }
    await ApiGateway.attachToUsagePlan({ apiKeyId: record.apiKeyId, usagePlanId: to.usagePlans[tier] });
    if (record.previousCellId && record.previousCellId !== to.cellId && record.previousCellId !== from.cellId) {
      const older = await Cell.get(record.previousCellId);
      if (older) {
        for (const anyTier of TIER_NAMES) {
          await ApiGateway.detachFromUsagePlan({ apiKeyId: record.apiKeyId, usagePlanId: older.usagePlans[anyTier] });
        }
      }
    }
  }
  // The copy carried the source's freeze and in-flight count; the target starts clean.
  await target.doc.send(
    new UpdateCommand({
      TableName: target.tableName,
      Key: tenantMetaKey(tenantId),
      UpdateExpression: 'SET writesInFlight = :zero REMOVE frozenBy',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':zero': 0 },
    }),
  );
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantRecordKey(tenantId),
      // previousCellUntil: the cell it left may report its usage of before the switch (metering/usage-intake.ts).
      UpdateExpression: 'SET cellId = :to, previousCellId = :from, previousCellUntil = :now, tier = :tier, updatedAt = :now',
      ConditionExpression: '#move.moveId = :moveId',
      ExpressionAttributeNames: { '#move': 'move' },
      ExpressionAttributeValues: { ':to': to.cellId, ':from': from.cellId, ':tier': tier, ':moveId': move.moveId, ':now': new Date().toISOString() },
    }),
  );
  await Cell.releaseSlot(from.cellId, tenantId);
  // Cached decisions in both cells were made for the old placement.
  await Promise.all([from, to].map((cell) => ApiGateway.flushAuthorizerCache({ apiId: cell.apiId, stage: cell.stage })));
  await Routing.announceRoute({ tenantId, tier, cellId: to.cellId, previousCellId: from.cellId, actor: move.actor });
  await Routing.waitUntilRouted(tenantId, to.cellId);
}

/** A move that cannot be verified is undone: the source stays authoritative and writable. */
async function abandon(
  record: TenantRecord,
  move: TenantMoveRecord,
  lease: Lease,
  target: TenantTable,
  targetObjects: TenantBucket,
  error: string,
): Promise<TenantMoveRecord> {
  const tenantId = record.tenantId;
  // The registry still points at the source (this is before the switch) and the lease keeps any
  // other mover out, so the target's copy is nobody's data.
  await lease.confirm();
  await purgeTenantCellItems(target, tenantId);
  await purgeTenantObjects(targetObjects, tenantId);
  await Cell.releaseSlot(move.toCellId, tenantId);
  const from = await Cell.get(move.fromCellId);
  if (from) {
    const source = tenantTableIn(from, tenantId);
    await source.doc.send(
      new UpdateCommand({
        TableName: source.tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: 'REMOVE frozenBy',
        ConditionExpression: 'attribute_exists(PK)',
      }),
    );
  }
  const failed = await advance(tenantId, move, lease, 'FAILED', { error, finishedAt: new Date().toISOString() });
  await Audit.record({ tenantId, actor: move.actor, action: 'tenant.move-failed', reason: error, before: { cellId: move.fromCellId }, after: { cellId: move.fromCellId } });
  return failed;
}

/** Move requests a drain sends at once. */
export const DRAIN_CONCURRENCY = 8;

/** `work` over every item, at most `limit` at once; results in the items' order. The first failure rejects. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  // One iterator shared by the workers: each takes the next item from it.
  const queue = items.entries();
  const worker = async () => {
    for (const [index, item] of queue) results[index] = await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface DrainResult {
  cellId: string;
  /** Moves started (or already under way) for the cell's tenants. */
  moves: (TenantMoveRecord & { tenantId: string })[];
  /** Tenants that could not be moved now, and why (still onboarding, no room elsewhere, …). */
  skipped: { tenantId: string; code: string; message: string }[];
}

/**
 * Drains a cell: it takes no new tenants from now on, and every tenant in it is moved to the
 * least-loaded other cell of its kind. Asking again resumes moves under way and retries the skipped.
 */
export async function drainCell(cellId: string, input: unknown, options: { actor: string }): Promise<DrainResult> {
  const { reason } = parse(z.strictObject({ reason: z.optional(Reason) }), input ?? {});
  if (!isCellId(cellId) || !(await Cell.get(cellId))) throw new CellNotFound();
  const { cell, started } = await Cell.startDrain(cellId, { actor: options.actor, ...(reason ? { reason } : {}) });
  const result: DrainResult = { cellId, moves: [], skipped: [] };
  const tenants = [...(cell.tenants ?? [])].sort();
  // A few requests at a time: a full pooled cell (hundreds of tenants) is drained well within an
  // API call's time limit, and placement's conditional writes keep concurrent requests correct.
  // Every tenant gets its answer: one request failing (a throttled table, …) neither stops the
  // others nor leaves them running unreported; asking again retries what was skipped.
  const outcomes = await inParallel(tenants, DRAIN_CONCURRENCY, async (tenantId) => {
    try {
      return { tenantId, ...(await requestMove(tenantId, reason ? { reason } : {}, { ...options, drainOf: cellId })) };
    } catch (error) {
      if (error instanceof DomainError) return { tenantId, skipped: { code: error.code, message: error.message } };
      return { tenantId, skipped: { code: 'MOVE_REQUEST_FAILED', message: 'The move could not be requested; drain the cell again to retry.' } };
    }
  });
  for (const outcome of outcomes) {
    if ('move' in outcome) result.moves.push({ tenantId: outcome.tenantId, ...outcome.move });
    else result.skipped.push({ tenantId: outcome.tenantId, ...outcome.skipped });
  }
  // Draining a draining cell again that starts no new move changes nothing: nothing is recorded.
  if (!started && !outcomes.some((outcome) => 'created' in outcome && outcome.created)) return result;
  await Audit.recordCellAction({
    cellId,
    actor: options.actor,
    action: 'cell.moves-requested',
    ...(reason ? { reason } : {}),
    tenants,
    after: {
      moves: result.moves.map(({ tenantId, moveId, toCellId, state }) => ({ tenantId, moveId, toCellId, state })),
      skipped: result.skipped.map(({ tenantId, code }) => ({ tenantId, code })),
    },
  });
  return result;
}
