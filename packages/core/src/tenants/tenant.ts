/**
 * The tenant registry (control plane). Every function here takes the tenant id explicitly: the
 * control plane acts on tenants from outside any tenant's context.
 */
import { isDeepStrictEqual } from 'node:util';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as ApiGateway from '../integrations/api-gateway.js';
import * as Audit from '../events/audit.js';
import * as Cell from '../cells/cell.js';
import * as Events from '../events/events.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import { EntitlementOverrides, canonicalOverrides } from '../tenancy/entitlements.js';
import { ConcurrentModification, MoveInProgress, TenantNotActivated, TenantNotFound, TierChangeNeedsMove } from '../shared/errors.js';
import { tenantOfListingPageKey, tenantRecordKey } from '../keys/keys.js';
import { LISTING_PARTITION, TENANT_STATUSES, isMoveInProgress, summary, type TenantRecord, type TenantSummary } from './record.js';
import { readTenant, tenantsTable } from './repository.js';
import * as TenantMove from '../lifecycle/tenant-move.js';
import { TIERS, TIER_NAMES } from '../tenancy/tiers.js';
import { PageLimit, Reason, parse } from '../shared/validation.js';

/** The full registry record, including the usage identifier key (authorizer and router use). */
export function getRecord(tenantId: string): Promise<TenantRecord | undefined> {
  return readTenant(tenantId);
}

export async function get(tenantId: string): Promise<TenantSummary> {
  const record = await getRecord(tenantId);
  if (!record) throw new TenantNotFound();
  return summary(record);
}

export const ListInput = z.strictObject({
  limit: PageLimit(100, 50),
  cursor: z.optional(z.string()),
  /** Only tenants in this status, e.g. `PENDING` to find abandoned onboardings. */
  status: z.optional(z.enum(TENANT_STATUSES)),
});

/**
 * Tenants, oldest first. With `status`, only those tenants: a page then holds at most `limit`
 * (possibly fewer, even none, while `nextCursor` goes on — the filter applies after each read).
 */
