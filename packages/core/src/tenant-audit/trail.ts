/**
 * The tenant's own audit trail (`GET /audit`, premium and up, tenant admins): who read or changed
 * which case, note, evidence or user, when, from which request, and with what outcome.
 *
 * Write-ahead, fail closed: a request of a tenant whose plan includes `audit-log` first writes its
 * record (`outcome: pending`), and only then runs; if that write fails, the request is refused
 * (`AUDIT_UNAVAILABLE`, 503, or `TENANT_MOVING` while the tenant is frozen for a move) — reads
 * included, so no read or change ever happens without its record. Afterwards the record is
 * completed with the outcome (`succeeded` or `failed`, the status and the error code): a refused
 * attempt (any 4xx, such as another tenant's case id answered 404) stays in the trail as `failed`.
 * If the completion cannot be written (a crash, or a move froze the tenant in between), the
 * record stays `pending`: the request was let through and its outcome is unknown; a change it made,
 * if any, is in the data. A failed completion never fails the request: the work is done, and a
 * client retrying it would do it twice.
 *
 * The pending record is written together with a check that the tenant is not frozen for a move
 * (one TransactWriteItems), so no record lands in a source cell after a move has copied it.
 *
 * Storage: under the tenant (keys.ts `tenantAuditKey`), through the tenant session, so the
 * LeadingKeys fence holds, moves carry the trail and offboarding purges it. Records are spread over
 * TENANT_AUDIT_SHARDS partitions by a hash of their id (a ULID, so time-ordered within each); a page
 * merges the shards newest first. Kept AUDIT_RETENTION_DAYS: DynamoDB's TTL deletes them after
 * `expiresAt`, and reads never go further back than the retention (local mode has no TTL).
 */
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeTime, encodeTime } from 'ulid';
import * as z from 'zod/mini';
import { auditIdOfSortKey, isUlid, tenantAuditKey, tenantAuditPartitions, tenantAuditSortKey, tenantMetaKey } from '../keys/keys.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { isTransactionConditionFailed } from '../shared/dynamo.js';
import { AuditUnavailable, DomainError, TenantMoved, TenantMoving } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { PageLimit, parse } from '../shared/validation.js';
import { currentEntitlements, requireFeature, requireRole } from '../tenancy/entitlements.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';

export const AUDIT_RETENTION_DAYS = 365;
const DAY_MS = 86_400_000;

/** What a record is about. */
export const TARGET_TYPES = ['case', 'note', 'evidence', 'user', 'analytics', 'audit', 'export'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export type Outcome = 'pending' | 'succeeded' | 'failed';

/** What a request is, as its route declares it, and which object it is about (when known before it runs). */
export interface AuditedRequest {
  /** `<target>.<verb>`, e.g. `case.read`, `note.create`, `user.invite`. */
  action: string;
  targetType: TargetType;
  /** The object's id; null when the request creates it (the completion names it) or lists many. */
  targetId: string | null;
  /** The case an object belongs to (notes, evidence), when there is one. */
  caseId?: string | undefined;
  /** API Gateway's request id. */
  requestId: string;
}

export interface AuditRecord {
  auditId: string;
  at: string;
  actor: string;
  action: string;
  target: { type: TargetType; id: string | null; caseId?: string };
  requestId: string;
  outcome: Outcome;
  /** The HTTP status the request was answered with; null while pending. */
  status: number | null;
  /** The error code of a failed request, null otherwise. */
  errorCode: string | null;
}

/** A record written ahead of its request, to complete once the request is answered. */
export interface PendingRecord {
  auditId: string;
}

/** True when the current tenant's plan includes the audit log (its requests are recorded). */
export function isAudited(): boolean {
  return currentEntitlements().features.includes('audit-log');
}

/**
 * Writes the record of a request about to run, for a tenant with the audit log; undefined for one
 * without (nothing is recorded). Throws, and the request must not run, when it cannot be written.
 */
export async function begin(request: AuditedRequest): Promise<PendingRecord | undefined> {
  if (!isAudited()) return undefined;
  const { tenantId, username, userId } = useTenant();
  const { doc, tableName } = tenantTable();
  const auditId = newId();
  const at = decodeTime(auditId);
  const item = {
    ...tenantAuditKey(tenantId, auditId),
    type: 'tenant-audit',
    tenantId,
    auditId,
    at: new Date(at).toISOString(),
    actor: username,
    actorId: userId,
    action: request.action,
    targetType: request.targetType,
    targetId: request.targetId,
    ...(request.caseId ? { caseId: request.caseId } : {}),
    requestId: request.requestId,
    outcome: 'pending' satisfies Outcome,
    expiresAt: Math.floor(at / 1000) + AUDIT_RETENTION_DAYS * 86_400,
  };
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          // Not frozen for a move: a record written now is one the move's copy will read.
          { ConditionCheck: { TableName: tableName, Key: tenantMetaKey(tenantId), ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(frozenBy)' } },
          { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
        ],
      }),
    );
  } catch (error) {
    if (isTransactionConditionFailed(error, 0)) {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantMetaKey(tenantId), ConsistentRead: true }));
      throw Item ? new TenantMoving({ cause: error }) : new TenantMoved({ cause: error });
    }
    throw new AuditUnavailable({ cause: error });
  }
  return { auditId };
}

