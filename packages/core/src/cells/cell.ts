/**
 * The cell catalog: which cells exist, how tenants may be placed in them and in which deploy wave
 * they receive a release. The SST app instantiates one Cell stack per entry; the local platform
 * boots one local cell per entry.
 */
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as Events from '../events/events.js';
import { requireEnv } from '../shared/config.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import * as Audit from '../events/audit.js';
import { CellNotDeployed, CellNotFound, CellProvisioning, ConcurrentModification, NoCellCapacity } from '../shared/errors.js';
import { cellRecordKey, isCellId } from '../keys/keys.js';
import { retry } from '../shared/retry.js';
import { Reason, parse } from '../shared/validation.js';
import * as z from 'zod/mini';
import type { Placement, TierName } from '../tenancy/tiers.js';

export interface CellDefinition {
  cellId: string;
  placement: Placement;
  /** Deploy wave: 0 is the canary. */
  wave: number;
  region: string;
  /** Most tenants the cell may hold (1 for a dedicated cell). */
  capacity: number;
}

export const CELL_CATALOG: readonly CellDefinition[] = [
  { cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 200 },
  { cellId: 'cell-2', placement: 'pooled', wave: 1, region: 'us-east-1', capacity: 200 },
  // Dedicated cells, one enterprise tenant each. Placement asks for one when it finds none free
  // (`CellRequested`); the cell registers itself once deployed.
  { cellId: 'cell-d1', placement: 'dedicated', wave: 2, region: 'us-east-1', capacity: 1 },
  { cellId: 'cell-d2', placement: 'dedicated', wave: 2, region: 'us-east-1', capacity: 1 },
];

/** `provisioning`: requested from the catalog for a tenant, not deployed yet. */
export type CellStatus = 'active' | 'draining' | 'provisioning';

/** What a deploy records of a cell (its Cell stack's custom resource; locally the platform's boot): all but the live count. */
export type CellRegistration = Omit<CellRecord, 'tenantCount'>;

/** A deployed cell, as the control plane knows it (written when the cell is deployed). */
export interface CellRecord extends CellDefinition {
  status: CellStatus;
  tenantCount: number;
  /** A dedicated cell requested for one tenant: only that tenant may take its slot. */
  requestedFor?: string;
  /** The tenants holding a slot here (a DynamoDB string set; absent while the cell is empty). */
  tenants?: ReadonlySet<string>;
  /** The cell's synthetic probe tenant (releases/probe.ts), once it has one: pinned here, holding no slot. */
  probeTenantId?: string;
  /** How many probe tenants of this cell were retired (offboarded): names the next one's onboarding. */
  probeGeneration?: number;
  tableName: string;
  apiId: string;
  stage: string;
  /** The cell's tenant access role: control-plane work on one tenant's data assumes it, tagged. */
  tenantRoleArn: string;
  /** The cell's evidence bucket (DESIGN §11): each tenant's objects under `tenant=<id>/`, reached only through tenant sessions. */
  evidenceBucket: string;
  /** Usage plan id per tier on this cell's API. */
  usagePlans: Record<TierName, string>;
  /** The release the cell runs, and the one it ran before (DESIGN §9); absent until a release is recorded. */
  release?: CellRelease;
}

export interface CellRelease {
  releaseId: string;
  previousReleaseId: string | null;
  since: string;
}

function table(): string {
  return requireEnv('CELLS_TABLE');
}

/**
 * Records a deployed cell; keeps its tenant count if it is already registered. The deploy step
 * (a custom resource in AWS, the platform boot locally) passes its own client and table.
 *
 * Registering a cell `active` makes a new or `provisioning` cell placeable, but never re-opens a
 * cell an operator is draining: a redeploy of a draining cell keeps it draining. Registering it
 * `draining` (its stack is being deleted) always applies.
 */
