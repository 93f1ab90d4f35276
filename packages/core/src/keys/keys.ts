/**
 * The only place that formats DynamoDB keys. The key format is a security contract (DESIGN §3):
 * every item key leads with `TENANT#<tenantId>` and the `#` delimiter keeps `t-1` out of `t-10`
 * under the LeadingKeys policy. Nothing else in the code base concatenates a key string.
 */
import { CASE_STATUSES, type CaseStatus } from '../cases/case-status.js';

const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CELL_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID.test(value);
}

export function assertTenantId(value: unknown): asserts value is string {
  // A malformed tenant id here means a bug upstream (ids come from the control plane), not bad input.
  if (!isTenantId(value)) throw new Error(`refusing to build a key for malformed tenant id ${JSON.stringify(value)}`);
}

export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && ULID.test(value);
}

export function isCellId(value: unknown): value is string {
  return typeof value === 'string' && CELL_ID.test(value);
}

function assertUlid(value: string, what: string): void {
  if (!isUlid(value)) throw new Error(`refusing to build a key for malformed ${what} ${JSON.stringify(value)}`);
}

export interface ItemKey {
  PK: string;
  SK: string;
}

/** `TENANT#<tenantId>` — the value every leading key equals or starts with (followed by `#`). */
export function tenantPartitionPrefix(tenantId: string): string {
  assertTenantId(tenantId);
  return `TENANT#${tenantId}`;
}

/**
 * The tenant whose partition `partition` is (`TENANT#<id>` or `TENANT#<id>#…`), or undefined when
 * it leads with no well-formed tenant id. This is the partition key the LeadingKeys fence checks,
 * so it names the tenant that wrote the item — unlike an index key, which the fence never sees.
 */
export function tenantOfPartition(partition: string): string | undefined {
  const prefix = 'TENANT#';
  if (!partition.startsWith(prefix)) return undefined;
  const rest = partition.slice(prefix.length);
  const end = rest.indexOf('#');
  const tenantId = end < 0 ? rest : rest.slice(0, end);
  return isTenantId(tenantId) ? tenantId : undefined;
}

export function caseKey(tenantId: string, caseId: string): ItemKey {
  assertUlid(caseId, 'case id');
  return { PK: `${tenantPartitionPrefix(tenantId)}#CASE#${caseId}`, SK: 'CASE' };
}

export const NOTE_SORT_PREFIX = 'NOTE#';

export function noteKey(tenantId: string, caseId: string, noteId: string): ItemKey {
  assertUlid(noteId, 'note id');
  return { PK: caseKey(tenantId, caseId).PK, SK: `${NOTE_SORT_PREFIX}${noteId}` };
}

export const EVIDENCE_SORT_PREFIX = 'EVIDENCE#';

/** An evidence file's metadata, in its case's partition next to the notes (its bytes are in S3). */
export function evidenceKey(tenantId: string, caseId: string, evidenceId: string): ItemKey {
  assertUlid(evidenceId, 'evidence id');
  return { PK: caseKey(tenantId, caseId).PK, SK: `${EVIDENCE_SORT_PREFIX}${evidenceId}` };
}

/** Lists open work first, then oldest first within a status. */
const STATUS_RANK: Record<CaseStatus, number> = { OPEN: 1, IN_PROGRESS: 2, RESOLVED: 3, CLOSED: 4 };

export interface CaseListingKey {
  GSI1PK: string;
  GSI1SK: string;
}

export function caseListingPartition(tenantId: string): string {
  return `${tenantPartitionPrefix(tenantId)}#CASES`;
}

export function caseListingStatusPrefix(status: CaseStatus): string {
  return `S${STATUS_RANK[status]}#`;
}

export function caseListingKey(tenantId: string, status: CaseStatus, createdAt: string, caseId: string): CaseListingKey {
  assertUlid(caseId, 'case id');
  return {
    GSI1PK: caseListingPartition(tenantId),
    GSI1SK: `${caseListingStatusPrefix(status)}${createdAt}#${caseId}`,
  };
}

