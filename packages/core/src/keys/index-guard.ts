/**
 * Reads through a global secondary index, checked against the base table's key.
 *
 * The LeadingKeys fence judges a write by its partition key only (IAM offers no condition on the
 * values of index keys), so a session of tenant A can write an item in A's own partition whose
 * `GSI1PK` names tenant B's listing. Every read through an index therefore keeps only the entries
 * whose base key is the calling tenant's own item of the expected kind; any other entry is dropped
 * before it reaches a response, a cursor, a copy, a purge or a counter, and reported once (a log
 * line naming both tenants that is also an embedded-metric record, `ForeignIndexItemsDropped`).
 */
import { isCaseItemKey, tenantOfPartition, type ItemKey } from './keys.js';

/** Who reads which index partition, for the report of what was dropped. */
export interface IndexRead {
  /** The tenant whose index partition is read; only its items may come back. */
  tenantId: string;
  index: string;
  /** The index partition key value queried. */
  partition: string;
  /** What was reading (`case.list`, `tenant-data.walk`…), so an operator finds where it surfaced. */
  reader: string;
}

export const FOREIGN_INDEX_ITEMS_METRIC = 'ForeignIndexItemsDropped';

function baseKeyOf(entry: Record<string, unknown>): ItemKey | undefined {
  const { PK, SK } = entry;
  return typeof PK === 'string' && typeof SK === 'string' ? { PK, SK } : undefined;
}

function report(read: IndexRead, entry: Record<string, unknown>): void {
  const key = baseKeyOf(entry);
  const owner = key ? tenantOfPartition(key.PK) : undefined;
  // Structured, on stderr like every warning of a function; CloudWatch turns the `_aws` block into
  // a metric, so a dashboard counts injections without parsing messages.
  console.warn(
    JSON.stringify({
      level: 'WARN',
      message: 'dropped an index entry whose item is not the tenant’s own',
      tenantId: read.tenantId,
      foreignTenantId: owner ?? null,
      index: read.index,
      indexPartition: read.partition,
      reader: read.reader,
      itemKey: key ?? null,
      [FOREIGN_INDEX_ITEMS_METRIC]: 1,
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: 'Cellbook', Dimensions: [['reader']], Metrics: [{ Name: FOREIGN_INDEX_ITEMS_METRIC, Unit: 'Count' }] }],
      },
    }),
  );
}

/**
 * The entries of `read.tenantId`'s case listing whose base item is one of that tenant's case items,
 * in their order; every other entry (another tenant's item, or anything that is not a case item)
 * is reported and left out.
 */
export function ownCaseListingEntries<T extends Record<string, unknown>>(read: IndexRead, entries: readonly T[]): T[] {
  const own: T[] = [];
  for (const entry of entries) {
    const key = baseKeyOf(entry);
    if (key && isCaseItemKey(read.tenantId, key)) own.push(entry);
    else report(read, entry);
  }
  return own;
}
