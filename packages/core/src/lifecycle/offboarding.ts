/**
 * Export and offboarding. The export (`GET /admin/tenants/{id}/export`) is every item of the tenant
 * in every table — its registry partition (record, audit trail, workflow logs) and everything in its
 * cell — as JSON Lines, page by page. Cell items are read through the cell's tenant access role
 * tagged with the tenant, so the data layer itself guarantees no other tenant's item can appear.
 *
 * Offboarding (`DELETE /admin/tenants/{id}`) takes a SUSPENDED tenant — suspended so that nothing
 * changes between the operator's export and the deletion — and, step by recorded step (a retry
 * resumes): revokes its API key, signs out and deletes its users, purges its cell items and every
 * object under its prefix in the cell's evidence bucket and checks none of either is left, gives back its cell slot, and leaves a tombstone (status OFFBOARDED) with its audit
 * trail. Tokens issued before keep verifying but the authorizer refuses an OFFBOARDED tenant.
 *
 * The same workflow cancels an **abandoned onboarding**: a PENDING tenant whose onboarding attempt
 * died and was never retried (its lease on the name has run out). Cancelling takes the name from
 * the onboarding first, so a retry arriving meanwhile is refused rather than racing the cleanup,
 * and it finds what a crashed attempt may have created without recording it (the API key by name,
 * the cell slot by tenant).
 */
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as ApiGateway from '../integrations/api-gateway.js';
import * as Audit from '../events/audit.js';
import * as Cell from '../cells/cell.js';
import * as Events from '../events/events.js';
import { systemDocumentClient } from '../shared/dynamo.js';
import { OnboardingInProgress, TenantNotFound, TenantNotSuspended } from '../shared/errors.js';
import * as Identity from '../integrations/identity.js';
import { deterministicId } from '../shared/ids.js';
import { normalizeTenantName, releaseAdminEmail } from './onboarding.js';
import { tenantNameKey, tenantRecordKey, tenantUsersPartition } from '../keys/keys.js';
import * as Routing from '../cells/routing.js';
import { meterConsumption } from '../metering/consumption.js';
import { ReadInput, readTenantItems } from '../tenant-data/export.js';
import { type Fingerprint, exportLines, fingerprintTenantCellItems } from '../tenant-data/fingerprint.js';
import type { TenantDataSources, TenantItem } from '../tenant-data/walk.js';
import { purgeTenantObjects } from '../tenant-data/objects.js';
import { purgeTenantCellItems } from '../tenant-data/write.js';
import { noMoveInProgressCondition, summary, type TenantRecord, type TenantSummary } from '../tenants/record.js';
import * as Registry from '../tenants/repository.js';
import { tenantsTable } from '../tenants/repository.js';
import { tenantBucketIn } from '../tenancy/tenant-bucket.js';
import { tenantTableIn } from '../tenancy/tenant-table.js';
import { Reason, parse } from '../shared/validation.js';

export const OFFBOARDING_STEPS = ['started', 'keyRevoked', 'usersRemoved', 'dataPurged', 'slotReleased', 'tombstoned', 'unrouted', 'announced'] as const;
export type OffboardingStep = (typeof OFFBOARDING_STEPS)[number];

interface OffboardingLog {
  steps: Partial<Record<OffboardingStep, string>>;
  /** The tenant's status when offboarding started: SUSPENDED, or PENDING for a cancelled onboarding. */
  from?: 'SUSPENDED' | 'PENDING';
  actor: string;
  reason?: string;
  purged?: Fingerprint & { cellId: string; objects?: number };
}

type OffboardingTenant = TenantRecord & { offboarding?: OffboardingLog };

export const OffboardInput = z.strictObject({
  reason: z.optional(Reason),
});

export const ExportInput = ReadInput;

function readTenant(tenantId: string): Promise<OffboardingTenant | undefined> {
  return Registry.readTenant<OffboardingTenant>(tenantId, { consistent: true });
}

export interface ExportPage {
  /** JSON Lines: `{"table":"registry"|"cell","item":{…}}` per line. */
  lines: string;
  count: number;
  nextCursor: string | null;
}