/** True for an instant as `Date.prototype.toISOString` writes it (the only form keys carry). */
function isIsoInstant(value: string): boolean {
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}

/**
 * The case a listing page key names, when the key is exactly one the case listing of `tenantId`
 * issues (`PK`/`SK` of one of its case items, its listing partition, a well-formed listing sort key
 * of that same case), and within `status` when the listing is filtered; otherwise undefined.
 */
export function caseOfListingPageKey(
  tenantId: string,
  key: Readonly<Record<string, string | undefined>>,
  status?: CaseStatus,
): { caseId: string; status: CaseStatus; createdAt: string } | undefined {
  const { PK = '', SK = '', GSI1PK = '', GSI1SK = '' } = key;
  const caseId = caseIdOfPartition(tenantId, PK);
  if (caseId === undefined || SK !== caseKey(tenantId, caseId).SK || GSI1PK !== caseListingPartition(tenantId)) return undefined;
  const listed = CASE_STATUSES.find((candidate) => GSI1SK.startsWith(caseListingStatusPrefix(candidate)));
  if (listed === undefined || (status !== undefined && listed !== status)) return undefined;
  const suffix = `#${caseId}`;
  if (!GSI1SK.endsWith(suffix)) return undefined;
  const createdAt = GSI1SK.slice(caseListingStatusPrefix(listed).length, GSI1SK.length - suffix.length);
  if (!isIsoInstant(createdAt) || caseListingKey(tenantId, listed, createdAt, caseId).GSI1SK !== GSI1SK) return undefined;
  return { caseId, status: listed, createdAt };
}

/** Per-tenant counters (active cases, users) that back entitlement limits. */
export function tenantMetaKey(tenantId: string): ItemKey {
  return { PK: `${tenantPartitionPrefix(tenantId)}#META`, SK: 'COUNTERS' };
}

/**
 * A self-service export job (issue 10): in the tenant's META partition, so a move carries it and
 * offboarding purges it with the counters. `EXPORT#<ulid>` sorts jobs oldest first.
 */
export const EXPORT_SORT_PREFIX = 'EXPORT#';

export function exportJobKey(tenantId: string, exportId: string): ItemKey {
  return { PK: tenantMetaKey(tenantId).PK, SK: `${EXPORT_SORT_PREFIX}${exportId}` };
}

/** The lease that keeps a tenant to one export at a time (outside the `EXPORT#` jobs' sort range). */
export function exportLeaseKey(tenantId: string): ItemKey {
  return { PK: tenantMetaKey(tenantId).PK, SK: 'EXPORT-LEASE' };
}

export const USER_SORT_PREFIX = 'USER#';

export function tenantUsersPartition(tenantId: string): string {
  return `${tenantPartitionPrefix(tenantId)}#USERS`;
}

export function tenantUserKey(tenantId: string, username: string): ItemKey {
  return { PK: tenantUsersPartition(tenantId), SK: `${USER_SORT_PREFIX}${username.toLowerCase()}` };
}

// Control-plane tables (tenant registry, cell catalog).

/** The tenant's registry record; it leads with the tenant too, so the same fence could apply. */
export function tenantRecordKey(tenantId: string): ItemKey {
  return { PK: tenantPartitionPrefix(tenantId), SK: 'TENANT' };
}

/**
 * A tenant user's token standing in the registry (written by the identity broker, read by the
 * cells' authorizers): revoked before an instant, removed, or a role changed since their tokens
 * were issued. Keyed by the directory's `sub`, which a new user of the same name never reuses.
 */
export function tenantUserStandingKey(tenantId: string, sub: string): ItemKey {
  if (!/^[\w-]{1,128}$/.test(sub)) throw new Error(`refusing to build a key for malformed user sub ${JSON.stringify(sub)}`);
  return { PK: tenantUserStandingPartition(tenantId), SK: `SUB#${sub}` };
}

export function tenantUserStandingPartition(tenantId: string): string {
  return `${tenantPartitionPrefix(tenantId)}#STANDING`;
}

