/**
 * The control plane's audit trail: who did what to which tenant, why, and what changed. Records
 * live in the tenant's own partition of the registry, so they are listed, exported and kept with
 * the tenant — and no record can exist without naming its tenant.
 *
 * Operator actions on a cell itself (capacity, wave, draining) have a trail of their own, in the
 * cell's partition of the registry; each of those records names the tenants the cell held, and
 * what the action did to a tenant (a move) is also in that tenant's trail.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { tenantsTable } from '../tenants/repository.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import { newId } from '../shared/ids.js';
import { AUDIT_SORT_PREFIX, auditKey, isUlidSortKey, cellAuditKey, cellPartition, tenantPartitionPrefix } from '../keys/keys.js';
import { PageLimit, parse } from '../shared/validation.js';

export interface AuditEntry {
  tenantId: string;
  /** The operator (or `system` for automated steps). */
  actor: string;
  /** e.g. `tenant.onboarded`, `tenant.suspended`, `tenant.tier-changed` */
  action: string;
  reason?: string;
  before?: unknown;
  after?: unknown;
}

export interface AuditRecord extends AuditEntry {
  auditId: string;
  at: string;
}

/**
 * Writes one audit record. A step that may run again after a crash passes its own `auditId`
 * (see `deterministicId`): the second write then finds the first and adds nothing.
 */
export async function record(entry: AuditEntry, options: { auditId?: string } = {}): Promise<AuditRecord> {
  const auditId = options.auditId ?? newId();
  const audit: AuditRecord = { ...entry, auditId, at: new Date().toISOString() };
  try {
    await systemDocumentClient().send(
      new PutCommand({
        TableName: tenantsTable(),
        Item: { ...auditKey(entry.tenantId, auditId), type: 'audit', ...audit },
        ConditionExpression: 'attribute_not_exists(SK)',
      }),
    );
  } catch (error) {
    if (!(options.auditId && isConditionalCheckFailed(error))) throw error;
  }
  return audit;
}

export const ListInput = z.strictObject({
  limit: PageLimit(100, 50),
  cursor: z.optional(z.string()),
});

/** A tenant's audit trail, oldest first. */
export async function list(tenantId: string, input: unknown): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
  const page = await listPartition(tenantPartitionPrefix(tenantId), input);
  return {
    items: page.items.map(({ tenantId: owner, auditId, at, actor, action, reason, before, after }) => ({
      tenantId: owner as string,
      ...common({ auditId, at, actor, action, reason, before, after }),
    })),
    nextCursor: page.nextCursor,
  };
}

// The audit trail of cells (operator actions on a cell).

export interface CellAuditEntry {
  cellId: string;
  /** The operator (or `system`). */
  actor: string;
  /** e.g. `cell.updated`, `cell.drain-started`, `cell.moves-requested` */
  action: string;
  reason?: string;
  /** The tenants the cell held when the action was taken: whom it concerned. */
  tenants: string[];
  before?: unknown;
  after?: unknown;
}

export interface CellAuditRecord extends CellAuditEntry {
  auditId: string;
  at: string;
}

/** A cell audit record with its id and time, to be written now or (see `writeCellRecord`) later. */
export function cellRecordOf(entry: CellAuditEntry, options: { auditId?: string; now?: Date } = {}): CellAuditRecord {
  return { ...entry, auditId: options.auditId ?? newId(), at: (options.now ?? new Date()).toISOString() };
}

/**
 * Writes a cell audit record. Idempotent by `auditId`: writing the same record again (a retried
 * step, or a pending record carried on the cell's catalog item) adds nothing.
 */
export async function writeCellRecord(audit: CellAuditRecord): Promise<void> {
  try {
    await systemDocumentClient().send(
      new PutCommand({
        TableName: tenantsTable(),
        Item: { ...cellAuditKey(audit.cellId, audit.auditId), type: 'cell-audit', ...audit },
        ConditionExpression: 'attribute_not_exists(SK)',
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** Records an operator action on a cell. */
export async function recordCellAction(entry: CellAuditEntry, options: { auditId?: string } = {}): Promise<CellAuditRecord> {
  const audit = cellRecordOf(entry, options);
  await writeCellRecord(audit);
  return audit;
}

/**
 * A cell's audit trail, oldest first. The cell must exist (the catalog's module checks it, and
 * adds a record that is written but not yet listed here: see `Cell.auditTrail`).
 */
export async function listCell(cellId: string, input: unknown): Promise<{ items: CellAuditRecord[]; nextCursor: string | null }> {
  const page = await listPartition(cellPartition(cellId), input);
  return {
    items: page.items.map(({ cellId: cell, tenants, auditId, at, actor, action, reason, before, after }) => ({
      cellId: cell as string,
      ...common({ auditId, at, actor, action, reason, before, after }),
      tenants: (tenants as string[] | undefined) ?? [],
    })),
    nextCursor: page.nextCursor,
  };
}

// Both trails.

function common(item: Record<string, unknown>): Omit<AuditRecord, 'tenantId'> {
  const { auditId, at, actor, action, reason, before, after } = item;
  return {
    auditId: auditId as string,
    at: at as string,
    actor: actor as string,
    action: action as string,
    ...(reason !== undefined ? { reason: reason as string } : {}),
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

/** One page of the audit records of one partition; the cursor is bound to that partition. */
async function listPartition(partition: string, input: unknown): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
  const { limit, cursor } = parse(ListInput, input);
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK'],
    accept: (key) => key.PK === partition && isUlidSortKey(key.SK, AUDIT_SORT_PREFIX),
  });
  const result = await systemDocumentClient().send(
    new QueryCommand({
      TableName: tenantsTable(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :audit)',
      ExpressionAttributeValues: { ':pk': partition, ':audit': AUDIT_SORT_PREFIX },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: result.Items ?? [],
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}
