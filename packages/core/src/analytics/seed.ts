/**
 * For benchmarks (`npm run bench`): gives the current tenant a history of cases in bulk, with
 * BatchWriteItem through the tenant session instead of one transaction per create and change —
 * the case items as they end up, exactly the aggregates the write path (aggregates.ts) would have
 * kept for the same history, and the active-cases counter. For a tenant with no cases yet: the
 * aggregates are written as totals, replacing whatever was there.
 */
import { BatchWriteCommand, type BatchWriteWriteRequest, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type CaseStatus, canTransition, isActive } from '../cases/case-status.js';
import { caseItem } from '../cases/case.js';
import { type AnalyticsItem, analyticsKey, tenantMetaKey } from '../keys/keys.js';
import { newId } from '../shared/ids.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { type CaseFacts, type Priority, deltas } from './aggregates.js';

/** One case's history: created at `createdAt`, then each status move at its instant, in order. */
export interface HistoricCase {
  priority: Priority;
  createdAt: string;
  moves?: readonly { status: CaseStatus; at: string }[];
}

const BATCH = 25;

async function batchWrite(requests: BatchWriteWriteRequest[]): Promise<void> {
  const { doc, tableName } = tenantTable();
  for (let start = 0; start < requests.length; start += BATCH) {
    let pending = requests.slice(start, start + BATCH);
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 10) throw new Error('seed: BatchWriteItem left items unprocessed after 10 attempts');
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** Writes the cases and their analytics for the current tenant; returns how many items it wrote. */
export async function seedCaseHistory(cases: readonly HistoricCase[]): Promise<{ cases: number; aggregates: number }> {
  const { tenantId, username } = useTenant();
  const totals = new Map<AnalyticsItem, Map<string, number>>();
  const add = (changes: Map<AnalyticsItem, Map<string, number>>) => {
    for (const [item, deltasOfItem] of changes) {
      const total = totals.get(item) ?? new Map<string, number>();
      for (const [attribute, delta] of deltasOfItem) total.set(attribute, (total.get(attribute) ?? 0) + delta);
      totals.set(item, total);
    }
  };
  const requests: BatchWriteWriteRequest[] = [];
  let active = 0;
  cases.forEach((history, i) => {
    let facts: CaseFacts = { status: 'OPEN', priority: history.priority, createdAt: history.createdAt };
    add(deltas(undefined, facts, facts.createdAt));
    for (const move of history.moves ?? []) {
      if (!canTransition(facts.status, move.status)) throw new Error(`seed: case ${i} cannot move from ${facts.status} to ${move.status}`);
      const next = { ...facts, status: move.status };
      add(deltas(facts, next, move.at));
      facts = next;
    }
    if (isActive(facts.status)) active += 1;
    const updatedAt = history.moves?.at(-1)?.at ?? history.createdAt;
    const item = caseItem(tenantId, username, {
      caseId: newId(),
      title: `Seeded case ${i}`,
      description: '',
      priority: history.priority,
      status: facts.status,
      createdAt: history.createdAt,
      updatedAt,
    });
    requests.push({ PutRequest: { Item: { ...item, version: 1 + (history.moves?.length ?? 0) } } });
  });
  for (const [item, attributes] of totals) {
    requests.push({ PutRequest: { Item: { ...analyticsKey(tenantId, item), tenantId, ...Object.fromEntries(attributes) } } });
  }
  const { doc, tableName } = tenantTable();
  await fencedWrite(async () => {
    await batchWrite(requests);
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: 'ADD activeCases :active',
        ExpressionAttributeValues: { ':active': active },
      }),
    );
  });
  return { cases: cases.length, aggregates: totals.size };
}