/** The registry's GSI1 partition that lists every tenant, oldest first. */
export const TENANT_LISTING_PARTITION = 'TENANTS';

/** Where a tenant's record sits in the registry's listing of all tenants (oldest first). */
export function tenantListingKey(tenantId: string, createdAt: string): { GSI1PK: string; GSI1SK: string } {
  assertTenantId(tenantId);
  return { GSI1PK: TENANT_LISTING_PARTITION, GSI1SK: `${createdAt}#${tenantId}` };
}

/**
 * The tenant a registry listing page key names, when the key is exactly one the listing of all
 * tenants issues (a tenant record's key and its place in the listing); otherwise undefined.
 */
export function tenantOfListingPageKey(key: Readonly<Record<string, string | undefined>>): string | undefined {
  const { PK = '', SK = '', GSI1PK = '', GSI1SK = '' } = key;
  const tenantId = tenantOfPartition(PK);
  if (tenantId === undefined || PK !== tenantRecordKey(tenantId).PK || SK !== tenantRecordKey(tenantId).SK) return undefined;
  const suffix = `#${tenantId}`;
  if (GSI1PK !== TENANT_LISTING_PARTITION || !GSI1SK.endsWith(suffix)) return undefined;
  const createdAt = GSI1SK.slice(0, GSI1SK.length - suffix.length);
  return isIsoInstant(createdAt) && tenantListingKey(tenantId, createdAt).GSI1SK === GSI1SK ? tenantId : undefined;
}

export const AUDIT_SORT_PREFIX = 'AUDIT#';

/** One audit record of a control-plane action on a tenant; sorted by time within the tenant. */
export function auditKey(tenantId: string, auditId: string): ItemKey {
  assertUlid(auditId, 'audit id');
  return { PK: tenantPartitionPrefix(tenantId), SK: `${AUDIT_SORT_PREFIX}${auditId}` };
}

/** Guards tenant names against concurrent duplicate onboarding. */
export function tenantNameKey(normalizedName: string): ItemKey {
  return { PK: `TENANTNAME#${normalizedName}`, SK: 'TENANTNAME' };
}

/**
 * Reserves a new tenant's admin e-mail (lower-cased) for that tenant, from before its onboarding
 * provisions anything until it is offboarded: of two onboardings with the same new admin, one wins.
 */
export function adminEmailKey(email: string): ItemKey {
  return { PK: `ADMINEMAIL#${email.trim().toLowerCase()}`, SK: 'ADMINEMAIL' };
}

export function idempotencyKey(actor: string, key: string): ItemKey {
  return { PK: `IDEMPOTENCY#${actor}#${key}`, SK: 'IDEMPOTENCY' };
}

/** True when `sortKey` is `prefix` followed by a well-formed ULID (audit records, notes, evidence). */
export function isUlidSortKey(sortKey: string | undefined, prefix: typeof AUDIT_SORT_PREFIX | typeof NOTE_SORT_PREFIX | typeof EVIDENCE_SORT_PREFIX): boolean {
  return sortKey?.startsWith(prefix) === true && isUlid(sortKey.slice(prefix.length));
}

export function cellRecordKey(cellId: string): ItemKey {
  return { PK: cellPartition(cellId), SK: 'CELL' };
}

/**
 * The cell's partition: its catalog record in the cells table, and its audit trail (operator
 * actions on the cell itself) in the registry table, next to the tenants' trails.
 */
export function cellPartition(cellId: string): string {
  if (!isCellId(cellId)) throw new Error(`refusing to build a key for malformed cell id ${JSON.stringify(cellId)}`);
  return `CELL#${cellId}`;
}

/** One audit record of an operator action on a cell; sorted by time within the cell. */
export function cellAuditKey(cellId: string, auditId: string): ItemKey {
  assertUlid(auditId, 'audit id');
  return { PK: cellPartition(cellId), SK: `${AUDIT_SORT_PREFIX}${auditId}` };
}

// One tenant's partitions, enumerated whole for export, moves between cells and purge.

