import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { encodeCursor, type PageKey } from '../shared/cursor.js';
import { queryPages } from '../shared/dynamo.js';
import { ownCaseListingEntries } from '../keys/index-guard.js';
import {
  assertTenantId,
  caseIdOfPartition,
  caseKey,
  caseListingPartition,
  caseOfListingPageKey,
  EVIDENCE_SORT_PREFIX,
  isUlidSortKey,
  NOTE_SORT_PREFIX,
  TENANT_AUDIT_SHARDS,
  tenantAnalyticsPartition,
  tenantAuditPartition,
  tenantMetaPartition,
  tenantRegistryPartition,
  tenantUsersPartition,
  type ItemKey,
} from '../keys/keys.js';

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

/**
 * The fixed order of a walk: the registry partition, then the counters, the users, the analytics
 * aggregates, each shard of the tenant's audit trail, and the cases. The counters come first in a
 * cell so that a copy writes them (and the write fence on them) first.
 */
type AuditSegment = `audit-${number}`;
type Segment = 'registry' | 'meta' | 'users' | 'analytics' | AuditSegment | 'cases';
type PartitionSegment = Exclude<Segment, 'cases'>;
const AUDIT_SEGMENTS: readonly AuditSegment[] = Array.from({ length: TENANT_AUDIT_SHARDS }, (_, shard): AuditSegment => `audit-${shard}`);

export interface Lane {
  segment: Segment;
  table: TenantDataTable;
  ref: TableRef;
}

/** Just after one item: the last sort key read, and for a case, which case and where it is listed. */
export type Position = { segment: PartitionSegment; after: string } | { segment: 'cases'; partition: string; listingSort: string; after: string };

export interface Step {
  table: TenantDataTable;
  segment: Segment;
  item: StoredItem;
  /** Where a walk resumes to continue right after this item. */
  position: Position;
}

export function lanesOf(sources: TenantDataSources): Lane[] {
  const lanes: Lane[] = [];
  if (sources.registry) lanes.push({ segment: 'registry', table: 'registry', ref: sources.registry });
  if (sources.cell) {
    for (const segment of ['meta', 'users', 'analytics', ...AUDIT_SEGMENTS, 'cases'] as const) lanes.push({ segment, table: 'cell', ref: sources.cell });
  }
  if (lanes.length === 0) throw new Error('read a tenant from a registry table, a cell table or both; none was given');
  return lanes;
}

function stringAttribute(item: StoredItem, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw new Error(`item has no string ${name} attribute`);
  return value;
}

export function keyOf(item: StoredItem): ItemKey {
  return { PK: stringAttribute(item, 'PK'), SK: stringAttribute(item, 'SK') };
}

/** Every item of one partition in sort-key order, strongly consistent, from just after `after`. */
async function* partitionItems(ref: TableRef, partition: string, after: string | undefined, pageSize: number | undefined): AsyncGenerator<StoredItem> {
  for await (const page of queryPages(ref.doc, {
    TableName: ref.tableName,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': partition },
    ConsistentRead: true,
    ...(pageSize === undefined ? {} : { Limit: pageSize }),
    ...(after === undefined ? {} : { ExclusiveStartKey: { PK: partition, SK: after } }),
  })) {
    yield* page;
  }
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

function partitionOf(segment: PartitionSegment, tenantId: string): string {
  if (segment === 'registry') return tenantRegistryPartition(tenantId);
  if (segment === 'meta') return tenantMetaPartition(tenantId);
  if (segment === 'users') return tenantUsersPartition(tenantId);
  if (segment === 'analytics') return tenantAnalyticsPartition(tenantId);
  return tenantAuditPartition(tenantId, Number(segment.slice('audit-'.length)));
}

export async function* walk(lanes: readonly Lane[], tenantId: string, from: Position | undefined, pageSize: number | undefined): AsyncGenerator<Step> {
  const first = from ? lanes.findIndex((lane) => lane.segment === from.segment) : 0;
  if (first < 0) throw new Error(`resume position names segment ${from?.segment ?? ''} outside this walk`);
  for (const { segment, table, ref } of lanes.slice(first)) {
    const resume = from?.segment === segment ? from : undefined;
    if (segment === 'cases') {
      yield* caseStepsOfTenant(ref, tenantId, resume?.segment === 'cases' ? resume : undefined, pageSize);
      continue;
    }
    const partition = partitionOf(segment, tenantId);
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

/** Cursor fields; `partition` and `listing` (the case's GSI1SK) are empty outside the cases. */
export const CURSOR_ATTRIBUTES = ['tenant', 'segment', 'after', 'partition', 'listing'] as const;
export const EMPTY_OUTSIDE_CASES = ['partition', 'listing'] as const;

export function encodePosition(tenantId: string, position: Position): string {
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
export function positionOf(key: PageKey, tenantId: string, lanes: readonly Lane[]): Position | undefined {
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
    if (after !== own.SK && !isUlidSortKey(after, NOTE_SORT_PREFIX) && !isUlidSortKey(after, EVIDENCE_SORT_PREFIX)) return undefined;
    return { segment: 'cases', partition, listingSort: listing, after };
  }
  return partition === '' && listing === '' ? { segment: lane.segment, after } : undefined;
}