/** The outcome of an audited request: its status, its error (if it failed) and the id it created. */
export interface Completion {
  status: number;
  error?: unknown;
  targetId?: string | null | undefined;
}

/**
 * Completes a record with the request's outcome. Never throws: the request has already run (see
 * the module comment); a failure leaves the record `pending` and is reported on the error log.
 */
export async function complete(pending: PendingRecord, { status, error, targetId }: Completion): Promise<void> {
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();
  const failed = status >= 400;
  const errorCode = failed ? (error instanceof DomainError ? error.code : status >= 500 ? 'INTERNAL_ERROR' : null) : null;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantAuditKey(tenantId, pending.auditId),
        UpdateExpression: `SET outcome = :outcome, #status = :status, errorCode = :errorCode${targetId ? ', targetId = :targetId' : ''}`,
        ConditionExpression: 'attribute_exists(PK) AND outcome = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':outcome': failed ? 'failed' : 'succeeded',
          ':status': status,
          ':errorCode': errorCode,
          ':pending': 'pending',
          ...(targetId ? { ':targetId': targetId } : {}),
        },
      }),
    );
  } catch (failure) {
    console.error(`tenant audit: tenant ${tenantId}: record ${pending.auditId} stays pending`, failure);
  }
}

export const ListInput = z.strictObject({
  limit: PageLimit(100, 50, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
  actor: z.optional(z.string().check(z.minLength(1), z.maxLength(254), z.toLowerCase())),
  action: z.optional(z.string().check(z.regex(/^[a-z-]+(\.[a-z-]+)+$/, 'action must look like case.read'), z.maxLength(64))),
  targetType: z.optional(z.enum(TARGET_TYPES)),
  targetId: z.optional(z.string().check(z.minLength(1), z.maxLength(254))),
  outcome: z.optional(z.enum(['pending', 'succeeded', 'failed'])),
});

export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}

/** Ends one page's work: a sparse filter answers a short page with a cursor rather than reading on. */
const MAX_ROUNDS = 8;
/** The largest ULID: an upper bound no record reaches. */
const NEWEST = '7ZZZZZZZZZZZZZZZZZZZZZZZZZ';

function view(item: Record<string, unknown>): AuditRecord {
  const caseId = typeof item.caseId === 'string' ? item.caseId : undefined;
  return {
    auditId: String(item.auditId),
    at: String(item.at),
    actor: String(item.actor),
    action: String(item.action),
    target: { type: item.targetType as TargetType, id: typeof item.targetId === 'string' ? item.targetId : null, ...(caseId ? { caseId } : {}) },
    requestId: String(item.requestId),
    outcome: item.outcome as Outcome,
    status: typeof item.status === 'number' ? item.status : null,
    errorCode: typeof item.errorCode === 'string' ? item.errorCode : null,
  };
}

/**
 * The current tenant's audit trail, newest first (tenant admins with the audit log). Filters
 * (`actor`, `action`, `targetType`, `targetId`, `outcome`) narrow it; a page may then be shorter
 * than `limit` while `nextCursor` is not null.
 */
export async function list(input: unknown, now = Date.now()): Promise<AuditPage> {
  requireFeature('audit-log');
  requireRole('admin');
  const { limit, cursor, ...filters } = parse(ListInput, input ?? {}, '(query)');
  const after = decodeCursor(cursor, { attributes: ['after'], accept: (key) => isUlid(key.after) })?.after;
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();

  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const conditions = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      return `#${name} = :${name}`;
    });
  const oldest = tenantAuditSortKey(`${encodeTime(Math.max(0, now - AUDIT_RETENTION_DAYS * DAY_MS), 10)}${'0'.repeat(16)}`);

  const items: AuditRecord[] = [];
  // Every record above `upper` has been handed out (or filtered out); `upper` itself too.
  let upper = tenantAuditSortKey(after ?? NEWEST);
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const wanted = limit - items.length;
    const shards = await Promise.all(
      tenantAuditPartitions(tenantId).map((partition) =>
        doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk AND SK BETWEEN :oldest AND :upper',
            ...(conditions.length ? { FilterExpression: conditions.join(' AND '), ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: { ':pk': partition, ':oldest': oldest, ':upper': upper, ...values },
            ScanIndexForward: false,
            // One more than wanted: the record at `upper` (already handed out) may be among them.
            Limit: wanted + 1,
          }),
        ),
      ),
    );
    // Each shard has been read down to its last evaluated key; below the highest of those, some
    // shard has not been read yet, so only records at or above it are complete in this round.
    const floors = shards.map((page) => page.LastEvaluatedKey?.SK).filter((sk): sk is string => typeof sk === 'string');
    const floor = floors.sort().at(-1);
    const candidates = shards
      .flatMap((page) => page.Items ?? [])
      .filter((item) => String(item.SK) !== upper && (floor === undefined || String(item.SK) >= floor))
      .sort((a, b) => (String(a.SK) < String(b.SK) ? 1 : -1));
    const taken = candidates.slice(0, wanted);
    items.push(...taken.map(view));
    const last = items.at(-1);
    if (items.length === limit && last) {
      const more = floor !== undefined || candidates.length > taken.length;
      return { items, nextCursor: more ? encodeCursor({ after: last.auditId }) : null };
    }
    if (floor === undefined) return { items, nextCursor: null };
    upper = floor;
  }
  return { items, nextCursor: encodeCursor({ after: auditIdOfSortKey(upper) ?? NEWEST }) };
}