/** The tenant's partition in the registry table: its record, audit trail and control-plane steps. */
export function tenantRegistryPartition(tenantId: string): string {
  return tenantRecordKey(tenantId).PK;
}

/** The partition of the tenant's counters item (which also carries the write fence). */
export function tenantMetaPartition(tenantId: string): string {
  return tenantMetaKey(tenantId).PK;
}

/**
 * A case's partition: the case item, its evidence metadata and its notes. `CASE` sorts before
 * `EVIDENCE#` and `NOTE#`, so a Query of the partition returns the case item first.
 */
export function casePartition(tenantId: string, caseId: string): string {
  return caseKey(tenantId, caseId).PK;
}

/** The case id when `partition` is one of this tenant's case partitions, otherwise undefined. */
export function caseIdOfPartition(tenantId: string, partition: string): string | undefined {
  const prefix = `${tenantPartitionPrefix(tenantId)}#CASE#`;
  if (!partition.startsWith(prefix)) return undefined;
  const caseId = partition.slice(prefix.length);
  return isUlid(caseId) && caseKey(tenantId, caseId).PK === partition ? caseId : undefined;
}

/** True for the case item itself (not a note or evidence) of one of this tenant's cases. */
export function isCaseItemKey(tenantId: string, key: ItemKey): boolean {
  const caseId = caseIdOfPartition(tenantId, key.PK);
  return caseId !== undefined && key.SK === caseKey(tenantId, caseId).SK;
}

/**
 * The tenant's analytics aggregates (DESIGN §5 `GET /analytics`), one partition: the open-case
 * counts (`STATE`), one item per day (`DAY#<yyyy-mm-dd>`), the unresolved cases per creation day
 * (`OPENED#<yyyy-mm-dd>`) and the tenant's settings (`SETTINGS`). Maintained with every case write.
 */
export function tenantAnalyticsPartition(tenantId: string): string {
  return `${tenantPartitionPrefix(tenantId)}#ANALYTICS`;
}

export type AnalyticsItem = 'STATE' | 'SETTINGS' | `DAY#${string}` | `OPENED#${string}`;

/** The analytics items that come one per UTC day: a day's figures, and the unresolved cases created that day. */
export type AnalyticsDayKind = 'DAY' | 'OPENED';

/** The item of one UTC day (`yyyy-mm-dd`) of a kind; the kind alone (no day) is the prefix all of them share. */
export function analyticsDayItem(kind: AnalyticsDayKind, date = ''): AnalyticsItem {
  return `${kind}#${date}`;
}

/** The UTC day an analytics item of `kind` is about, from its sort key; undefined for any other item. */
export function dayOfAnalyticsItem(kind: AnalyticsDayKind, sortKey: string): string | undefined {
  const prefix = analyticsDayItem(kind);
  return sortKey.startsWith(prefix) ? sortKey.slice(prefix.length) : undefined;
}

const UTC_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** One of the tenant's analytics items; a day is `yyyy-mm-dd` (UTC). */
export function analyticsKey(tenantId: string, item: AnalyticsItem): ItemKey {
  // The bare prefix of a kind (a query's lower bound) is a key too; anything after it must be a day.
  const day = item.slice(item.indexOf('#') + 1);
  if (item !== 'STATE' && item !== 'SETTINGS' && day !== '' && !UTC_DAY.test(day)) {
    throw new Error(`refusing to build a key for malformed analytics item ${JSON.stringify(item)}`);
  }
  return { PK: tenantAnalyticsPartition(tenantId), SK: item };
}

/**
 * How many partitions a tenant's audit trail is spread over: a busy tenant's records are written to
 * all of them at once (by a hash of the record id), never to one hot partition; reads merge them.
 */
export const TENANT_AUDIT_SHARDS = 4;

/** One shard of the tenant's own audit trail (`GET /audit`), records sorted by time (ULID). */
export function tenantAuditPartition(tenantId: string, shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= TENANT_AUDIT_SHARDS) throw new Error(`refusing to build a key for audit shard ${shard}`);
  return `${tenantPartitionPrefix(tenantId)}#AUDIT#${shard}`;
}

