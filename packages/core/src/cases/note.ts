import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { CaseId, assertExists } from './case.js';
import { meter } from '../metering/meter.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { requireFeature } from '../tenancy/entitlements.js';
import { newId } from '../shared/ids.js';
import { NOTE_SORT_PREFIX, caseKey, isUlidSortKey, noteKey } from '../keys/keys.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { PageLimit, parse } from '../shared/validation.js';

export interface NoteView {
  noteId: string;
  caseId: string;
  body: string;
  author: string;
  createdAt: string;
}

export const AddInput = z.strictObject({
  body: z.string().check(z.trim(), z.minLength(1, 'Note body must not be empty'), z.maxLength(10_000, 'Note body must be at most 10000 characters')),
});

/** Appends a note to one of the current tenant's cases. */
export async function add(caseId: unknown, input: unknown): Promise<NoteView> {
  requireFeature('notes');
  const id = parse(CaseId, caseId, 'caseId');
  const { body } = parse(AddInput, input);
  await assertExists(id);
  const { tenantId, username } = useTenant();
  const noteId = newId();
  const note: NoteView = { noteId, caseId: id, body, author: username, createdAt: new Date().toISOString() };
  const { doc, tableName } = tenantTable();
  await fencedWrite(() =>
    doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...noteKey(tenantId, id, noteId), type: 'note', tenantId, ...note },
        ConditionExpression: 'attribute_not_exists(SK)',
      }),
    ),
  );
  meter('notesCreated', 1);
  return note;
}

export const ListInput = z.strictObject({
  limit: PageLimit(100, 50, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
});

export async function list(caseId: unknown, input: unknown): Promise<{ items: NoteView[]; nextCursor: string | null }> {
  requireFeature('notes');
  const id = parse(CaseId, caseId, 'caseId');
  const { limit, cursor } = parse(ListInput, input);
  await assertExists(id);
  const { tenantId } = useTenant();
  const partition = caseKey(tenantId, id).PK;
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK'],
    accept: (key) => key.PK === partition && isUlidSortKey(key.SK, NOTE_SORT_PREFIX),
  });
  const { doc, tableName } = tenantTable();
  const result = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :notes)',
      ExpressionAttributeValues: { ':pk': partition, ':notes': NOTE_SORT_PREFIX },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map(({ noteId, caseId: owner, body, author, createdAt }) => ({
      noteId,
      caseId: owner,
      body,
      author,
      createdAt,
    })) as NoteView[],
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}