export async function register(
  record: CellRegistration,
  target: { db: DynamoDBDocumentClient; tableName: string } = { db: systemDocumentClient(), tableName: table() },
): Promise<void> {
  const write = (withStatus: boolean) => {
    const fields = [
      'cellId',
      'placement',
      'wave',
      'region',
      'capacity',
      'tableName',
      'apiId',
      'stage',
      'tenantRoleArn',
      'evidenceBucket',
      'usagePlans',
      ...(withStatus ? ['status'] : []),
    ];
    const onlyIfPlaceable = withStatus && record.status === 'active';
    return target.db.send(
      new UpdateCommand({
        TableName: target.tableName,
        Key: cellRecordKey(record.cellId),
        // Every attribute goes through a placeholder: several names here are DynamoDB reserved words.
        UpdateExpression: `SET ${fields.map((name) => `#${name} = :${name}`).join(', ')}, #tenantCount = if_not_exists(#tenantCount, :zero)`,
        ...(onlyIfPlaceable ? { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :draining' } : {}),
        ExpressionAttributeNames: Object.fromEntries([...fields, 'tenantCount', ...(onlyIfPlaceable ? ['status'] : [])].map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: {
          ...Object.fromEntries(fields.map((name) => [`:${name}`, record[name as keyof typeof record]])),
          ':zero': 0,
          ...(onlyIfPlaceable ? { ':draining': 'draining' } : {}),
        },
      }),
    );
  };
  try {
    await write(true);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    // Draining: keep that, refresh the rest of the wiring.
    await write(false);
  }
}

/**
 * Records the release a cell now runs (a deploy or a rollback finished), keeping the one it ran
 * before. The deploy step of the platform and the release orchestrator call it; it never creates a
 * cell entry.
 */
export async function recordRelease(
  cellId: string,
  release: CellRelease,
  target: { db: DynamoDBDocumentClient; tableName: string } = { db: systemDocumentClient(), tableName: table() },
): Promise<void> {
  await target.db.send(
    new UpdateCommand({
      TableName: target.tableName,
      Key: cellRecordKey(cellId),
      UpdateExpression: 'SET #release = :release',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#release': 'release' },
      ExpressionAttributeValues: { ':release': release },
    }),
  );
}

function toRecord(item: Record<string, unknown>): CellRecord {
  const { PK: _pk, SK: _sk, pendingAudit: _pendingAudit, ...record } = item;
  return record as unknown as CellRecord;
}

/** Every cell, ordered by wave then id. The catalog is small (tens of cells), so a Scan is fine. */
export async function list(): Promise<CellRecord[]> {
  const items: CellRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await systemDocumentClient().send(new ScanCommand({ TableName: table(), ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    items.push(...(page.Items ?? []).map(toRecord));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items.sort((a, b) => a.wave - b.wave || a.cellId.localeCompare(b.cellId));
}

export async function get(cellId: string): Promise<CellRecord | undefined> {
  const { Item } = await systemDocumentClient().send(new GetCommand({ TableName: table(), Key: cellRecordKey(cellId) }));
  return Item ? toRecord(Item) : undefined;
}

/**
 * Places a tenant: the least-loaded active cell of the placement kind that still has headroom.
 * The slot is taken with one conditional write that both counts it and names the tenant holding
 * it, so concurrent onboardings can never push a cell past its capacity, and a retry after a crash
 * finds the slot it already holds instead of taking a second one. A lost race moves on to the next
 * candidate.
 */
export async function reserveSlot(placement: Placement, tenantId: string, options: { excluding?: string } = {}): Promise<CellRecord> {
  const cells = (await list()).filter((cell) => cell.cellId !== options.excluding);
  const held = cells.find((cell) => holds(cell, tenantId));
  if (held) return held;
  const candidates = cells
    .filter((cell) => cell.placement === placement && cell.status === 'active' && cell.tenantCount < cell.capacity)
    .filter((cell) => cell.requestedFor === undefined || cell.requestedFor === tenantId)
    .sort((a, b) => a.tenantCount / a.capacity - b.tenantCount / b.capacity || a.cellId.localeCompare(b.cellId));
  for (const cell of candidates) {
    try {
      return await takeSlot(cell.cellId, tenantId);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
  if (placement === 'dedicated') await requestDedicatedCell(cells, tenantId);
  throw new NoCellCapacity(`No ${placement} cell has room for another tenant.`);
}

/** The one conditional write that takes a slot: active, under capacity, not already held, not promised to another tenant. */
async function takeSlot(cellId: string, tenantId: string): Promise<CellRecord> {
  const { Attributes } = await systemDocumentClient().send(
    new UpdateCommand({
      TableName: table(),
      Key: cellRecordKey(cellId),
      UpdateExpression: 'ADD #tenantCount :one, #tenants :tenant',
      ConditionExpression:
        'attribute_exists(PK) AND #status = :active AND #tenantCount < #capacity AND NOT contains(#tenants, :tenantId) AND (attribute_not_exists(#requestedFor) OR #requestedFor = :tenantId)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#tenantCount': 'tenantCount',
        '#capacity': 'capacity',
        '#tenants': 'tenants',
        '#requestedFor': 'requestedFor',
      },
      ExpressionAttributeValues: { ':one': 1, ':active': 'active', ':tenant': new Set([tenantId]), ':tenantId': tenantId },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return toRecord(Attributes ?? {});
}

/**
 * How long placement waits for a dedicated cell it asked for. Past it, the caller gets 503
 * `CELL_PROVISIONING` (Retry-After), and a retry resumes where it stopped.
 */
export const CELL_PROVISIONING_WAIT_MS = 8_000;

/** `reserveSlot`, waiting (bounded) while a requested dedicated cell is being created. */
export async function placeTenant(placement: Placement, tenantId: string, options: { excluding?: string } = {}): Promise<CellRecord> {
  // No jitter: a poll for a cell being created, where no other caller's timing matters.
  return retry(() => reserveSlot(placement, tenantId, options), {
    retryable: (error) => error instanceof CellProvisioning,
    deadline: Date.now() + CELL_PROVISIONING_WAIT_MS,
    baseDelayMs: 100,
    maxDelayMs: 2_000,
    jitter: 'none',
  });
}

/**
 * No dedicated cell is free: take the next catalogued one that is not deployed yet, promise it to
 * the tenant (`provisioning`), and ask for it to be created. Throws `CellProvisioning` (retry
 * later) once a cell is on its way, for this request or an earlier one for the same tenant.
 */
async function requestDedicatedCell(cells: readonly CellRecord[], tenantId: string): Promise<void> {
  const pending = cells.find((cell) => cell.status === 'provisioning' && cell.requestedFor === tenantId);
  let requested = pending;
  if (!requested) {
    const known = new Set(cells.map((cell) => cell.cellId));
    for (const definition of CELL_CATALOG.filter((cell) => cell.placement === 'dedicated' && !known.has(cell.cellId))) {
      const record = { ...definition, status: 'provisioning' as const, requestedFor: tenantId, tenantCount: 0 };
      try {
        await systemDocumentClient().send(
          new PutCommand({ TableName: table(), Item: { ...cellRecordKey(definition.cellId), ...record }, ConditionExpression: 'attribute_not_exists(PK)' }),
        );
        requested = record as unknown as CellRecord;
        break;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }
  if (!requested) return;
  // Asking again is harmless: the provisioner creates a cell once, and its registration is idempotent.
  await Events.publishTenantEvent('CellRequested', {
    tenantId,
    cellId: requested.cellId,
    tier: 'enterprise',
    actor: 'placement',
    data: { cellId: requested.cellId, placement: requested.placement, wave: requested.wave, region: requested.region, capacity: requested.capacity },
    idempotencyKey: `CellRequested#${requested.cellId}#${tenantId}`,
  });
  throw new CellProvisioning(`Dedicated cell ${requested.cellId} is being created for this tenant; retry shortly.`);
}

/**
 * Pins a cell's synthetic probe tenant to it: the cell records it as `probeTenantId`, and neither
 * its count nor its slots change, so the probe takes no customer's place (a dedicated cell's one
 * slot stays its enterprise tenant's). One conditional write: a deployed cell (active or
 * draining: a draining cell still receives releases), with no probe or this one, so repeating it
 * is harmless and no cell ever has two probes.
 */
export async function pinProbeTenant(cellId: string, tenantId: string): Promise<CellRecord> {
  try {
    const { Attributes } = await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(cellId),
        UpdateExpression: 'SET #probeTenantId = :tenantId',
        ConditionExpression: 'attribute_exists(PK) AND #status <> :provisioning AND (attribute_not_exists(#probeTenantId) OR #probeTenantId = :tenantId)',
        ExpressionAttributeNames: { '#probeTenantId': 'probeTenantId', '#status': 'status' },
        ExpressionAttributeValues: { ':tenantId': tenantId, ':provisioning': 'provisioning' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toRecord(Attributes ?? {});
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const cell = await get(cellId);
    if (!cell) throw new CellNotFound({ cause: error });
    if (cell.status === 'provisioning') throw new CellNotDeployed({ cause: error });
    throw new Error(`cell ${cellId} already has probe tenant ${cell.probeTenantId}, not ${tenantId}`, { cause: error });
  }
}

/**
 * Retires the cell's probe of `generation` (it was offboarded): the cell forgets it and counts the
 * next generation. Conditional on the generation, so of several callers that found the same retired
 * probe exactly one moves the cell on; the others change nothing.
 */
export async function retireProbeTenant(cellId: string, generation: number): Promise<void> {
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(cellId),
        UpdateExpression: 'SET #probeGeneration = :next REMOVE #probeTenantId',
        ConditionExpression: generation === 0 ? 'attribute_exists(PK) AND attribute_not_exists(#probeGeneration)' : '#probeGeneration = :generation',
        ExpressionAttributeNames: { '#probeGeneration': 'probeGeneration', '#probeTenantId': 'probeTenantId' },
        ExpressionAttributeValues: { ':next': generation + 1, ...(generation === 0 ? {} : { ':generation': generation }) },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * Takes a slot for the tenant in one given cell (the target of a move), under the same capacity
 * condition as placement. Holding it already is fine.
 */
export async function reserveSlotIn(cellId: string, tenantId: string): Promise<CellRecord> {
  try {
    return await takeSlot(cellId, tenantId);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const cell = await get(cellId);
  if (!cell) throw new CellNotFound();
  if (holds(cell, tenantId)) return cell;
  throw new NoCellCapacity(cell.status === 'active' ? `${cellId} has no room for another tenant.` : `${cellId} is draining and takes no new tenants.`);
}

function holds(cell: CellRecord, tenantId: string): boolean {
  return cell.tenants?.has(tenantId) ?? false;
}

/** The cell whose slot the tenant holds, if any. */
export async function findSlot(tenantId: string): Promise<CellRecord | undefined> {
  return (await list()).find((cell) => holds(cell, tenantId));
}

/**
 * Gives back the tenant's slot in a cell (an undone onboarding, a tenant that moved away or was
 * offboarded). Releasing a slot the tenant does not hold changes nothing, so it is safe to repeat.
 */
export async function releaseSlot(cellId: string, tenantId: string): Promise<void> {
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(cellId),
        // A dedicated cell promised to this tenant is free for the next one.
        UpdateExpression: 'ADD #tenantCount :minusOne DELETE #tenants :tenant REMOVE #requestedFor',
        ConditionExpression: 'contains(#tenants, :tenantId)',
        ExpressionAttributeNames: { '#tenantCount': 'tenantCount', '#tenants': 'tenants', '#requestedFor': 'requestedFor' },
        ExpressionAttributeValues: { ':minusOne': -1, ':tenant': new Set([tenantId]), ':tenantId': tenantId },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** What an operator may change on a deployed cell; the cell itself comes from its stack. */
export const UpdateInput = z
  .strictObject({
    cellId: z.string().check(z.refine(isCellId, 'cellId must be a catalogued cell id')),
    capacity: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(100_000))),
    status: z.optional(z.enum(['active', 'draining'])),
    wave: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(100))),
    reason: z.optional(Reason),
  })
  .check(z.refine((input) => input.capacity !== undefined || input.status !== undefined || input.wave !== undefined, 'Provide capacity, status and/or wave'));

type CellSettings = Pick<CellRecord, 'capacity' | 'status' | 'wave'>;
const SETTINGS = ['capacity', 'status', 'wave'] as const;

export interface CellChangeOptions {
  /** Who asks: the operator's username (or `system`). */
  actor: string;
  /** Crash drills: runs after the change is stored, before its audit record is written. */
  afterChange?: () => Promise<void> | void;
}

/** How many times a change may lose the race for the cell (it changed between read and write) before it gives up. */
const CHANGE_ATTEMPTS = 8;
/** The longest wait after the first lost race; it doubles with each one after. */
const CHANGE_RETRY_DELAY_MS = 40;

/**
 * Changes a deployed cell's placement settings: capacity, deploy wave, or `draining` (placement
 * stops choosing it; its tenants stay). Lowering capacity below the current load is allowed — the
 * cell simply takes no new tenants until it is under capacity again. Audited in the cell's trail.
 */
export async function update(input: unknown, options: CellChangeOptions): Promise<CellRecord> {
  const { cellId, reason, ...settings } = parse(UpdateInput, input);
  return (await changeSettings(cellId, settings, { ...options, action: 'cell.updated', ...(reason ? { reason } : {}) })).record;
}

/**
 * Marks a cell draining (no new tenants), audited as the start of a drain; `started` is false when
 * the cell was draining already (nothing changed, nothing recorded).
 */
export async function startDrain(cellId: string, options: CellChangeOptions & { reason?: string }): Promise<{ cell: CellRecord; started: boolean }> {
  const { record, changed } = await changeSettings(cellId, { status: 'draining' }, { ...options, action: 'cell.drain-started' });
  return { cell: record, started: changed };
}

/**
 * A change and its audit record land together, with no transaction: the record rides on the
 * catalog item in the same conditional write as the change (`pendingAudit`), is then written to
 * the cell's trail (idempotently, by its id) and taken off the item. A change whose function died
 * in between keeps its record on the item: the next change of the cell writes it first, and the
 * trail lists it meanwhile. The write also checks that the settings it replaces are the ones it
 * read, so each record's `before` is exact under concurrent changes — and a change that another
 * request has already made (the same settings) is then a repeat that records nothing.
 */
async function changeSettings(
  cellId: string,
  settings: Partial<CellSettings>,
  options: CellChangeOptions & { action: string; reason?: string },
): Promise<{ record: CellRecord; changed: boolean }> {
  let written: ChangeAttempt;
  try {
    // Only lost conditional writes count: settling another change's record is progress, not a retry.
    written = await retry(() => tryChangeSettings(cellId, settings, options), {
      retryable: isConditionalCheckFailed,
      maxAttempts: CHANGE_ATTEMPTS,
      baseDelayMs: CHANGE_RETRY_DELAY_MS,
    });
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new ConcurrentModification('The cell is being changed by another request; read it again and retry.', { cause: error });
    throw error;
  }
  if ('unchanged' in written) return { record: written.unchanged, changed: false };
  await options.afterChange?.();
  await settleAudit(written.audit);
  return { record: toRecord(written.stored), changed: true };
}

/** What one attempt at a change ends with: nothing to change, or the change stored with its pending record. */
type ChangeAttempt = { unchanged: CellRecord } | { stored: Record<string, unknown>; audit: Audit.CellAuditRecord };

/** Reads the cell (settling a record a dead change left on it) and writes the change on what it read. */
async function tryChangeSettings(cellId: string, settings: Partial<CellSettings>, options: CellChangeOptions & { action: string; reason?: string }): Promise<ChangeAttempt> {
  let current = await readCellItem(cellId);
  for (let pending = current && pendingAuditOf(current); pending; pending = current && pendingAuditOf(current)) {
    await settleAudit(pending);
    current = await readCellItem(cellId);
  }
  if (!current) throw new CellNotFound();
  if (current.status === 'provisioning') throw new CellNotDeployed();
  const changed = SETTINGS.filter((field) => settings[field] !== undefined && settings[field] !== current[field]);
  // Settings the cell already has: nothing changes, nothing is recorded.
  if (changed.length === 0) return { unchanged: toRecord(current) };
  const audit = Audit.cellRecordOf({
    cellId,
    actor: options.actor,
    action: options.action,
    ...(options.reason ? { reason: options.reason } : {}),
    tenants: [...((current.tenants as ReadonlySet<string> | undefined) ?? [])].sort(),
    before: Object.fromEntries(changed.map((field) => [field, current[field]])),
    after: Object.fromEntries(changed.map((field) => [field, settings[field]])),
  });
  const names: Record<string, string> = { '#pendingAudit': 'pendingAudit', '#status': 'status' };
  const values: Record<string, unknown> = { ':pendingAudit': audit, ':provisioning': 'provisioning' };
  const sets = ['#pendingAudit = :pendingAudit'];
  const conditions = ['attribute_exists(PK)', 'attribute_not_exists(#pendingAudit)', '#status <> :provisioning'];
  for (const field of changed) {
    names[`#${field}`] = field;
    values[`:${field}`] = settings[field];
    sets.push(`#${field} = :${field}`);
    if (current[field] === undefined) {
      conditions.push(`attribute_not_exists(#${field})`);
    } else {
      values[`:was_${field}`] = current[field];
      conditions.push(`#${field} = :was_${field}`);
    }
  }
  const { Attributes } = await systemDocumentClient().send(
    new UpdateCommand({
      TableName: table(),
      Key: cellRecordKey(cellId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return { stored: Attributes ?? {}, audit };
}

async function readCellItem(cellId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await systemDocumentClient().send(new GetCommand({ TableName: table(), Key: cellRecordKey(cellId), ConsistentRead: true }));
  return Item;
}

function pendingAuditOf(item: Record<string, unknown>): Audit.CellAuditRecord | undefined {
  return item.pendingAudit as Audit.CellAuditRecord | undefined;
}

/** Writes a change's audit record to the cell's trail, then takes it off the catalog item. */
async function settleAudit(audit: Audit.CellAuditRecord): Promise<void> {
  await Audit.writeCellRecord(audit);
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(audit.cellId),
        UpdateExpression: 'REMOVE #pendingAudit',
        ConditionExpression: '#pendingAudit.#auditId = :auditId',
        ExpressionAttributeNames: { '#pendingAudit': 'pendingAudit', '#auditId': 'auditId' },
        ExpressionAttributeValues: { ':auditId': audit.auditId },
      }),
    );
  } catch (error) {
    // Someone else settled it already.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * A cell's audit trail, oldest first, paginated like a tenant's. A change whose record is still
 * on the catalog item (its function died before writing it) is listed last.
 */
export async function auditTrail(cellId: string, input: unknown): Promise<{ items: Audit.CellAuditRecord[]; nextCursor: string | null }> {
  const item = isCellId(cellId) ? await readCellItem(cellId) : undefined;
  if (!item) throw new CellNotFound();
  const page = await Audit.listCell(cellId, input);
  const pending = pendingAuditOf(item);
  if (pending && page.nextCursor === null && !page.items.some((record) => record.auditId === pending.auditId)) {
    return { items: [...page.items, pending], nextCursor: null };
  }
  return page;
}
