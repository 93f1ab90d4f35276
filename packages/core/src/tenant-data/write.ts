import { BatchWriteCommand, type BatchWriteWriteRequest } from '@aws-sdk/lib-dynamodb';
import { decodeCursor } from '../shared/cursor.js';
import { assertTenantId, isCaseItemKey, type ItemKey } from '../keys/keys.js';
import { retry } from '../shared/retry.js';
import { CURSOR_ATTRIBUTES, EMPTY_OUTSIDE_CASES, encodePosition, keyOf, lanesOf, positionOf, walk, type Position, type TableRef, type TenantDataOptions } from './walk.js';
import { FingerprintSum, type Fingerprint } from './fingerprint.js';

export interface BatchRetryOptions {
  /** BatchWriteItem calls per batch before giving up on its unprocessed items. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface TenantWriteOptions extends TenantDataOptions {
  retry?: BatchRetryOptions;
}

/** DynamoDB's limit on requests in one BatchWriteItem. */
const BATCH_WRITE_LIMIT = 25;

/** Some of a batch's items were not written (throttling); a retry sends only those. */
class UnprocessedItemsLeft extends Error {}

async function batchWrite(table: TableRef, requests: BatchWriteWriteRequest[], options: BatchRetryOptions = {}): Promise<void> {
  const { maxAttempts = 10, baseDelayMs = 50, maxDelayMs = 5_000 } = options;
  let pending = requests;
  // Unprocessed items mean throttling: back off, with full jitter so that concurrent copies do not
  // retry in lockstep.
  await retry(
    async (attempt) => {
      const { UnprocessedItems } = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.tableName]: pending } }));
      pending = UnprocessedItems?.[table.tableName] ?? [];
      if (pending.length > 0) {
        throw new UnprocessedItemsLeft(`BatchWriteItem on ${table.tableName} still had ${pending.length} unprocessed items after ${attempt} attempts`);
      }
    },
    { retryable: (error) => error instanceof UnprocessedItemsLeft, maxAttempts, baseDelayMs, maxDelayMs },
  );
}

/**
 * BatchWriteItem in chunks of 25 on two lanes. A trailing request is sent only once every leading
 * request queued before it has been written (unprocessed items included), which is how copy and
 * purge keep a crash from stranding items: an item is only ever written while the item that makes
 * it findable (its case, listed on GSI1) is in place.
 */
class OrderedBatchWriter {
  private readonly leading: BatchWriteWriteRequest[] = [];
  private readonly trailing: BatchWriteWriteRequest[] = [];

  constructor(
    private readonly table: TableRef,
    private readonly retry: BatchRetryOptions | undefined,
  ) {}

  async lead(request: BatchWriteWriteRequest): Promise<void> {
    this.leading.push(request);
    if (this.leading.length === BATCH_WRITE_LIMIT) await this.send(this.leading);
  }

  async trail(request: BatchWriteWriteRequest): Promise<void> {
    this.trailing.push(request);
    if (this.trailing.length === BATCH_WRITE_LIMIT) await this.flush();
  }

  async flush(): Promise<void> {
    await this.send(this.leading);
    await this.send(this.trailing);
  }

  private async send(lane: BatchWriteWriteRequest[]): Promise<void> {
    if (lane.length > 0) await batchWrite(this.table, lane.splice(0, lane.length), this.retry);
  }
}

/**
 * Copies every cell item of the tenant from `source` to `target` (BatchWriteItem, 25 at a time,
 * unprocessed items retried with bounded backoff) and returns the fingerprint of what it read —
 * compare it with `fingerprintTenantCellItems(target, …)`. Writes are plain puts, so running the
 * copy again after a crash converges on the same items (it never removes extra items from the
 * target: a count mismatch in the fingerprints shows them).
 *
 * Order: the counters item goes first, so the write fence it carries holds the target before any
 * data lands there; each case item is written before its notes, so an interrupted copy never
 * leaves notes that GSI1 cannot lead a later purge of the target to.
 */
export async function copyTenantCellItems(source: TableRef, target: TableRef, tenantId: string, options: TenantWriteOptions = {}): Promise<Fingerprint> {
  return (await copyTenantCellItemsResumable(source, target, tenantId, options)).read;
}

/** How far a copy got: everything before `cursor` is written to the target. */
export interface CopyCheckpoint {
  /** Where the copy continues (opaque, bound to the tenant); null once every item is copied. */
  cursor: string | null;
  /** The fingerprint of everything read (and written) so far, this call and the earlier ones. */
  read: Fingerprint;
}

