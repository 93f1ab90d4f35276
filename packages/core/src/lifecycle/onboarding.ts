/**
 * Onboarding (`POST /admin/tenants`) as a resumable workflow. Each step is recorded in the tenant's
 * registry record once done, and each is safe to run again, so a request that dies after any step
 * — the function crashed, timed out, lost its connection — is finished by the next attempt with
 * the same request, which skips what is recorded and redoes the rest. However often it is retried,
 * the tenant ends with one record, one cell slot, one API key and one admin user, ACTIVE. Until
 * the last step the tenant is PENDING, and the authorizer serves no traffic to a PENDING tenant.
 */
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as ApiGateway from '../integrations/api-gateway.js';
import * as Audit from '../events/audit.js';
import * as Cell from '../cells/cell.js';
import * as Events from '../events/events.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import { IdempotencyKeyReused, NoCellCapacity, RequestInProgress, TenantNameTaken, UserAlreadyExists, ValidationFailed } from '../shared/errors.js';
import * as Identity from '../integrations/identity.js';
import { deterministicId, newTenantId } from '../shared/ids.js';
import { PROBE_NAME_PREFIX } from '../releases/probe-identity.js';
import { adminEmailKey, idempotencyKey, tenantListingKey, tenantMetaKey, tenantNameKey, tenantRecordKey } from '../keys/keys.js';
import * as Routing from '../cells/routing.js';
import type { TenantRecord } from '../tenants/record.js';
import { readTenant, tenantsTable } from '../tenants/repository.js';
import { TenantName, tenantNameSkeleton } from '../tenants/tenant-name.js';
import { TIERS, TIER_NAMES, type TierName } from '../tenancy/tiers.js';
import { userItem } from '../users/user.js';
import { parse } from '../shared/validation.js';

export const OnboardInput = z.strictObject({
  name: TenantName,
  tier: z.enum(TIER_NAMES),
  adminEmail: z.email('adminEmail must be an email address').check(z.maxLength(254), z.toLowerCase()),
});
export type OnboardInput = z.infer<typeof OnboardInput>;

export interface OnboardResult {
  tenantId: string;
  name: string;
  tier: TierName;
  status: 'ACTIVE';
  cellId: string;
  admin: { username: string; temporaryPassword?: string };
}

/** The steps, in order; each is recorded in the tenant record as `onboarding.steps.<step>`. */
export const ONBOARDING_STEPS = [
  'registered',
  'placed',
  'keyIssued',
  'cellSeeded',
  'adminCreated',
  'entitlementsSet',
  'routed',
  'healthChecked',
  'activated',
  'announced',
] as const;
export type OnboardingStep = (typeof ONBOARDING_STEPS)[number];

export interface OnboardingLog {
  steps: Partial<Record<OnboardingStep, string>>;
  attempts: number;
  actor: string;
}

export interface OnboardOptions {
  actor: string;
  idempotencyKey?: string;
  /**
   * Fault injection for drills and tests: called after each step is recorded. Throwing here is a
   * crash at that point — nothing after it runs, nothing is undone, as when a function dies.
   */
  afterStep?: (step: OnboardingStep, tenantId: string) => Promise<void> | void;
  /** The workflow's clock (lease expiry); tests move it to retry without waiting out a lease. */
  now?: () => number;
  /**
   * Core only (releases/probe.ts), never from a request: onboards the synthetic probe tenant of
   * this cell. It is pinned there (the cell's `probeTenantId`) instead of taking one of the cell's
   * slots, so it counts against no capacity; its record is marked `synthetic`; its admin gets no
   * invitation (the probe sets the password itself).
   */
  probeOf?: string;
}

/**
 * How long one attempt holds the tenant's name. It outlasts the longest attempt (the onboarding
 * function's timeout, which the stack keeps under it), so a live attempt is never overtaken; a
 * crashed one is taken over by the first retry after it.
 */
export const ONBOARDING_LEASE_MS = 60_000;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * The form a tenant name is reserved under: "ACME  Corp", "acme corp" and "Acme Corp" spelled with a
 * Cyrillic "А" are one name (see tenant-name.ts).
 */
export function normalizeTenantName(name: string): string {
  return tenantNameSkeleton(name);
}

function hashOf(request: OnboardInput): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

