import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { CASE_STATUSES, allowedTransitions, canTransition, isActive, type CaseStatus } from './case-status.js';
import * as Aggregates from '../analytics/aggregates.js';
import * as Counters from '../tenancy/counters.js';
import { decodeCursor, encodeCursor, type PageKey } from '../shared/cursor.js';
import { isTransactionConditionFailed } from '../shared/dynamo.js';
import { currentEntitlements, requireFeature } from '../tenancy/entitlements.js';
import { AssigneeNotFound, CaseNotFound, ConcurrentModification, InvalidStatusTransition } from '../shared/errors.js';
import { meter } from '../metering/meter.js';
import { newId } from '../shared/ids.js';
import { ownCaseListingEntries } from '../keys/index-guard.js';
import { caseKey, caseListingKey, caseListingPartition, caseListingStatusPrefix, isUlid, caseOfListingPageKey, tenantUserKey } from '../keys/keys.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { PageLimit, parse } from '../shared/validation.js';

export const Priority = z.enum(['low', 'medium', 'high', 'urgent']);
export const Status = z.enum(CASE_STATUSES);

const Title = z.string().check(z.trim(), z.minLength(1, 'Title must not be empty'), z.maxLength(200, 'Title must be at most 200 characters'));
const Description = z.string().check(z.maxLength(10_000, 'Description must be at most 10000 characters'));
const Assignee = z.email('Assignee must be the email of a user of this tenant').check(z.maxLength(254), z.toLowerCase());

export interface CaseView {
  caseId: string;
  title: string;
  description: string;
  priority: z.infer<typeof Priority>;
  status: CaseStatus;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CaseItem extends CaseView {
  PK: string;
  SK: string;
  GSI1PK: string;
  GSI1SK: string;
  type: 'case';
  tenantId: string;
  createdBy: string;
  version: number;
}

function view(item: CaseItem): CaseView {
  const { caseId, title, description, priority, status, assignee, createdAt, updatedAt } = item;
  return { caseId, title, description, priority, status, assignee, createdAt, updatedAt };
}

/** Ids arrive in paths; anything that is not a case id is rejected before any key is built. */
export const CaseId = z.string().check(z.refine(isUlid, 'caseId must be a 26-character case id'));

export const CreateInput = z.strictObject({
  title: Title,
  description: z.optional(Description),
  priority: Priority,
});
export type CreateInput = z.infer<typeof CreateInput>;

/** The stored form of a case as it is at `updatedAt` (by default its creation), in its status's place in the listing. */
export function caseItem(
  tenantId: string,
  createdBy: string,
  fields: Pick<CaseView, 'caseId' | 'title' | 'description' | 'priority' | 'status' | 'createdAt'> & { updatedAt?: string; version?: number },
): CaseItem {
  const { caseId, status, createdAt, updatedAt = createdAt, version = 1 } = fields;
  return {
    ...caseKey(tenantId, caseId),
    ...caseListingKey(tenantId, status, createdAt, caseId),
    type: 'case',
    tenantId,
    caseId,
    title: fields.title,
    description: fields.description,
    priority: fields.priority,
    status,
    assignee: null,
    createdAt,
    updatedAt,
    createdBy,
    version,
  };
}

/** Opens a case for the current tenant, within the plan's `max active cases`. */
export async function create(input: unknown): Promise<CaseView> {
  requireFeature('cases');
  const { title, description = '', priority } = parse(CreateInput, input);
  const { tenantId, username } = useTenant();
  const { doc, tableName } = tenantTable();
  const item = caseItem(tenantId, username, { caseId: newId(), title, description, priority, status: 'OPEN', createdAt: new Date().toISOString() });
  await fencedWrite(async () => {
    await Counters.reserve('activeCases', currentEntitlements().limits.maxActiveCases);
    try {
      // The case and the analytics it changes, all or nothing (analytics/aggregates.ts says why).
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } }, ...Aggregates.onCreate(tableName, tenantId, item)],
        }),
      );
    } catch (error) {
      await Counters.release('activeCases');
      throw error;
    }
  });
  meter('casesCreated', 1);
  return view(item);
}

async function load(caseId: string): Promise<CaseItem> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: caseKey(useTenant().tenantId, caseId), ConsistentRead: true }));
  if (!Item) throw new CaseNotFound();
  return Item as CaseItem;
}

/** The current tenant's case; another tenant's id is indistinguishable from a missing one. */
export async function get(caseId: unknown): Promise<CaseView> {
  requireFeature('cases');
  return view(await load(parse(CaseId, caseId, 'caseId')));
}

/** Throws `CaseNotFound` unless the current tenant has this case. */
export async function assertExists(caseId: string): Promise<void> {
  await load(caseId);
}