export interface ResumableCopyOptions extends TenantWriteOptions {
  /** Where an earlier call stopped: the copy continues right after it, counting on from its fingerprint. */
  from?: CopyCheckpoint;
  /**
   * Asked after every batch of items read: true stops the copy there, once what it read is
   * written, and returns a checkpoint to continue from.
   */
  pauseWhen?: () => boolean;
}

/**
 * `copyTenantCellItems` in parts, for a tenant too large for one run: it stops when `pauseWhen`
 * says so and hands back a checkpoint; called again with it, it continues where it stopped. A
 * crash between checkpoints only means the items after the last one are copied again (plain puts)
 * and counted once. The resume position is the export's (see `readTenantItems`), so a checkpoint
 * is valid only while the source is frozen, as it is during a move.
 */
export async function copyTenantCellItemsResumable(source: TableRef, target: TableRef, tenantId: string, options: ResumableCopyOptions = {}): Promise<CopyCheckpoint> {
  assertTenantId(tenantId);
  if (source.tableName === target.tableName) throw new Error(`refusing to copy tenant ${tenantId} from ${source.tableName} onto itself`);
  // Already complete: nothing left to copy.
  if (options.from && options.from.cursor === null) return options.from;
  const lanes = lanesOf({ cell: source });
  let from: Position | undefined;
  if (options.from?.cursor) {
    const key = decodeCursor(options.from.cursor, {
      attributes: CURSOR_ATTRIBUTES,
      mayBeEmpty: EMPTY_OUTSIDE_CASES,
      accept: (candidate) => positionOf(candidate, tenantId, lanes) !== undefined,
    });
    from = key && positionOf(key, tenantId, lanes);
  }
  const writer = new OrderedBatchWriter(target, options.retry);
  const read = options.from ? FingerprintSum.from(options.from.read) : new FingerprintSum();
  let sinceAsked = 0;
  for await (const { segment, item, position } of walk(lanes, tenantId, from, options.queryPageSize)) {
    read.add(item);
    const put: BatchWriteWriteRequest = { PutRequest: { Item: item } };
    if (segment === 'meta' || isCaseItemKey(tenantId, keyOf(item))) await writer.lead(put);
    else await writer.trail(put);
    if (++sinceAsked >= BATCH_WRITE_LIMIT) {
      sinceAsked = 0;
      if (options.pauseWhen?.()) {
        await writer.flush();
        return { cursor: encodePosition(tenantId, position), read: read.result() };
      }
    }
  }
  await writer.flush();
  return { cursor: null, read: read.result() };
}

export interface PurgeResult {
  /** Delete requests sent (deleting an item that is already gone counts too). */
  deleted: number;
  /** Items of the tenant still in the table when read again afterwards; the caller expects 0. */
  remaining: number;
}

/**
 * Deletes every cell item of the tenant, then reads the tenant again and reports what is left.
 *
 * Order, so that running it again after a crash finishes the job: a case item (what GSI1 lists, so
 * the only way back to its partition) is deleted only after all of its notes are gone; the counters
 * item goes last, so the tenant stays fenced (writes get `TENANT_MOVING`) until its data is gone.
 */
export async function purgeTenantCellItems(cell: TableRef, tenantId: string, options: TenantWriteOptions = {}): Promise<PurgeResult> {
  assertTenantId(tenantId);
  const lanes = lanesOf({ cell });
  const writer = new OrderedBatchWriter(cell, options.retry);
  const counters: BatchWriteWriteRequest[] = [];
  // A case item waits until the walk has left its partition, i.e. until all its notes are queued.
  let caseItem: ItemKey | undefined;
  let deleted = 0;
  for await (const { segment, item } of walk(lanes, tenantId, undefined, options.queryPageSize)) {
    const key = keyOf(item);
    deleted += 1;
    if (caseItem && caseItem.PK !== key.PK) {
      await writer.trail({ DeleteRequest: { Key: caseItem } });
      caseItem = undefined;
    }
    if (segment === 'meta') counters.push({ DeleteRequest: { Key: key } });
    else if (isCaseItemKey(tenantId, key)) caseItem = key;
    else await writer.lead({ DeleteRequest: { Key: key } });
  }
  if (caseItem) await writer.trail({ DeleteRequest: { Key: caseItem } });
  await writer.flush();
  for (const request of counters) await writer.lead(request);
  await writer.flush();

  let remaining = 0;
  for await (const _ of walk(lanes, tenantId, undefined, options.queryPageSize)) remaining += 1;
  return { deleted, remaining };
}
