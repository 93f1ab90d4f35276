import { createHash } from 'node:crypto';
import { BatchWriteCommand, NumberValue, QueryCommand, type BatchWriteWriteRequest, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { decodeCursor, encodeCursor, type PageKey } from '../shared/cursor.js';
import { ownCaseListingEntries } from '../keys/index-guard.js';
import {
  assertTenantId,
  caseIdOfPartition,
  caseKey,
  caseListingPartition,
  caseOfListingPageKey,
  isCaseItemKey,
  isUlidSortKey,
  NOTE_SORT_PREFIX,
  tenantMetaPartition,
  tenantRegistryPartition,
  tenantUsersPartition,
  type ItemKey,
} from '../keys/keys.js';
import { retry } from '../shared/retry.js';
import { PageLimit, parse } from '../shared/validation.js';

/**
 * One tenant's data taken as a whole: read it (export), copy it to another cell's table (move),
 * fingerprint it (verify a copy) and delete it (offboarding, or the source cell after a move).
 *
 * A tenant's items in a cell table are its counters partition (`META`), its users partition and
 * one partition per case (the case item and its notes); case partitions are found through the
 * tenant's GSI1 listing partition, the only way to enumerate them without Scan. In the registry
 * table the tenant has one partition: its record, audit trail and control-plane steps.
 *
 * Every request is a Query or a write on a key built by keys.ts that leads with the tenant — never
 * a Scan — so all of this works through a tenant-scoped client whose policy only reaches
 * `TENANT#<id>` and `TENANT#<id>#…`.
 *
 * What is read is one consistent picture only if nothing writes meanwhile: freeze the tenant (write
 * fence) or suspend it first. Reads of each partition are strongly consistent; the GSI1 listing is
 * not (see `caseSteps`).
 */

/** A table and the client to reach it with (possibly scoped to the tenant). */
export interface TableRef {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** An item as the document client returns it (sets as `Set`, binary as `Uint8Array`). */
export type StoredItem = Record<string, unknown>;

export type TenantDataTable = 'registry' | 'cell';

/** One item and the table it was read from. */
export interface TenantItem {
  table: TenantDataTable;
  item: StoredItem;
}

/** Where to read a tenant from: the registry table, a cell table, or both (an export). */
export interface TenantDataSources {
  registry?: TableRef;
  cell?: TableRef;
}

export interface TenantDataOptions {
  /**
   * Items per DynamoDB Query request (DynamoDB also stops a page at 1 MB). Unset: as many as
   * DynamoDB returns. Small values only cost more requests; tests use them to cross page ends.
   */
  queryPageSize?: number;
}

// ── walking a tenant's items in a fixed order ─────────────────────────────────────────────────

/**
 * The fixed order of a walk: the registry partition, then the counters, the users and the cases.
 * The counters come first in a cell so that a copy writes them (and the write fence on them) first.
 */
type Segment = 'registry' | 'meta' | 'users' | 'cases';

interface Lane {
  segment: Segment;
  table: TenantDataTable;
  ref: TableRef;
}

/** Just after one item: the last sort key read, and for a case, which case and where it is listed. */
type Position = { segment: 'registry' | 'meta' | 'users'; after: string } | { segment: 'cases'; partition: string; listingSort: string; after: string };

interface Step {
  table: TenantDataTable;
  segment: Segment;
  item: StoredItem;
  /** Where a walk resumes to continue right after this item. */
  position: Position;
}

function lanesOf(sources: TenantDataSources): Lane[] {
  const lanes: Lane[] = [];
  if (sources.registry) lanes.push({ segment: 'registry', table: 'registry', ref: sources.registry });
  if (sources.cell) {
    for (const segment of ['meta', 'users', 'cases'] as const) lanes.push({ segment, table: 'cell', ref: sources.cell });
  }
  if (lanes.length === 0) throw new Error('read a tenant from a registry table, a cell table or both; none was given');
  return lanes;
}

function stringAttribute(item: StoredItem, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw new Error(`item has no string ${name} attribute`);
  return value;
}

function keyOf(item: StoredItem): ItemKey {
  return { PK: stringAttribute(item, 'PK'), SK: stringAttribute(item, 'SK') };
}

/** Every item of one partition in sort-key order, strongly consistent, from just after `after`. */
async function* partitionItems(ref: TableRef, partition: string, after: string | undefined, pageSize: number | undefined): AsyncGenerator<StoredItem> {
  let startKey: Record<string, unknown> | undefined = after === undefined ? undefined : { PK: partition, SK: after };
  do {
    const page = await ref.doc.send(
      new QueryCommand({
        TableName: ref.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': partition },
        ConsistentRead: true,
        ...(pageSize === undefined ? {} : { Limit: pageSize }),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** How many case partitions a walk reads ahead of the one it is handing out. */
const CASE_READ_AHEAD = 16;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function* caseSteps(ref: TableRef, partition: string, listingSort: string, after: string | undefined, pageSize: number | undefined): AsyncGenerator<Step> {
  for await (const item of partitionItems(ref, partition, after, pageSize)) {
    yield { table: 'cell', segment: 'cases', item, position: { segment: 'cases', partition, listingSort, after: stringAttribute(item, 'SK') } };
  }
}

/**
 * Every case partition of the tenant, in GSI1 listing order, each read in full from the base table.
 *
 * GSI1 is eventually consistent (a global secondary index offers nothing else): a case written a
 * moment ago may not be listed yet, and one deleted a moment ago may still be. Each listed
 * partition is therefore read from the base table with ConsistentRead — so a stale listing entry
 * reads as nothing — and callers quiesce the tenant first so that no case appears meanwhile.
 */
async function* caseStepsOfTenant(
  ref: TableRef,
  tenantId: string,
  resume: Extract<Position, { segment: 'cases' }> | undefined,
  pageSize: number | undefined,
): AsyncGenerator<Step> {
  const listing = caseListingPartition(tenantId);
  const read = { tenantId, index: 'GSI1', partition: listing, reader: 'tenant-data.walk' };
  let startKey: Record<string, unknown> | undefined;
  if (resume) {
    yield* caseSteps(ref, resume.partition, resume.listingSort, resume.after, pageSize);
    const caseId = caseIdOfPartition(tenantId, resume.partition);
    if (caseId === undefined) throw new Error(`resume position ${resume.partition} is not one of the tenant's case partitions`);
    startKey = { ...caseKey(tenantId, caseId), GSI1PK: listing, GSI1SK: resume.listingSort };
  }
  do {
    const page = await ref.doc.send(
      new QueryCommand({
        TableName: ref.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': listing },
        ProjectionExpression: 'PK, SK, GSI1PK, GSI1SK',
        ...(pageSize === undefined ? {} : { Limit: pageSize }),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    // An entry whose item is not one of the tenant's cases (another tenant planted it in this
    // listing) is dropped here: an export, copy, fingerprint or purge never reads, copies or deletes
    // another tenant's item, and never fails on one.
    const listed = ownCaseListingEntries(read, page.Items ?? []).map((entry) => ({
      partition: stringAttribute(entry, 'PK'),
      listingSort: stringAttribute(entry, 'GSI1SK'),
    }));
    // Each case is its own partition, so a walk is one Query per case: read a few partitions ahead,
    // concurrently, and still hand them out in listing order (positions stay resumable).
    const ahead: Promise<StoredItem[]>[] = [];
    let next = 0;
    for (const { partition, listingSort } of listed) {
      while (next < listed.length && ahead.length < CASE_READ_AHEAD) {
        // biome-ignore lint/style/noNonNullAssertion: next < listed.length, checked by the loop.
        const read = collect(partitionItems(ref, listed[next++]!.partition, undefined, pageSize));
        // A read the walk never gets to (its consumer stopped early) must not fail unobserved.
        read.catch(() => undefined);
        ahead.push(read);
      }
      // biome-ignore lint/style/noNonNullAssertion: the read-ahead above holds this partition's read (it runs at least as far as the walk).
      for (const item of await ahead.shift()!) {
        yield { table: 'cell', segment: 'cases', item, position: { segment: 'cases', partition, listingSort, after: stringAttribute(item, 'SK') } };
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

async function* walk(lanes: readonly Lane[], tenantId: string, from: Position | undefined, pageSize: number | undefined): AsyncGenerator<Step> {
  const first = from ? lanes.findIndex((lane) => lane.segment === from.segment) : 0;
  if (first < 0) throw new Error(`resume position names segment ${from?.segment ?? ''} outside this walk`);
  for (const { segment, table, ref } of lanes.slice(first)) {
    const resume = from?.segment === segment ? from : undefined;
    if (segment === 'cases') {
      yield* caseStepsOfTenant(ref, tenantId, resume?.segment === 'cases' ? resume : undefined, pageSize);
      continue;
    }
    const partition = segment === 'registry' ? tenantRegistryPartition(tenantId) : segment === 'meta' ? tenantMetaPartition(tenantId) : tenantUsersPartition(tenantId);
    for await (const item of partitionItems(ref, partition, resume?.after, pageSize)) {
      yield { table, segment, item, position: { segment, after: stringAttribute(item, 'SK') } };
    }
  }
}

/**
 * Every item of the tenant in the given tables, streamed in a stable order: the registry
 * partition, then the cell's counters, users and cases (each case item followed by its notes).
 */
export async function* iterateTenantItems(sources: TenantDataSources, tenantId: string, options: TenantDataOptions = {}): AsyncGenerator<TenantItem> {
  assertTenantId(tenantId);
  for await (const { table, item } of walk(lanesOf(sources), tenantId, undefined, options.queryPageSize)) yield { table, item };
}

// ── paged reading (export) ────────────────────────────────────────────────────────────────────

export const ReadInput = z.strictObject({
  limit: PageLimit(1000, 500, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
});
export type ReadInput = z.input<typeof ReadInput>;

export interface TenantItemPage {
  items: TenantItem[];
  /** Continue with this; null once every item has been returned. */
  nextCursor: string | null;
}

export interface ReadPageOptions extends TenantDataOptions {
  /**
   * A page stops before its JSON Lines (see `exportLines`) would exceed this many bytes; a single
   * larger item still makes a page on its own. The default keeps a page well inside Lambda's 6 MB
   * response limit even after the lines are escaped into the response's JSON body.
   */
  maxBytes?: number;
}

const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/** Cursor fields; `partition` and `listing` (the case's GSI1SK) are empty outside the cases. */
const CURSOR_ATTRIBUTES = ['tenant', 'segment', 'after', 'partition', 'listing'] as const;
const EMPTY_OUTSIDE_CASES = ['partition', 'listing'] as const;

function encodePosition(tenantId: string, position: Position): string {
  const cases = position.segment === 'cases' ? position : undefined;
  const cursor = encodeCursor({
    tenant: tenantId,
    segment: position.segment,
    after: position.after,
    partition: cases?.partition ?? '',
    listing: cases?.listingSort ?? '',
  });
  if (cursor === null) throw new Error('encodeCursor returned no cursor for a page key');
  return cursor;
}

/** The position a cursor names, if it is one this tenant's walk over these lanes can produce. */
function positionOf(key: PageKey, tenantId: string, lanes: readonly Lane[]): Position | undefined {
  const { tenant, segment, after, partition = '', listing = '' } = key;
  if (tenant !== tenantId || !after) return undefined;
  const lane = lanes.find((candidate) => candidate.segment === segment);
  if (!lane) return undefined;
  if (lane.segment === 'cases') {
    const caseId = caseIdOfPartition(tenantId, partition);
    if (caseId === undefined) return undefined;
    // The listing entry must be this case's own (a foreign or made-up one would resume the walk
    // elsewhere and silently skip cases), and `after` an item a case partition holds.
    const own = caseKey(tenantId, caseId);
    if (caseOfListingPageKey(tenantId, { ...own, GSI1PK: caseListingPartition(tenantId), GSI1SK: listing }) === undefined) return undefined;
    if (after !== own.SK && !isUlidSortKey(after, NOTE_SORT_PREFIX)) return undefined;
    return { segment: 'cases', partition, listingSort: listing, after };
  }
  return partition === '' && listing === '' ? { segment: lane.segment, after } : undefined;
}

/**
 * One page of the tenant's items (registry and/or cell) for an export: up to `limit` items and at
 * most `maxBytes` of JSON Lines, and a cursor to continue from. The cursor is bound to the tenant:
 * another tenant's cursor, or a tampered one, is `InvalidCursor`. Pages are gapless and never
 * repeat an item, provided the tenant is quiesced between pages.
 */
export async function readTenantItems(sources: TenantDataSources, tenantId: string, input: unknown, options: ReadPageOptions = {}): Promise<TenantItemPage> {
  assertTenantId(tenantId);
  const { limit, cursor } = parse(ReadInput, input ?? {});
  const lanes = lanesOf(sources);
  const startKey = decodeCursor(cursor, {
    attributes: CURSOR_ATTRIBUTES,
    mayBeEmpty: EMPTY_OUTSIDE_CASES,
    accept: (key) => positionOf(key, tenantId, lanes) !== undefined,
  });
  const from = startKey && positionOf(startKey, tenantId, lanes);
  const maxBytes = options.maxBytes ?? DEFAULT_PAGE_BYTES;

  const items: TenantItem[] = [];
  let bytes = 0;
  let lastPosition: Position | undefined;
  for await (const { table, item, position } of walk(lanes, tenantId, from, options.queryPageSize)) {
    const entry: TenantItem = { table, item };
    const size = Buffer.byteLength(exportLine(entry));
    // The item that does not fit proves there is more: only then is there a next cursor.
    if (lastPosition && (items.length >= limit || bytes + size > maxBytes)) {
      return { items, nextCursor: encodePosition(tenantId, lastPosition) };
    }
    items.push(entry);
    bytes += size;
    lastPosition = position;
  }
  return { items, nextCursor: null };
}

// ── JSON Lines and fingerprints ───────────────────────────────────────────────────────────────

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isNumeric(value: unknown): value is number | bigint | NumberValue {
  return typeof value === 'number' || typeof value === 'bigint' || value instanceof NumberValue;
}

/** A set has no order of its own: members are written sorted (numbers by value), so equal sets read equal. */
function sortedSetMembers(members: unknown[]): string[] {
  if (members.every(isNumeric)) {
    return members
      .map((member) => ({ value: Number(member instanceof NumberValue ? member.value : member), text: canonicalJson(member) }))
      .sort((a, b) => a.value - b.value || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
      .map(({ text }) => text);
  }
  return members.map(canonicalJson).sort();
}

/**
 * Deterministic JSON of a DynamoDB item: object keys sorted at every depth, sets as sorted arrays,
 * binary as base64 strings, numbers with DynamoDB's own digits when the client wraps them.
 */
function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot serialize the number ${value}`);
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      throw new TypeError(`cannot serialize a ${typeof value} attribute`);
  }
  if (value === null) return 'null';
  if (value instanceof Set) return `[${sortedSetMembers([...(value as Set<unknown>)].filter((member) => member !== undefined)).join(',')}]`;
  if (Array.isArray(value)) return `[${value.map((element: unknown) => (element === undefined ? 'null' : canonicalJson(element))).join(',')}]`;
  if (value instanceof NumberValue) return value.value;
  if (ArrayBuffer.isView(value)) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  if (value instanceof ArrayBuffer) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (!isPlainObject(value)) throw new TypeError(`cannot serialize a ${value.constructor.name} attribute`);
  const fields = Object.keys(value)
    .filter((name) => value[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`);
  return `{${fields.join(',')}}`;
}

function exportLine({ table, item }: TenantItem): string {
  return `{"table":${JSON.stringify(table)},"item":${canonicalJson(item)}}\n`;
}

/**
 * JSON Lines for an export page: one `{"table":…,"item":{…}}` object per line, each line ending in
 * `\n`. Item keys are sorted; DynamoDB sets become sorted arrays and binary values base64 strings.
 */
export function exportLines(items: readonly TenantItem[]): string {
  return items.map(exportLine).join('');
}

export interface Fingerprint {
  count: number;
  /** 64 hex digits; equal for the same items in any order, different if any attribute differs. */
  checksum: string;
}

const CHECKSUM_MODULUS = 1n << 256n;

/**
 * Order-independent digest of a set of items: the sum modulo 2^256 of each item's SHA-256 over its
 * canonical JSON. A sum (rather than a hash of the sorted item hashes) can be kept while streaming,
 * so fingerprinting a tenant with millions of notes needs no memory for their hashes.
 */
class FingerprintSum {
  private count = 0;
  private sum = 0n;

  /** Continues a sum an earlier pass recorded (a copy resumed from its checkpoint). */
  static from(print: Fingerprint): FingerprintSum {
    if (!Number.isSafeInteger(print.count) || print.count < 0 || !/^[0-9a-f]{64}$/.test(print.checksum)) {
      throw new Error('refusing to continue from a malformed fingerprint');
    }
    const sum = new FingerprintSum();
    sum.count = print.count;
    sum.sum = BigInt(`0x${print.checksum}`);
    return sum;
  }

  add(item: StoredItem): void {
    const digest = createHash('sha256').update(canonicalJson(item)).digest('hex');
    this.sum = (this.sum + BigInt(`0x${digest}`)) % CHECKSUM_MODULUS;
    this.count += 1;
  }

  result(): Fingerprint {
    return { count: this.count, checksum: this.sum.toString(16).padStart(64, '0') };
  }
}

/** Count and order-independent checksum of items, to compare a tenant's copy with its source. */
export function fingerprint(items: Iterable<StoredItem>): Fingerprint {
  const sum = new FingerprintSum();
  for (const item of items) sum.add(item);
  return sum.result();
}

/**
 * The fingerprint of every item of the tenant in a cell table. Right after a copy, the target's
 * GSI1 may not list every case yet (eventual consistency in AWS): re-check a count that falls short
 * of the source's after a moment before treating the copy as failed.
 */
export async function fingerprintTenantCellItems(cell: TableRef, tenantId: string, options: TenantDataOptions = {}): Promise<Fingerprint> {
  assertTenantId(tenantId);
  const sum = new FingerprintSum();
  for await (const { item } of walk(lanesOf({ cell }), tenantId, undefined, options.queryPageSize)) sum.add(item);
  return sum.result();
}

// ── writing: copy and purge ───────────────────────────────────────────────────────────────────

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