export const ListInput = z.strictObject({
  status: z.optional(Status),
  limit: PageLimit(100, 20, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
});
export type ListInput = z.input<typeof ListInput>;

export interface CasePage {
  items: CaseView[];
  nextCursor: string | null;
}

/** Open work first, oldest first within a status; `status` narrows to one status. */
export async function list(input: unknown): Promise<CasePage> {
  requireFeature('cases');
  const { status, limit, cursor } = parse(ListInput, input);
  const { tenantId } = useTenant();
  const partition = caseListingPartition(tenantId);
  const statusPrefix = status ? caseListingStatusPrefix(status) : undefined;
  const cursorKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK'],
    accept: (key) => caseOfListingPageKey(tenantId, key, status) !== undefined,
  });
  const { doc, tableName } = tenantTable();
  const read = { tenantId, index: 'GSI1', partition, reader: 'case.list' };
  const items: CaseView[] = [];
  // The cursor is always the key of the last case handed out — never of an entry the index guard
  // dropped — so no other tenant's key can reach a client, and the next page starts right after.
  let last: PageKey | undefined;
  let startKey: Record<string, unknown> | undefined = cursorKey;
  do {
    const result = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: statusPrefix ? 'GSI1PK = :pk AND begins_with(GSI1SK, :status)' : 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': partition, ...(statusPrefix ? { ':status': statusPrefix } : {}) },
        Limit: limit - items.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const entry of ownCaseListingEntries(read, result.Items ?? [])) {
      const item = entry as CaseItem;
      items.push(view(item));
      last = { PK: item.PK, SK: item.SK, GSI1PK: partition, GSI1SK: item.GSI1SK };
    }
    startKey = result.LastEvaluatedKey;
    // A page of dropped entries only: read on, so a listing is never cut short by what it hides.
  } while (startKey && items.length < limit);
  return { items, nextCursor: startKey && last ? encodeCursor(last) : null };
}

export const UpdateInput = z
  .strictObject({
    status: z.optional(Status),
    title: z.optional(Title),
    priority: z.optional(Priority),
    assignee: z.optional(z.nullable(Assignee)),
  })
  .check(z.refine((input) => Object.values(input).some((value) => value !== undefined), 'Provide at least one field to change'));
export type UpdateInput = z.infer<typeof UpdateInput>;

async function assertAssignable(username: string): Promise<void> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantUserKey(useTenant().tenantId, username) }));
  if (!Item) throw new AssigneeNotFound();
}

/**
 * Changes a case. Status moves follow the status machine; reopening a CLOSED case counts against
 * `max active cases` again. The write is conditional on the version read, so two concurrent
 * updates can never both apply on stale state.
 */
export async function update(caseId: unknown, input: unknown): Promise<CaseView> {
  requireFeature('cases');
  const id = parse(CaseId, caseId, 'caseId');
  const changes = parse(UpdateInput, input);
  const current = await load(id);
  const { tenantId } = useTenant();
  const target = changes.status ?? current.status;
  if (target !== current.status && !canTransition(current.status, target)) {
    const allowed = allowedTransitions(current.status).join(', ');
    throw new InvalidStatusTransition(`A ${current.status} case cannot move to ${target}; allowed: ${allowed}.`);
  }
  if (changes.assignee) await assertAssignable(changes.assignee);

  const next: CaseItem = {
    ...current,
    ...(changes.title !== undefined ? { title: changes.title } : {}),
    ...(changes.priority !== undefined ? { priority: changes.priority } : {}),
    ...(changes.assignee !== undefined ? { assignee: changes.assignee } : {}),
    status: target,
    ...caseListingKey(tenantId, target, current.createdAt, current.caseId),
    updatedAt: new Date().toISOString(),
    version: current.version + 1,
  };
  const reactivating = !isActive(current.status) && isActive(target);
  const deactivating = isActive(current.status) && !isActive(target);
  await fencedWrite(() => write(current, next, reactivating, deactivating));
  return view(next);
}

async function write(current: CaseItem, next: CaseItem, reactivating: boolean, deactivating: boolean): Promise<void> {
  const { tenantId } = useTenant();
  if (reactivating) await Counters.reserve('activeCases', currentEntitlements().limits.maxActiveCases);

  const { doc, tableName } = tenantTable();
  try {
    // The change and the analytics it moves, all or nothing: the version condition refuses a stale
    // or repeated change, and with it its counts, so a status change is counted exactly once.
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: caseKey(tenantId, current.caseId),
              UpdateExpression: 'SET title = :title, priority = :priority, assignee = :assignee, #status = :status, GSI1SK = :gsi1sk, updatedAt = :updatedAt, version = :next',
              ConditionExpression: 'version = :expected',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':title': next.title,
                ':priority': next.priority,
                ':assignee': next.assignee,
                ':status': next.status,
                ':gsi1sk': next.GSI1SK,
                ':updatedAt': next.updatedAt,
                ':next': next.version,
                ':expected': current.version,
              },
            },
          },
          ...Aggregates.onChange(tableName, tenantId, current, next, next.updatedAt),
        ],
      }),
    );
  } catch (error) {
    if (reactivating) await Counters.release('activeCases');
    if (isTransactionConditionFailed(error, 0)) throw new ConcurrentModification(undefined, { cause: error });
    throw error;
  }
  if (deactivating) await Counters.release('activeCases');
}