/**
 * One page of a tenant's export. The registry part is read with the control plane's own access
 * (that table has no tenant fence); the cell part through the tenant-tagged role.
 */
/**
 * One page of a tenant's export. The bytes it carries out are the tenant's usage (`exportBytes`,
 * DESIGN §10): counted in the ledger, keyed by the request, before the page is answered — a page
 * whose usage could not be recorded is not sent (the operator asks again).
 */
export async function exportPage(tenantId: string, input: unknown, request: { requestId: string; actor: string }): Promise<ExportPage> {
  const record = await readTenant(tenantId);
  if (!record) throw new TenantNotFound();
  const cell = record.cellId ? await Cell.get(record.cellId) : undefined;
  const sources: TenantDataSources = {
    registry: { doc: systemDocumentClient(), tableName: tenantsTable() },
    ...(cell ? { cell: tenantTableIn(cell, tenantId) } : {}),
  };
  const page = await readTenantItems(sources, tenantId, input ?? {});
  const lines = exportLines(page.items.map(withoutSecrets));
  if (record.cellId && !record.synthetic) {
    await meterConsumption({ tenantId: record.tenantId, cellId: record.cellId, tier: record.tier }, `export:${request.requestId}`, request.actor, {
      exportBytes: Buffer.byteLength(lines, 'utf8'),
    });
  }
  return { lines, count: page.items.length, nextCursor: page.nextCursor };
}

/** The API key's value is the gateway's usage identifier — a credential, not the tenant's data. */
function withoutSecrets(entry: TenantItem): TenantItem {
  if (entry.table !== 'registry' || !('apiKeyValue' in entry.item)) return entry;
  const { apiKeyValue: _secret, ...item } = entry.item;
  return { table: entry.table, item };
}

export interface OffboardOptions {
  actor: string;
  /** The clock that decides whether an onboarding's lease has run out; drills move it. */
  now?: () => number;
  /** Fault injection for drills: called after each recorded step; throwing is a crash there. */
  afterStep?: (step: OffboardingStep) => Promise<void> | void;
}

export type OffboardResult = TenantSummary & { purged: { cellId: string; count: number; checksum: string; objects?: number } | null };

async function recordStep(tenantId: string, step: OffboardingStep, sets: Record<string, unknown> = {}, removes: string[] = []): Promise<void> {
  const names: Record<string, string> = { '#offboarding': 'offboarding', '#steps': 'steps', '#step': step };
  const values: Record<string, unknown> = { ':at': new Date().toISOString() };
  const assignments = ['#offboarding.#steps.#step = :at', 'updatedAt = :at'];
  for (const [path, value] of Object.entries(sets)) {
    const placeholder = path.replace(/\W/g, '_');
    const names_ = path.split('.').map((part) => {
      names[`#${part}`] = part;
      return `#${part}`;
    });
    values[`:${placeholder}`] = value;
    assignments.push(`${names_.join('.')} = :${placeholder}`);
  }
  for (const attribute of removes) names[`#${attribute}`] = attribute;
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantRecordKey(tenantId),
      UpdateExpression: `SET ${assignments.join(', ')}${removes.length ? ` REMOVE ${removes.map((a) => `#${a}`).join(', ')}` : ''}`,
      ConditionExpression: 'attribute_exists(#offboarding)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/**
 * Takes a PENDING tenant's name from its onboarding, so that no retry of the onboarding can run
 * while it is cancelled: only once the attempt's lease has run out (the attempt is dead — its
 * function's time limit is shorter than the lease), and only if the name is still this tenant's.
 * A cancellation resumed after a crash finds the name already taken.
 */
async function takeNameFromOnboarding(record: TenantRecord, now: number): Promise<void> {
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: tenantsTable(),
        Key: tenantNameKey(normalizeTenantName(record.name)),
        UpdateExpression: 'SET #state = :cancelling',
        ConditionExpression: 'tenantId = :tenantId AND (#state = :cancelling OR (#state = :onboarding AND leaseExpiresAt < :now))',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':tenantId': record.tenantId, ':cancelling': 'CANCELLING', ':onboarding': 'ONBOARDING', ':now': now },
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') throw new OnboardingInProgress({ cause: error });
    throw error;
  }
}