export async function list(input: unknown): Promise<{ items: TenantSummary[]; nextCursor: string | null }> {
  const { limit, cursor, status } = parse(ListInput, input);
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'],
    accept: (key) => tenantOfListingPageKey(key) !== undefined,
  });
  const result = await systemDocumentClient().send(
    new QueryCommand({
      TableName: tenantsTable(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ...(status ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } } : {}),
      ExpressionAttributeValues: { ':pk': LISTING_PARTITION, ...(status ? { ':status': status } : {}) },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map((item) => summary(item as TenantRecord)),
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}

export const StatusChangeInput = z.strictObject({ reason: z.optional(Reason) });

/**
 * Suspends or reactivates a tenant: the registry changes, the change is audited, and the tenant's
 * cell drops its cached authorizer decisions so the next request is judged on the new status.
 * The tenant's data is never touched. Asking for the status the tenant already has changes nothing
 * and records nothing (no audit record, no event): the answer is the tenant as it is.
 */
async function changeStatus(tenantId: string, status: 'ACTIVE' | 'SUSPENDED', input: unknown, options: { actor: string }): Promise<TenantSummary> {
  const { reason } = parse(StatusChangeInput, input ?? {});
  const before = await getRecord(tenantId);
  if (!before) throw new TenantNotFound();
  // Only between ACTIVE and SUSPENDED: a PENDING tenant is still being onboarded, and one being
  // offboarded may already have lost its key or data.
  const unchanged = (record: TenantRecord | undefined) => record?.status === status && !('offboarding' in record);
  if (unchanged(before)) return summary(before);
  const from = status === 'SUSPENDED' ? 'ACTIVE' : 'SUSPENDED';
  let after: TenantRecord;
  try {
    const { Attributes } = await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET #status = :status, updatedAt = :now',
        // From the other status only: of two identical requests at once, one changes the tenant.
        ConditionExpression: 'attribute_exists(PK) AND #status = :from AND attribute_not_exists(offboarding)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':from': from, ':now': new Date().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    after = Attributes as TenantRecord;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    // Another request made the same change first: that is the answer, recorded once, by it.
    const now = await getRecord(tenantId);
    if (now && unchanged(now)) return summary(now);
    throw new TenantNotActivated({ cause: error });
  }
  await Audit.record({
    tenantId,
    actor: options.actor,
    action: status === 'SUSPENDED' ? 'tenant.suspended' : 'tenant.reactivated',
    ...(reason ? { reason } : {}),
    before: { status: before.status },
    after: { status: after.status },
  });
  if (after.cellId) {
    const cell = await Cell.get(after.cellId);
    if (cell) await ApiGateway.flushAuthorizerCache({ apiId: cell.apiId, stage: cell.stage });
  }
  await Events.publishTenantEvent(status === 'SUSPENDED' ? 'TenantSuspended' : 'TenantReactivated', {
    tenantId,
    cellId: after.cellId,
    tier: after.tier,
    actor: options.actor,
    data: { before: before.status, after: after.status, ...(reason ? { reason } : {}) },
  });
  return summary(after);
}

export function suspend(tenantId: string, input: unknown, options: { actor: string }): Promise<TenantSummary> {
  return changeStatus(tenantId, 'SUSPENDED', input, options);
}

export function reactivate(tenantId: string, input: unknown, options: { actor: string }): Promise<TenantSummary> {
  return changeStatus(tenantId, 'ACTIVE', input, options);
}

export const UpdateInput = z
  .strictObject({
    tier: z.optional(z.enum(TIER_NAMES)),
    overrides: z.optional(EntitlementOverrides),
    reason: z.optional(Reason),
  })
  .check(z.refine((input) => input.tier !== undefined || input.overrides !== undefined, 'Provide tier and/or overrides'));

/**
 * Changes a tenant's tier and/or per-tenant overrides. A new tier moves the tenant's API key to
 * that tier's usage plan in its cell (new throttle and quota), and the cell's authorizer cache is
 * flushed so the new entitlements apply to the very next request. A change to or from enterprise
 * also changes the kind of cell (dedicated ↔ pooled): it starts a move, and the tier changes at
 * the move's switch (the answer shows the move under way). Asking for the tier and overrides the
 * tenant already has changes nothing and records nothing: the answer is the tenant as it is.
 */
export async function update(tenantId: string, input: unknown, options: { actor: string }): Promise<TenantSummary> {
  const parsed = parse(UpdateInput, input);
  // Overrides that mean the same entitlements are the same overrides (a repeat records nothing).
  const change = { ...parsed, ...(parsed.overrides !== undefined ? { overrides: canonicalOverrides(parsed.overrides) } : {}) };
  const before = await getRecord(tenantId);
  if (!before) throw new TenantNotFound();
  if (!before.cellId || !before.apiKeyId || (before.status !== 'ACTIVE' && before.status !== 'SUSPENDED')) {
    throw new TenantNotActivated();
  }
  const tier = change.tier ?? before.tier;
  if (change.tier !== undefined && isMoveInProgress(before.move)) {
    // The move's switch would undo a tier change made meanwhile: one change at a time.
    throw new MoveInProgress();
  }
  // The tier and overrides it already has: nothing changes, nothing is recorded.
  if (tier === before.tier && (change.overrides === undefined || isDeepStrictEqual(change.overrides, canonicalOverrides(before.overrides ?? {})))) {
    return summary(before);
  }
  if (TIERS[tier].placement !== TIERS[before.tier].placement) {
    // To or from enterprise: the tenant changes cell kind, so the tier changes with a move, at its
    // switch. Overrides are a separate change, made once the tenant has its new tier.
    if (change.overrides !== undefined) {
      throw new TierChangeNeedsMove(`Moving from ${before.tier} to ${tier} moves the tenant to a ${TIERS[tier].placement} cell; change its overrides once the move is done.`);
    }
    await TenantMove.request(tenantId, change.reason ? { reason: change.reason } : {}, { actor: options.actor, toTier: tier });
    return get(tenantId);
  }
  const cell = await Cell.get(before.cellId);
  if (!cell) throw new Error(`tenant ${tenantId} is placed in unknown cell ${before.cellId}`);
  const overrides = change.overrides ?? before.overrides ?? {};
  if (tier !== before.tier) {
    await ApiGateway.moveApiKey({
      apiKeyId: before.apiKeyId,
      fromUsagePlanId: cell.usagePlans[before.tier],
      toUsagePlanId: cell.usagePlans[tier],
    });
  }
  let after: TenantRecord;
  try {
    const { Attributes } = await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET tier = :tier, overrides = :overrides, updatedAt = :now',
        // Optimistic: a concurrent tier change would have moved the key under us.
        ConditionExpression: 'tier = :before',
        ExpressionAttributeValues: { ':tier': tier, ':overrides': overrides, ':before': before.tier, ':now': new Date().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    after = Attributes as TenantRecord;
  } catch (error) {
    if (tier !== before.tier) {
      await ApiGateway.moveApiKey({ apiKeyId: before.apiKeyId, fromUsagePlanId: cell.usagePlans[tier], toUsagePlanId: cell.usagePlans[before.tier] });
    }
    if (isConditionalCheckFailed(error)) throw new ConcurrentModification(undefined, { cause: error });
    throw error;
  }
  await ApiGateway.flushAuthorizerCache({ apiId: cell.apiId, stage: cell.stage });
  await Audit.record({
    tenantId,
    actor: options.actor,
    action: tier !== before.tier ? 'tenant.tier-changed' : 'tenant.overrides-changed',
    ...(change.reason ? { reason: change.reason } : {}),
    before: { tier: before.tier, overrides: before.overrides ?? {} },
    after: { tier: after.tier, overrides: after.overrides },
  });
  await Events.publishTenantEvent('TenantEntitlementsChanged', {
    tenantId,
    cellId: after.cellId,
    tier: after.tier,
    actor: options.actor,
    data: { before: { tier: before.tier, overrides: before.overrides ?? {} }, after: { tier: after.tier, overrides: after.overrides } },
  });
  return summary(after);
}
