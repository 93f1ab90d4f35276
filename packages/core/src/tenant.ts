import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import * as ApiGateway from './api-gateway.js';
import * as Audit from './audit.js';
import * as Cell from './cell.js';
import * as Events from './events.js';
import { requireEnv } from './config.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { isConditionalCheckFailed, systemDocumentClient } from './dynamo.js';
import { EntitlementOverrides } from './entitlements.js';
import {
  ConcurrentModification,
  IdempotencyKeyReused,
  RequestInProgress,
  TenantNameTaken,
  TenantNotActivated,
  TenantNotFound,
  TierChangeNeedsMove,
  UserAlreadyExists,
  ValidationFailed,
} from './errors.js';
import * as Identity from './identity.js';
import { newTenantId } from './ids.js';
import { idempotencyKey, isTenantId, tenantMetaKey, tenantNameKey, tenantRecordKey, tenantUserKey } from './keys.js';
import { TIERS, TIER_NAMES, type TierName } from './tiers.js';
import { parse } from './validation.js';

/**
 * The tenant registry (control plane). Every function here takes the tenant id explicitly: the
 * control plane acts on tenants from outside any tenant's context.
 */
export type TenantStatus = 'PENDING' | 'ACTIVE' | 'SUSPENDED';

export interface TenantRecord {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string | null;
  overrides: EntitlementOverrides;
  adminUsername: string;
  createdAt: string;
  updatedAt: string;
  /** API Gateway key id and value (the usage identifier); never returned to clients. */
  apiKeyId?: string;
  apiKeyValue?: string;
}

export type TenantSummary = Omit<TenantRecord, 'apiKeyId' | 'apiKeyValue'>;

const LISTING_PARTITION = 'TENANTS';

function table(): string {
  return requireEnv('TENANTS_TABLE');
}

function summary(record: TenantRecord): TenantSummary {
  const { tenantId, name, tier, status, cellId, overrides, adminUsername, createdAt, updatedAt } = record;
  return { tenantId, name, tier, status, cellId, overrides, adminUsername, createdAt, updatedAt };
}

/** The full registry record, including the usage identifier key (authorizer and router use). */
export async function getRecord(tenantId: string): Promise<TenantRecord | undefined> {
  if (!isTenantId(tenantId)) return undefined;
  const { Item } = await systemDocumentClient().send(new GetCommand({ TableName: table(), Key: tenantRecordKey(tenantId) }));
  return Item as TenantRecord | undefined;
}

export async function get(tenantId: string): Promise<TenantSummary> {
  const record = await getRecord(tenantId);
  if (!record) throw new TenantNotFound();
  return summary(record);
}

export const ListInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().optional(),
});