/**
 * Offboards a SUSPENDED tenant, or cancels an abandoned onboarding (a PENDING tenant), or finishes
 * doing so. An OFFBOARDED tenant is answered as is.
 */
export async function offboard(tenantId: string, input: unknown, options: OffboardOptions): Promise<OffboardResult> {
  const { reason } = parse(OffboardInput, input ?? {});
  let record = await readTenant(tenantId);
  if (!record) throw new TenantNotFound();
  if (record.status === 'OFFBOARDED' && record.offboarding?.steps.announced) {
    return { ...summary(record), purged: record.offboarding.purged ?? null };
  }
  const after = async (step: OffboardingStep) => options.afterStep?.(step);

  if (!record.offboarding) {
    if (record.status !== 'SUSPENDED' && record.status !== 'PENDING') throw new TenantNotSuspended();
    if (record.status === 'PENDING') await takeNameFromOnboarding(record, (options.now ?? Date.now)());
    const from = record.status;
    const log: OffboardingLog = { steps: { started: new Date().toISOString() }, from, actor: options.actor, ...(reason ? { reason } : {}) };
    const noMove = noMoveInProgressCondition();
    try {
      await systemDocumentClient().send(
        new UpdateCommand({
          TableName: tenantsTable(),
          Key: tenantRecordKey(tenantId),
          UpdateExpression: 'SET #offboarding = :log, updatedAt = :now',
          // Suspended (or still pending) and not moving: the data the operator exported is the data that goes.
          ConditionExpression: `#status = :from AND attribute_not_exists(#offboarding) AND ${noMove.expression}`,
          ExpressionAttributeNames: { '#offboarding': 'offboarding', '#status': 'status', ...noMove.names },
          ExpressionAttributeValues: { ':log': log, ':now': log.steps.started, ':from': from, ...noMove.values },
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') throw new TenantNotSuspended({ cause: error });
      throw error;
    }
    // biome-ignore lint/style/noNonNullAssertion: readTenant finds the record this step has just written (or read) for this tenant; only a deleted registry could make it absent.
    record = (await readTenant(tenantId))!;
    await after('started');
  }
  // biome-ignore lint/style/noNonNullAssertion: the start step above wrote the offboarding log, or an earlier run did.
  const log = record.offboarding!;
  const steps = log.steps;
  const cancelled = log.from === 'PENDING';
  // A cancelled onboarding may hold a slot its record never learned of (the attempt died between
  // taking it and recording it).
  const cellId = record.cellId ?? (cancelled ? (await Cell.findSlot(tenantId))?.cellId : undefined);
  const cell = cellId ? await Cell.get(cellId) : undefined;

  if (!steps.keyRevoked) {
    // Likewise a key it created but did not record: keys are named after the tenant.
    const apiKeyId = record.apiKeyId ?? (cancelled ? (await ApiGateway.findTenantApiKey(tenantId))?.apiKeyId : undefined);
    if (apiKeyId) await ApiGateway.deleteApiKey(apiKeyId);
    await recordStep(tenantId, 'keyRevoked');
    await after('keyRevoked');
  }

  if (!steps.usersRemoved) {
    const usernames = new Set<string>([record.adminUsername]);
    if (cell) {
      const users = tenantTableIn(cell, tenantId);
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await users.doc.send(
          new QueryCommand({
            TableName: users.tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': tenantUsersPartition(tenantId) },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of page.Items ?? []) if (typeof item.username === 'string') usernames.add(item.username);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    for (const username of usernames) {
      // Only the tenant's own users: a username could have been freed and taken by someone else.
      const user = await Identity.getUser(username);
      if (user?.tenantId !== tenantId) continue;
      await Identity.signOutEverywhere(username);
      await Identity.deleteUser(username);
    }
    await recordStep(tenantId, 'usersRemoved');
    await after('usersRemoved');
  }

  if (!steps.dataPurged) {
    let purged: OffboardingLog['purged'];
    if (cell) {
      const data = tenantTableIn(cell, tenantId);
      const before = await fingerprintTenantCellItems(data, tenantId);
      // Objects first: the items (evidence metadata) are what a resumed purge would still show.
      // Everything under the tenant's prefix goes, listed rather than derived from the items, so an
      // upload never completed (or a file whose item is gone) does not escape.
      const objects = await purgeTenantObjects(tenantBucketIn(cell, tenantId), tenantId);
      if (objects.remaining !== 0) throw new Error(`offboarding ${tenantId}: ${objects.remaining} objects left in ${cell.cellId}'s evidence bucket after the purge`);
      const { remaining } = await purgeTenantCellItems(data, tenantId);
      if (remaining !== 0) throw new Error(`offboarding ${tenantId}: ${remaining} items left in ${cell.cellId} after the purge`);
      // A resumed purge counts only what was left: keep the first attempt's figure if there is one.
      purged = log.purged ?? { cellId: cell.cellId, ...before, objects: objects.deleted };
    }
    await recordStep(tenantId, 'dataPurged', purged ? { 'offboarding.purged': purged } : {});
    await after('dataPurged');
  }

  if (!steps.slotReleased) {
    if (cellId) await Cell.releaseSlot(cellId, tenantId);
    await recordStep(tenantId, 'slotReleased');
    await after('slotReleased');
  }

  if (!steps.tombstoned) {
    // These are safe to repeat, so they come before the step is recorded. The name and the admin's
    // e-mail may be used again by a new tenant; the tombstone keeps them for the record.
    await systemDocumentClient().send(new DeleteCommand({ TableName: tenantsTable(), Key: tenantNameKey(normalizeTenantName(record.name)) }));
    await releaseAdminEmail(record.adminUsername, tenantId);
    await recordStep(tenantId, 'tombstoned', { status: 'OFFBOARDED', offboardedAt: new Date().toISOString() }, ['apiKeyId', 'apiKeyValue']);
    if (cell) await ApiGateway.flushAuthorizerCache({ apiId: cell.apiId, stage: cell.stage });
    await after('tombstoned');
  }

  if (!steps.unrouted) {
    await Routing.announceRoute({ tenantId, tier: record.tier, cellId: null, previousCellId: record.cellId, actor: log.actor });
    await recordStep(tenantId, 'unrouted');
    await after('unrouted');
  }

  // biome-ignore lint/style/noNonNullAssertion: readTenant finds the record this step has just written (or read) for this tenant; only a deleted registry could make it absent.
  record = (await readTenant(tenantId))!;
  const purged = record.offboarding?.purged ?? null;
  if (!steps.announced) {
    const startedAt = Date.parse(log.steps.started ?? record.updatedAt);
    await Audit.record(
      {
        tenantId,
        actor: log.actor,
        action: 'tenant.offboarded',
        ...(log.reason ? { reason: log.reason } : {}),
        before: { status: log.from ?? 'SUSPENDED', cellId: record.cellId ?? null },
        after: { status: 'OFFBOARDED', purgedItems: purged?.count ?? 0, checksum: purged?.checksum ?? null },
      },
      { auditId: deterministicId(startedAt, `${tenantId}#tenant.offboarded`) },
    );
    await Events.publishTenantEvent('TenantOffboarded', {
      tenantId,
      cellId: record.cellId,
      tier: record.tier,
      actor: log.actor,
      data: { purgedItems: purged?.count ?? 0 },
      idempotencyKey: `TenantOffboarded#${tenantId}`,
    });
    await recordStep(tenantId, 'announced');
    await after('announced');
    // biome-ignore lint/style/noNonNullAssertion: readTenant finds the record this step has just written (or read) for this tenant; only a deleted registry could make it absent.
    record = (await readTenant(tenantId))!;
  }
  return { ...summary(record), purged };
}
