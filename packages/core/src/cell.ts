import { GetCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from './config.js';
import { isConditionalCheckFailed, systemDocumentClient } from './dynamo.js';
import { CellNotFound, NoCellCapacity } from './errors.js';
import { cellRecordKey, isCellId } from './keys.js';
import { parse } from './validation.js';
import { z } from 'zod';
import type { Placement, TierName } from './tiers.js';

/**
 * The cell catalog: which cells exist, how tenants may be placed in them and in which deploy wave
 * they receive a release. The SST app instantiates one Cell stack per entry; the local platform
 * boots one local cell per entry.
 */
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
];

export type CellStatus = 'active' | 'draining';

/** A deployed cell, as the control plane knows it (written when the cell is deployed). */
export interface CellRecord extends CellDefinition {
  status: CellStatus;
  tenantCount: number;
  tableName: string;
  apiId: string;
  stage: string;
  /** Usage plan id per tier on this cell's API. */
  usagePlans: Record<TierName, string>;
}

function table(): string {
  return requireEnv('CELLS_TABLE');
}

/**
 * Records a deployed cell; keeps its tenant count if it is already registered. The deploy step
 * (a custom resource in AWS, the platform boot locally) passes its own client and table.
 */
export async function register(
  record: Omit<CellRecord, 'tenantCount'>,
  target: { db: DynamoDBDocumentClient; tableName: string } = { db: systemDocumentClient(), tableName: table() },
): Promise<void> {
  await target.db.send(
    new UpdateCommand({
      TableName: target.tableName,
      Key: cellRecordKey(record.cellId),
      // Every attribute goes through a placeholder: several names here are DynamoDB reserved words.
      UpdateExpression:
        'SET #cellId = :cellId, #placement = :placement, #wave = :wave, #region = :region, #capacity = :capacity, #status = :status, #tableName = :tableName, #apiId = :apiId, #stage = :stage, #usagePlans = :usagePlans, #tenantCount = if_not_exists(#tenantCount, :zero)',
      ExpressionAttributeNames: Object.fromEntries(
        ['cellId', 'placement', 'wave', 'region', 'capacity', 'status', 'tableName', 'apiId', 'stage', 'usagePlans', 'tenantCount'].map(
          (name) => [`#${name}`, name],
        ),
      ),
      ExpressionAttributeValues: {
        ':cellId': record.cellId,
        ':placement': record.placement,
        ':wave': record.wave,
        ':region': record.region,
        ':capacity': record.capacity,
        ':status': record.status,
        ':tableName': record.tableName,
        ':apiId': record.apiId,
        ':stage': record.stage,
        ':usagePlans': record.usagePlans,
        ':zero': 0,
      },
    }),
  );
}

function toRecord(item: Record<string, unknown>): CellRecord {
  const { PK: _pk, SK: _sk, ...record } = item;
  return record as unknown as CellRecord;
}

/** Every cell, ordered by wave then id. The catalog is small (tens of cells), so a Scan is fine. */
export async function list(): Promise<CellRecord[]> {
  const items: CellRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await systemDocumentClient().send(
      new ScanCommand({ TableName: table(), ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
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
 * The slot is taken with a conditional increment, so concurrent onboardings can never push a
 * cell past its capacity; a lost race simply moves on to the next candidate.
 */
export async function reserveSlot(placement: Placement): Promise<CellRecord> {
  const candidates = (await list())
    .filter((cell) => cell.placement === placement && cell.status === 'active' && cell.tenantCount < cell.capacity)
    .sort((a, b) => a.tenantCount / a.capacity - b.tenantCount / b.capacity || a.cellId.localeCompare(b.cellId));
  for (const cell of candidates) {
    try {
      const { Attributes } = await systemDocumentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: cellRecordKey(cell.cellId),
          UpdateExpression: 'ADD #tenantCount :one',
          ConditionExpression: '#status = :active AND #tenantCount < #capacity',
          ExpressionAttributeNames: { '#status': 'status', '#tenantCount': 'tenantCount', '#capacity': 'capacity' },
          ExpressionAttributeValues: { ':one': 1, ':active': 'active' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
  throw new NoCellCapacity(`No ${placement} cell has room for another tenant.`);
}

/** Gives back a slot taken by `reserveSlot` (an onboarding that was undone). */
export async function releaseSlot(cellId: string): Promise<void> {
  try {
    await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(cellId),
        UpdateExpression: 'ADD #tenantCount :minusOne',
        ConditionExpression: '#tenantCount > :zero',
        ExpressionAttributeNames: { '#tenantCount': 'tenantCount' },
        ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** What an operator may change on a deployed cell; the cell itself comes from its stack. */
export const UpdateInput = z
  .strictObject({
    cellId: z.string().refine(isCellId, 'cellId must be a catalogued cell id'),
    capacity: z.number().int().min(0).max(100_000).optional(),
    status: z.enum(['active', 'draining']).optional(),
    wave: z.number().int().min(0).max(100).optional(),
  })
  .refine((input) => input.capacity !== undefined || input.status !== undefined || input.wave !== undefined, 'Provide capacity, status and/or wave');

/**
 * Changes a deployed cell's placement settings: capacity, deploy wave, or `draining` (placement
 * stops choosing it; its tenants stay). Lowering capacity below the current load is allowed — the
 * cell simply takes no new tenants until it is under capacity again.
 */
export async function update(input: unknown): Promise<CellRecord> {
  const change = parse(UpdateInput, input);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  for (const field of ['capacity', 'status', 'wave'] as const) {
    if (change[field] === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = change[field];
    sets.push(`#${field} = :${field}`);
  }
  try {
    const { Attributes } = await systemDocumentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cellRecordKey(change.cellId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toRecord(Attributes ?? {});
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new CellNotFound();
    throw error;
  }
}