/** Tenants, oldest first. */
export async function list(input: unknown): Promise<{ items: TenantSummary[]; nextCursor: string | null }> {
  const { limit, cursor } = parse(ListInput, input);
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'],
    accept: (key) => key.GSI1PK === LISTING_PARTITION && key.SK === 'TENANT',
  });
  const result = await systemDocumentClient().send(
    new QueryCommand({
      TableName: table(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': LISTING_PARTITION },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map((item) => summary(item as TenantRecord)),
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}

// ── onboarding ───────────────────────────────────────────────────────────────────────────────
export const OnboardInput = z.strictObject({
  name: z.string().trim().min(2, 'Name must be at least 2 characters').max(100, 'Name must be at most 100 characters'),
  tier: z.enum(TIER_NAMES),
  adminEmail: z.email('adminEmail must be an email address').max(254).toLowerCase(),
});
export type OnboardInput = z.infer<typeof OnboardInput>;

export interface OnboardResult {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string;
  admin: { username: string; temporaryPassword?: string };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

function normalizeName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ');
}

interface IdempotencyClaim {
  key: { PK: string; SK: string };
  replay?: OnboardResult;
}

/**
 * How long an onboarding may hold its Idempotency-Key. A request that crashed mid-way leaves its
 * claim IN_PROGRESS; once the lease has run out, a retry with the same key takes it over.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;

async function claimIdempotencyKey(actor: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationFailed('The request is not valid.', [
      { path: 'Idempotency-Key', message: 'Must be 1-128 printable ASCII characters' },
    ]);
  }
  const itemKey = idempotencyKey(actor, key);
  const now = Date.now();
  try {
    await systemDocumentClient().send(
      new PutCommand({
        TableName: table(),
        Item: { ...itemKey, state: 'IN_PROGRESS', requestHash, leaseExpiresAt: now + IDEMPOTENCY_LEASE_MS },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return { key: itemKey };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const { Item } = await systemDocumentClient().send(new GetCommand({ TableName: table(), Key: itemKey, ConsistentRead: true }));
  if (Item?.requestHash !== requestHash) throw new IdempotencyKeyReused();
  if (Item.state === 'COMPLETED') return { key: itemKey, replay: Item.result as OnboardResult };
  if (typeof Item.leaseExpiresAt === 'number' && Item.leaseExpiresAt < now) {
    try {
      // Take over the abandoned claim; the condition makes sure only one retry wins it.
      await systemDocumentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: itemKey,
          UpdateExpression: 'SET leaseExpiresAt = :lease',
          ConditionExpression: '#state = :inProgress AND leaseExpiresAt = :seen',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':lease': now + IDEMPOTENCY_LEASE_MS, ':inProgress': 'IN_PROGRESS', ':seen': Item.leaseExpiresAt },
        }),
      );
      return { key: itemKey };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
  throw new RequestInProgress();
}

/**
 * Onboards a tenant: registry record (PENDING) → placement in a cell → admin user → its own API
 * key on the tier's usage plan → cell defaults → ACTIVE. The tenant receives no traffic before
 * ACTIVE (the authorizer refuses any other status). If a step fails, the steps already done are
 * undone in reverse order, so a refused onboarding leaves nothing behind — no record, no cell
 * slot, no key, no user. With an Idempotency-Key, a retry returns the first result (without the
 * one-time password, which is never stored).
 */
export async function onboard(input: unknown, options: { actor: string; idempotencyKey?: string }): Promise<OnboardResult> {
  const request = parse(OnboardInput, input);
  const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const claim = options.idempotencyKey ? await claimIdempotencyKey(options.actor, options.idempotencyKey, requestHash) : undefined;
  if (claim?.replay) return claim.replay;
  const db = systemDocumentClient();
  const undo: (() => Promise<unknown>)[] = [];
  const tenantId = newTenantId(request.name);
  if (claim) undo.push(() => db.send(new DeleteCommand({ TableName: table(), Key: claim.key })));
  try {
    // The common client mistake, checked before anything is written.
    if (await Identity.userExists(request.adminEmail)) throw new UserAlreadyExists();
    const nameKey = tenantNameKey(normalizeName(request.name));
    try {
      await db.send(
        new PutCommand({ TableName: table(), Item: { ...nameKey, tenantId }, ConditionExpression: 'attribute_not_exists(PK)' }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new TenantNameTaken();
      throw error;
    }
    undo.push(() => db.send(new DeleteCommand({ TableName: table(), Key: nameKey })));

    const now = new Date().toISOString();
    const record: TenantRecord = {
      tenantId,
      name: request.name,
      tier: request.tier,
      status: 'PENDING',
      cellId: null,
      overrides: {},
      adminUsername: request.adminEmail,
      createdAt: now,
      updatedAt: now,
    };
    await db.send(
      new PutCommand({
        TableName: table(),
        Item: { ...tenantRecordKey(tenantId), GSI1PK: LISTING_PARTITION, GSI1SK: `${now}#${tenantId}`, ...record },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    undo.push(() => db.send(new DeleteCommand({ TableName: table(), Key: tenantRecordKey(tenantId) })));

    const cell = await Cell.reserveSlot(TIERS[request.tier].placement);
    undo.push(() => Cell.releaseSlot(cell.cellId));
    const admin = await Identity.createTenantUser({ tenantId, email: request.adminEmail, role: 'admin' });
    undo.push(() => Identity.deleteUser(admin.username));
    const apiKey = await ApiGateway.createTenantApiKey({ tenantId, usagePlanId: cell.usagePlans[request.tier] });
    undo.push(() => ApiGateway.deleteApiKey(apiKey.apiKeyId));
    await seedCell(cell.tableName, tenantId, admin.username);
    undo.push(() => unseedCell(cell.tableName, tenantId, admin.username));
    await db.send(
      new UpdateCommand({
        TableName: table(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET #status = :active, cellId = :cellId, apiKeyId = :keyId, apiKeyValue = :keyValue, updatedAt = :now',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':active': 'ACTIVE',
          ':pending': 'PENDING',
          ':cellId': cell.cellId,
          ':keyId': apiKey.apiKeyId,
          ':keyValue': apiKey.value,
          ':now': new Date().toISOString(),
        },
      }),
    );
    const result: OnboardResult = {
      tenantId,
      name: request.name,
      tier: request.tier,
      status: 'ACTIVE',
      cellId: cell.cellId,
      admin,
    };
    await Audit.record({
      tenantId,
      actor: options.actor,
      action: 'tenant.onboarded',
      after: { name: request.name, tier: request.tier, cellId: cell.cellId, adminUsername: admin.username },
    });
    await Events.publishTenantEvent({
      source: Events.CONTROL_PLANE_SOURCE,
      detailType: 'TenantActivated',
      tenantId,
      cellId: cell.cellId,
      tier: request.tier,
      actor: options.actor,
      data: { name: request.name },
      idempotencyKey: `TenantActivated#${tenantId}`,
    });
    if (claim) {
      await db.send(
        new UpdateCommand({
          TableName: table(),
          Key: claim.key,
          UpdateExpression: 'SET #state = :completed, #result = :result REMOVE leaseExpiresAt',
          ExpressionAttributeNames: { '#state': 'state', '#result': 'result' },
          ExpressionAttributeValues: { ':completed': 'COMPLETED', ':result': { ...result, admin: { username: admin.username } } },
        }),
      );
    }
    return result;
  } catch (error) {
    // Undo what was done, newest first. If undoing fails too (say, the function itself dies), the
    // record stays PENDING and serves nothing; the original error is what the caller needs.
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoError) {
        console.error(`onboarding of tenant ${tenantId}: could not undo a step`, undoError);
      }
    }
    throw error;
  }
}

/** The tenant's defaults in its cell: its counters and its admin user's listing entry. */
async function seedCell(cellTable: string, tenantId: string, adminUsername: string): Promise<void> {
  const db = systemDocumentClient();
  const now = new Date().toISOString();
  await db.send(
    new PutCommand({
      TableName: cellTable,
      Item: { ...tenantMetaKey(tenantId), tenantId, activeCases: 0, users: 1 },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  await db.send(
    new PutCommand({
      TableName: cellTable,
      Item: { ...tenantUserKey(tenantId, adminUsername), type: 'user', tenantId, username: adminUsername, email: adminUsername, role: 'admin', createdAt: now },
    }),
  );
}

async function unseedCell(cellTable: string, tenantId: string, adminUsername: string): Promise<void> {
  const db = systemDocumentClient();
  await db.send(new DeleteCommand({ TableName: cellTable, Key: tenantMetaKey(tenantId) }));
  await db.send(new DeleteCommand({ TableName: cellTable, Key: tenantUserKey(tenantId, adminUsername) }));
}

export const StatusChangeInput = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

/**
 * Suspends or reactivates a tenant: the registry changes, the change is audited, and the tenant's
 * cell drops its cached authorizer decisions so the next request is judged on the new status.
 * The tenant's data is never touched.
 */
async function changeStatus(
  tenantId: string,
  status: 'ACTIVE' | 'SUSPENDED',
  input: unknown,
  options: { actor: string },
): Promise<TenantSummary> {
  const { reason } = parse(StatusChangeInput, input ?? {});
  const before = await getRecord(tenantId);
  if (!before) throw new TenantNotFound();
  let after: TenantRecord;
  try {
    const { Attributes } = await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'SET #status = :status, updatedAt = :now',
        // Only between ACTIVE and SUSPENDED: a PENDING tenant is still being onboarded.
        ConditionExpression: 'attribute_exists(PK) AND #status IN (:active, :suspended)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':active': 'ACTIVE', ':suspended': 'SUSPENDED', ':now': new Date().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    after = Attributes as TenantRecord;
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new TenantNotActivated();
    throw error;
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
  await Events.publishTenantEvent({
    source: Events.CONTROL_PLANE_SOURCE,
    detailType: status === 'SUSPENDED' ? 'TenantSuspended' : 'TenantReactivated',
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
    tier: z.enum(TIER_NAMES).optional(),
    overrides: EntitlementOverrides.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .refine((input) => input.tier !== undefined || input.overrides !== undefined, 'Provide tier and/or overrides');

/**
 * Changes a tenant's tier and/or per-tenant overrides. A new tier moves the tenant's API key to
 * that tier's usage plan in its cell (new throttle and quota), and the cell's authorizer cache is
 * flushed so the new entitlements apply to the very next request. A change that would move the
 * tenant between pooled and dedicated cells needs a cell move and is refused here.
 */
export async function update(tenantId: string, input: unknown, options: { actor: string }): Promise<TenantSummary> {
  const change = parse(UpdateInput, input);
  const before = await getRecord(tenantId);
  if (!before) throw new TenantNotFound();
  if (!before.cellId || !before.apiKeyId || (before.status !== 'ACTIVE' && before.status !== 'SUSPENDED')) {
    throw new TenantNotActivated();
  }
  const tier = change.tier ?? before.tier;
  if (TIERS[tier].placement !== TIERS[before.tier].placement) {
    throw new TierChangeNeedsMove(
      `Moving from ${before.tier} to ${tier} changes the tenant's cell placement (${TIERS[before.tier].placement} → ${TIERS[tier].placement}); move the tenant to a ${TIERS[tier].placement} cell first.`,
    );
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
        TableName: table(),
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
    if (isConditionalCheckFailed(error)) throw new ConcurrentModification();
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
  await Events.publishTenantEvent({
    source: Events.CONTROL_PLANE_SOURCE,
    detailType: 'TenantEntitlementsChanged',
    tenantId,
    cellId: after.cellId,
    tier: after.tier,
    actor: options.actor,
    data: { before: { tier: before.tier, overrides: before.overrides ?? {} }, after: { tier: after.tier, overrides: after.overrides } },
  });
  return summary(after);
}
