import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { requireEnv } from './config.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { isConditionalCheckFailed, systemDocumentClient } from './dynamo.js';
import { newId } from './ids.js';
import { AUDIT_SORT_PREFIX, auditKey, tenantPartitionPrefix } from './keys.js';
import { parse } from './validation.js';

/**
 * The control plane's audit trail: who did what to which tenant, why, and what changed. Records
 * live in the tenant's own partition of the registry, so they are listed, exported and kept with
 * the tenant — and no record can exist without naming its tenant.
 */
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

function table(): string {
  return requireEnv('TENANTS_TABLE');
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
        TableName: table(),
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
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().optional(),
});

/** A tenant's audit trail, oldest first. */
export async function list(tenantId: string, input: unknown): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
  const { limit, cursor } = parse(ListInput, input);
  const partition = tenantPartitionPrefix(tenantId);
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK'],
    accept: (key) => key.PK === partition && key.SK!.startsWith(AUDIT_SORT_PREFIX),
  });
  const result = await systemDocumentClient().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :audit)',
      ExpressionAttributeValues: { ':pk': partition, ':audit': AUDIT_SORT_PREFIX },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map(({ tenantId: owner, auditId, at, actor, action, reason, before, after }) => ({
      tenantId: owner,
      auditId,
      at,
      actor,
      action,
      ...(reason !== undefined ? { reason } : {}),
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    })) as AuditRecord[],
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}