interface Claim {
  tenantId: string;
  /** When this attempt's hold on the name runs out (absent when onboarding had finished). */
  leaseExpiresAt?: number;
  completed?: OnboardResult;
}

/**
 * Which tenant this request onboards. With an Idempotency-Key, the key names the tenant; without
 * one, the tenant's name does (the same body retried resumes a crashed attempt). The name item is
 * also the attempt's lease: one live attempt per name, so a name is never onboarded twice at once.
 */
async function claim(request: OnboardInput, options: OnboardOptions, now: number): Promise<Claim> {
  const db = systemDocumentClient();
  const requestHash = hashOf(request);
  let tenantId = newTenantId(request.name);

  if (options.idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(options.idempotencyKey)) {
      throw new ValidationFailed('The request is not valid.', {
        details: [{ path: 'Idempotency-Key', message: 'Must be 1-128 printable ASCII characters' }],
      });
    }
    const key = idempotencyKey(options.actor, options.idempotencyKey);
    try {
      await db.send(
        new PutCommand({
          TableName: tenantsTable(),
          Item: { ...key, requestHash, tenantId, createdAt: new Date(now).toISOString() },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const { Item } = await db.send(new GetCommand({ TableName: tenantsTable(), Key: key, ConsistentRead: true }));
      if (!Item || Item.requestHash !== requestHash) throw new IdempotencyKeyReused(undefined, { cause: error });
      tenantId = Item.tenantId as string;
    }
  }

  const nameKey = tenantNameKey(normalizeTenantName(request.name));
  try {
    await db.send(
      new PutCommand({
        TableName: tenantsTable(),
        Item: { ...nameKey, tenantId, requestHash, state: 'ONBOARDING', leaseExpiresAt: now + ONBOARDING_LEASE_MS },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return { tenantId, leaseExpiresAt: now + ONBOARDING_LEASE_MS };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const { Item: held } = await db.send(new GetCommand({ TableName: tenantsTable(), Key: nameKey, ConsistentRead: true }));
  const sameRequest = held?.requestHash === requestHash && (options.idempotencyKey === undefined || held.tenantId === tenantId);
  if (!held || !sameRequest) throw new TenantNameTaken();
  tenantId = held.tenantId as string;
  if (held.state === 'ONBOARDED') {
    // Finished before. With the same Idempotency-Key the client gets its answer again (without the
    // one-time password, which is never stored); a bare repeat of the body is a new request.
    if (options.idempotencyKey === undefined) throw new TenantNameTaken();
    return { tenantId, completed: held.result as OnboardResult };
  }
  if (typeof held.leaseExpiresAt !== 'number' || held.leaseExpiresAt >= now) throw new RequestInProgress();
  try {
    // Take over the crashed attempt's lease; the condition lets exactly one retry win it.
    await db.send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: nameKey,
        UpdateExpression: 'SET leaseExpiresAt = :lease',
        ConditionExpression: '#state = :onboarding AND leaseExpiresAt = :seen',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':lease': now + ONBOARDING_LEASE_MS, ':onboarding': 'ONBOARDING', ':seen': held.leaseExpiresAt },
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new RequestInProgress({ cause: error });
    throw error;
  }
  return { tenantId, leaseExpiresAt: now + ONBOARDING_LEASE_MS };
}

/**
 * An attempt that ends with an error (a retryable 503, a failed call) gives its hold on the name
 * back at once, so the client's retry is not told 409 for the rest of the lease. An attempt that
 * dies cannot, and its lease runs out instead.
 */
async function releaseLease(request: OnboardInput, leaseExpiresAt: number | undefined): Promise<void> {
  if (leaseExpiresAt === undefined) return;
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantNameKey(normalizeTenantName(request.name)),
        UpdateExpression: 'SET leaseExpiresAt = :over',
        ConditionExpression: '#state = :onboarding AND leaseExpiresAt = :mine',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':over': 0, ':onboarding': 'ONBOARDING', ':mine': leaseExpiresAt },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * Reserves the admin's e-mail for this tenant before anything is provisioned, so that of two
 * onboardings with the same new admin the loser is refused while it still holds nothing. False when
 * another tenant holds it. A retry of this tenant's onboarding finds its own reservation.
 */
async function reserveAdminEmail(request: OnboardInput, tenantId: string): Promise<boolean> {
  try {
    await systemDocumentClient().send(
      new PutCommand({
        TableName: tenantsTable(),
        Item: { ...adminEmailKey(request.adminEmail), tenantId, email: request.adminEmail },
        ConditionExpression: 'attribute_not_exists(PK) OR tenantId = :tenantId',
        ExpressionAttributeValues: { ':tenantId': tenantId },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Gives the admin's e-mail back, if this tenant holds it. */
export async function releaseAdminEmail(email: string, tenantId: string): Promise<void> {
  try {
    await systemDocumentClient().send(
      new DeleteCommand({
        TableName: tenantsTable(),
        Key: adminEmailKey(email),
        ConditionExpression: 'tenantId = :tenantId',
        ExpressionAttributeValues: { ':tenantId': tenantId },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** Undoes a claim that provisioned nothing (the request was refused up front). */
async function releaseClaim(request: OnboardInput, options: OnboardOptions, tenantId: string): Promise<void> {
  const db = systemDocumentClient();
  await releaseAdminEmail(request.adminEmail, tenantId);
  await db.send(new DeleteCommand({ TableName: tenantsTable(), Key: tenantNameKey(normalizeTenantName(request.name)) }));
  if (options.idempotencyKey !== undefined) {
    await db.send(new DeleteCommand({ TableName: tenantsTable(), Key: idempotencyKey(options.actor, options.idempotencyKey) }));
  }
}

function readRecord(tenantId: string): Promise<(TenantRecord & { onboarding?: OnboardingLog }) | undefined> {
  return readTenant<TenantRecord & { onboarding?: OnboardingLog }>(tenantId, { consistent: true });
}

/** Records a finished step, with whatever it produced, on the PENDING tenant record. */
async function recordStep(tenantId: string, step: OnboardingStep, fields: Record<string, unknown> = {}): Promise<void> {
  const names: Record<string, string> = { '#onboarding': 'onboarding', '#steps': 'steps', '#step': step };
  const values: Record<string, unknown> = { ':at': new Date().toISOString() };
  const sets = ['#onboarding.#steps.#step = :at', 'updatedAt = :at'];
  for (const [field, value] of Object.entries(fields)) {
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantRecordKey(tenantId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/**
 * Onboards a tenant (or finishes onboarding it): registered (PENDING) → placed in a cell → its own
 * API key on the tier's usage plan → the cell seeded with its defaults → admin user → entitlements
 * → routing map → health check through the router → ACTIVE → audit + `TenantActivated`.
 */
export async function onboard(input: unknown, options: OnboardOptions): Promise<OnboardResult> {
  const request = parse(OnboardInput, input);
  // Tenant ids starting `probe-` are the release probes' (releases/probe.ts): the release driver's
  // role may write those registry partitions and no other tenant's, so no customer may have one.
  if (options.probeOf === undefined && newTenantId(request.name).startsWith(PROBE_NAME_PREFIX)) {
    throw new ValidationFailed('The request is not valid.', { details: [{ path: 'name', message: 'names starting with "probe" are reserved for the release probes' }] });
  }
  const clock = options.now ?? Date.now;
  const claimed = await claim(request, options, clock());
  if (claimed.completed) {
    // The answer stored when onboarding finished — unless the tenant has since left or moved.
    const now = await readRecord(claimed.tenantId);
    if (now?.status === 'OFFBOARDED') {
      throw new IdempotencyKeyReused('This request onboarded a tenant that has since been offboarded; use a new Idempotency-Key.');
    }
    return { ...claimed.completed, ...(now?.cellId ? { cellId: now.cellId } : {}) };
  }
  try {
    return await runSteps(request, options, claimed.tenantId, clock);
  } catch (error) {
    await releaseLease(request, claimed.leaseExpiresAt).catch(() => undefined);
    throw error;
  }
}

async function runSteps(request: OnboardInput, options: OnboardOptions, tenantId: string, clock: () => number): Promise<OnboardResult> {
  const after = async (step: OnboardingStep) => options.afterStep?.(step, tenantId);

  let record = await readRecord(tenantId);
  if (record?.status === 'OFFBOARDED') {
    // The key (or name) leads to a tenant whose onboarding finished long ago and that has since
    // been offboarded: that request is over, and its tombstone must not be brought back.
    await systemDocumentClient().send(new DeleteCommand({ TableName: tenantsTable(), Key: tenantNameKey(normalizeTenantName(request.name)) }));
    throw new IdempotencyKeyReused('This request onboarded a tenant that has since been offboarded; use a new Idempotency-Key.');
  }
  // Refusals a client can fix are found before anything is provisioned, and leave nothing behind:
  // first the reservation (concurrent onboardings), then the directory (users that already exist).
  if (!(await reserveAdminEmail(request, tenantId))) {
    if (!record) await releaseClaim(request, options, tenantId);
    throw new UserAlreadyExists();
  }
  const existingUser = await Identity.getUser(request.adminEmail);
  if (existingUser && existingUser.tenantId !== tenantId) {
    if (!record) await releaseClaim(request, options, tenantId);
    throw new UserAlreadyExists();
  }

  const steps = (): Partial<Record<OnboardingStep, string>> => record?.onboarding?.steps ?? {};
  const refresh = async () => {
    record = await readRecord(tenantId);
  };

  if (!record) {
    const now = new Date(clock()).toISOString();
    const fresh: TenantRecord & { onboarding: OnboardingLog } = {
      tenantId,
      name: request.name,
      tier: request.tier,
      status: 'PENDING',
      cellId: null,
      overrides: {},
      adminUsername: request.adminEmail,
      createdAt: now,
      updatedAt: now,
      ...(options.probeOf !== undefined ? { synthetic: true as const } : {}),
      onboarding: { steps: { registered: now }, attempts: 1, actor: options.actor },
    };
    try {
      await systemDocumentClient().send(
        new PutCommand({
          TableName: tenantsTable(),
          Item: { ...tenantRecordKey(tenantId), ...tenantListingKey(tenantId, now), ...fresh },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    await refresh();
    await after('registered');
  } else {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantRecordKey(tenantId),
        UpdateExpression: 'ADD #onboarding.attempts :one',
        ExpressionAttributeNames: { '#onboarding': 'onboarding' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }
  if (!record) throw new Error(`tenant ${tenantId}: registry record vanished during onboarding`);

  // placed — the slot names the tenant, so a retry finds the one it holds.
  let cell: Cell.CellRecord;
  if (steps().placed && record.cellId) {
    const placed = await Cell.get(record.cellId);
    if (!placed) throw new Error(`tenant ${tenantId} is placed in unknown cell ${record.cellId}`);
    cell = placed;
  } else if (options.probeOf !== undefined) {
    cell = await Cell.pinProbeTenant(options.probeOf, tenantId);
    await recordStep(tenantId, 'placed', { cellId: cell.cellId });
    await after('placed');
  } else {
    try {
      cell = await Cell.placeTenant(TIERS[request.tier].placement, tenantId);
    } catch (error) {
      if (error instanceof NoCellCapacity) {
        // Nothing is provisioned yet: refuse cleanly, so the name and email are free again.
        await systemDocumentClient().send(new DeleteCommand({ TableName: tenantsTable(), Key: tenantRecordKey(tenantId) }));
        await releaseClaim(request, options, tenantId);
      }
      throw error;
    }
    await recordStep(tenantId, 'placed', { cellId: cell.cellId });
    await after('placed');
  }

  // keyIssued — found by its name if a crashed attempt already created it.
  if (!steps().keyIssued || !record.apiKeyId) {
    const key = await ApiGateway.ensureTenantApiKey({ tenantId, usagePlanId: cell.usagePlans[request.tier] });
    await recordStep(tenantId, 'keyIssued', { apiKeyId: key.apiKeyId, apiKeyValue: key.value });
    await after('keyIssued');
  }

  if (!steps().cellSeeded) {
    await seedCell(cell.tableName, tenantId);
    await recordStep(tenantId, 'cellSeeded');
    await after('cellSeeded');
  }

  // adminCreated — a user a crashed attempt created gets a fresh one-time password, since the
  // first one was never delivered.
  let admin: Identity.NewUser = { username: request.adminEmail };
  let adminCreatedNow = false;
  if (!steps().adminCreated) {
    adminCreatedNow = true;
    admin = await Identity.ensureTenantUser({ tenantId, email: request.adminEmail, role: 'admin', invitation: invitationOf(options) });
    await seedAdminListing(cell.tableName, tenantId, admin.username);
    await recordStep(tenantId, 'adminCreated');
    await after('adminCreated');
  }

  if (!steps().entitlementsSet) {
    // The tier's entitlements with no overrides; operators change them later (PATCH).
    await recordStep(tenantId, 'entitlementsSet', { tier: request.tier, overrides: {} });
    await after('entitlementsSet');
  }

  if (!steps().routed) {
    await Routing.announceRoute({ tenantId, tier: request.tier, cellId: cell.cellId, previousCellId: null, actor: options.actor });
    await recordStep(tenantId, 'routed');
    await after('routed');
  }

  if (!steps().healthChecked) {
    await Routing.waitUntilRouted(tenantId, cell.cellId);
    await recordStep(tenantId, 'healthChecked');
    await after('healthChecked');
  }

  if (!steps().activated) {
    try {
      await systemDocumentClient().send(
        new UpdateCommand({
          TableName: tenantsTable(),
          Key: tenantRecordKey(tenantId),
          UpdateExpression: 'SET #status = :active, #onboarding.#steps.activated = :at, updatedAt = :at',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status', '#onboarding': 'onboarding', '#steps': 'steps' },
          ExpressionAttributeValues: { ':active': 'ACTIVE', ':pending': 'PENDING', ':at': new Date().toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    await refresh();
    await after('activated');
  }

  if (!steps().announced) {
    const startedAt = Date.parse(record.createdAt);
    await Audit.record(
      {
        tenantId,
        actor: record.onboarding?.actor ?? options.actor,
        action: 'tenant.onboarded',
        after: { name: request.name, tier: request.tier, cellId: cell.cellId, adminUsername: request.adminEmail },
      },
      { auditId: deterministicId(startedAt, `${tenantId}#tenant.onboarded`) },
    );
    // Consumers deduplicate on the idempotency key, so a retry that publishes again is harmless.
    await Events.publishTenantEvent('TenantActivated', {
      tenantId,
      cellId: cell.cellId,
      tier: request.tier,
      actor: options.actor,
      data: { name: request.name },
      idempotencyKey: `TenantActivated#${tenantId}`,
    });
    await recordStep(tenantId, 'announced');
    await after('announced');
  }

  if (!adminCreatedNow && invitationOf(options) === 'delivery') {
    // An earlier attempt created the admin, and the one-time password it got may have died with
    // that attempt. Until the admin has signed in, this attempt issues a fresh one (returned, or
    // e-mailed again).
    const user = await Identity.getUser(request.adminEmail);
    if (user?.status === 'FORCE_CHANGE_PASSWORD') {
      admin = await Identity.ensureTenantUser({ tenantId, email: request.adminEmail, role: 'admin' });
    }
  }
  const result: OnboardResult = { tenantId, name: request.name, tier: request.tier, status: 'ACTIVE', cellId: cell.cellId, admin };
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantNameKey(normalizeTenantName(request.name)),
      UpdateExpression: 'SET #state = :onboarded, #result = :result REMOVE leaseExpiresAt',
      ExpressionAttributeNames: { '#state': 'state', '#result': 'result' },
      ExpressionAttributeValues: { ':onboarded': 'ONBOARDED', ':result': { ...result, admin: { username: admin.username } } },
    }),
  );
  return result;
}

function invitationOf(options: OnboardOptions): Identity.Invitation {
  return options.probeOf === undefined ? 'delivery' : 'none';
}

/** The tenant's defaults in its cell: its counters (users: the admin). */
async function seedCell(cellTable: string, tenantId: string): Promise<void> {
  try {
    await systemDocumentClient().send(
      new PutCommand({
        TableName: cellTable,
        Item: { ...tenantMetaKey(tenantId), tenantId, activeCases: 0, users: 1 },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    // Seeded by an earlier attempt: the counters may already have moved, so they stay.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

async function seedAdminListing(cellTable: string, tenantId: string, adminUsername: string): Promise<void> {
  await systemDocumentClient()
    .send(
      new PutCommand({
        TableName: cellTable,
        Item: userItem(tenantId, { username: adminUsername, email: adminUsername, role: 'admin', createdAt: new Date().toISOString() }),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
}