/** Every shard of the tenant's audit trail. */
export function tenantAuditPartitions(tenantId: string): string[] {
  return Array.from({ length: TENANT_AUDIT_SHARDS }, (_, shard) => tenantAuditPartition(tenantId, shard));
}

/** True when `partition` is a shard of some tenant's audit trail. */
export function isTenantAuditPartition(partition: string): boolean {
  const tenantId = tenantOfPartition(partition);
  return tenantId !== undefined && tenantAuditPartitions(tenantId).includes(partition);
}

/** A record's sort key within its shard (also a bound of a time range: any ULID, real or not). */
export function tenantAuditSortKey(auditId: string): string {
  assertUlid(auditId, 'audit id');
  return `${AUDIT_SORT_PREFIX}${auditId}`;
}

/** The record id a tenant audit sort key names. */
export function auditIdOfSortKey(sortKey: string): string | undefined {
  return isUlidSortKey(sortKey, AUDIT_SORT_PREFIX) ? sortKey.slice(AUDIT_SORT_PREFIX.length) : undefined;
}

/** One record of the tenant's audit trail, in the shard its id hashes to (FNV-1a). */
export function tenantAuditKey(tenantId: string, auditId: string): ItemKey {
  assertUlid(auditId, 'audit id');
  let hash = 0x811c9dc5;
  for (let i = 0; i < auditId.length; i += 1) hash = Math.imul(hash ^ auditId.charCodeAt(i), 0x01000193) >>> 0;
  return { PK: tenantAuditPartition(tenantId, hash % TENANT_AUDIT_SHARDS), SK: tenantAuditSortKey(auditId) };
}

// Releases (DESIGN §9): in the registry, outside every tenant's and cell's partition.

/** The registry's GSI1 partition that lists every release rollout, oldest first. */
export const RELEASE_LISTING_PARTITION = 'RELEASES';

/** A release's partition in the registry (the lease has one of its own: `RELEASE#ACTIVE`). */
export function releasePartition(releaseId: string): string {
  return `RELEASE#${releaseId}`;
}

/** A release's manifest (immutable, written once) and its rollout (the orchestrator's state). */
export function releaseKey(releaseId: string, part: 'MANIFEST' | 'ROLLOUT'): ItemKey {
  if (!/^r-[0-9a-f]{16}$/.test(releaseId)) throw new Error(`refusing to build a key for malformed release id ${JSON.stringify(releaseId)}`);
  return { PK: releasePartition(releaseId), SK: part };
}

export function releaseListingKey(releaseId: string, startedAt: string): { GSI1PK: string; GSI1SK: string } {
  return { GSI1PK: RELEASE_LISTING_PARTITION, GSI1SK: `${startedAt}#${releaseId}` };
}

/** The one-release-at-a-time lease: names the release rolling out (or back), absent when none is. */
export function activeReleaseKey(): ItemKey {
  return { PK: releasePartition('ACTIVE'), SK: 'LEASE' };
}

// Usage (DESIGN §10): the control plane's usage ledger, a table of its own, one partition per tenant.

/** The grains the ledger aggregates at: hours and days (usage), and 5-minute buckets (tenant SLOs). */
export type UsageGrain = 'HOUR' | 'DAY' | 'SLO';

/** How many GSI1 partitions one period's aggregates are spread over (no hot index partition per hour). */
export const USAGE_INDEX_SHARDS = 4;

/** A tenant's partition in the usage ledger: its entries and its aggregates, whichever cell it was in. */
export function usagePartition(tenantId: string): string {
  assertTenantId(tenantId);
  return `USAGE#${tenantId}`;
}

/** The ledger entry of one usage event: written once, its key the event's idempotency key. */
export function usageEntryKey(tenantId: string, idempotencyKey: string): ItemKey {
  return { PK: usagePartition(tenantId), SK: `ENTRY#${idempotencyKey}` };
}

/** The sort-key prefix of a grain's aggregates in a tenant's partition (`HOUR#`…), followed by the period. */
export function usageAggregatePrefix(grain: UsageGrain): string {
  return `${grain}#`;
}

/**
 * One aggregate: a tenant's usage in one period (`2026-12-03T14`, `2026-12-03`, `2026-12-03T14:05`) in
 * one cell and tier, listed under GSI1 by the period's index bucket (the day of an hour, the month of
 * a day, the hour of a 5-minute bucket) and a shard of the tenant, so every tenant's usage in a range
 * is a few Queries, never a Scan.
 */
export function usageAggregateKey(
  tenantId: string,
  grain: UsageGrain,
  period: string,
  indexBucket: string,
  cellId: string,
  tier: string,
): ItemKey & { GSI1PK: string; GSI1SK: string } {
  if (!isCellId(cellId)) throw new Error(`refusing to build a key for malformed cell id ${JSON.stringify(cellId)}`);
  return {
    PK: usagePartition(tenantId),
    SK: `${usageAggregatePrefix(grain)}${period}#${cellId}#${tier}`,
    GSI1PK: usageIndexPartition(grain, indexBucket, usageShardOf(tenantId)),
    GSI1SK: `${period}#${tenantId}#${cellId}#${tier}`,
  };
}

export function usageIndexPartition(grain: UsageGrain, indexBucket: string, shard: number): string {
  return `USAGE-${grain}#${indexBucket}#${shard}`;
}

/** A tenant's index shard: a stable hash (FNV-1a) of its id. */
export function usageShardOf(tenantId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i += 1) hash = Math.imul(hash ^ tenantId.charCodeAt(i), 0x01000193) >>> 0;
  return hash % USAGE_INDEX_SHARDS;
}

// Evidence and exports (DESIGN §11): S3 object keys in the cell's pooled bucket, one prefix per tenant.

/**
 * `tenant=<tenantId>/` — every object key of the tenant starts with it. The trailing `/` is the S3
 * counterpart of the `#` after a leading key: the tenant access policy allows
 * `tenant=${aws:PrincipalTag/TenantId}/*`, so `t-1` never reaches `tenant=t-10/…`.
 */
export function tenantObjectPrefix(tenantId: string): string {
  assertTenantId(tenantId);
  return `tenant=${tenantId}/`;
}

/** `tenant=<tenantId>/case=<caseId>/` — every evidence object of one case (deleting or copying a case's files). */
export function caseObjectPrefix(tenantId: string, caseId: string): string {
  assertUlid(caseId, 'case id');
  return `${tenantObjectPrefix(tenantId)}case=${caseId}/`;
}

/** `tenant=<tenantId>/case=<caseId>/evidence=<evidenceId>` — one evidence file. */
export function evidenceObjectKey(tenantId: string, caseId: string, evidenceId: string): string {
  assertUlid(evidenceId, 'evidence id');
  return `${caseObjectPrefix(tenantId, caseId)}evidence=${evidenceId}`;
}

/**
 * `tenant=<tenantId>/export=<exportId>/cellbook-export.zip` — a self-service export's archive; an
 * export split into volumes names the second and later `cellbook-export-<part>.zip`.
 */
export function exportObjectKey(tenantId: string, exportId: string, part = 1): string {
  assertUlid(exportId, 'export id');
  if (!Number.isInteger(part) || part < 1) throw new Error(`export part must be a whole number from 1, not ${part}`);
  return `${tenantObjectPrefix(tenantId)}export=${exportId}/${part === 1 ? 'cellbook-export.zip' : `cellbook-export-${part}.zip`}`;
}

/**
 * The tenant whose prefix `objectKey` lies under (`tenant=<id>/…`), or undefined when it leads with
 * no well-formed tenant id: what the fence compares with the session's tenant tag.
 */
export function tenantOfObjectKey(objectKey: string): string | undefined {
  const match = /^tenant=([^/]*)\//.exec(objectKey);
  return match && isTenantId(match[1]) ? match[1] : undefined;
}
