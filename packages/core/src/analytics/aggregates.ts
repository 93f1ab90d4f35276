/**
 * The analytics aggregates, maintained on write: every case write carries, in the same
 * TransactWriteItems, the updates of the aggregates it changes (DESIGN §5 `GET /analytics`).
 *
 * Why the same transaction and not a stream consumer: a stream consumer is a function that reads
 * every tenant's changes, outside the tenant fence, and lags; local mode has no streams at all, so
 * it would need a second path there. In one transaction, the case write and its aggregate updates
 * apply together or not at all (the local endpoint emulates TransactWriteItems all-or-nothing), so
 * the aggregates cannot drift: a failed write counts nothing, and a retried one either counts once
 * (it applies) or not at all (the case's own condition — a new id, or the version read — refuses
 * it, and with it the whole transaction). The cost is a transactional write (twice the write
 * units) on every case create and status or priority change.
 *
 * Items (keys.ts `analyticsKey`), all in the tenant's analytics partition:
 * - `STATE`: cases per status and priority (`OPEN_low`, …), every status including CLOSED.
 * - `DAY#<yyyy-mm-dd>` (UTC): `created`, `resolved` (moves into RESOLVED), `reopened` (moves back
 *   to OPEN from RESOLVED or CLOSED), and the time-to-resolve histogram (resolve-time.ts) of that
 *   day's resolutions, each measured from the case's creation.
 * - `OPENED#<yyyy-mm-dd>`: unresolved (OPEN or IN_PROGRESS) cases by the UTC day and hour they were
 *   created (`h00`…`h23`), so "past the target age" is a sum over a few days, not a read of cases.
 */
import type { CaseStatus } from '../cases/case-status.js';
import { type AnalyticsItem, analyticsDayItem, analyticsKey } from '../keys/keys.js';
import { bucketAttribute, bucketOf } from './resolve-time.js';

export const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The part of a case the aggregates follow. */
export interface CaseFacts {
  status: CaseStatus;
  priority: Priority;
  createdAt: string;
}

/** One member of a TransactWriteItems (document client form). */
export interface AggregateUpdate {
  Update: {
    TableName: string;
    Key: { PK: string; SK: string };
    UpdateExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
  };
}

export function stateAttribute(status: CaseStatus, priority: Priority): string {
  return `${status}_${priority}`;
}

/** Unresolved: still waiting for someone (what "past the target age" counts). */
export function isUnresolved(status: CaseStatus): boolean {
  return status === 'OPEN' || status === 'IN_PROGRESS';
}

export function utcDay(instant: string): string {
  return instant.slice(0, 10);
}

export function hourAttribute(instant: string): string {
  return `h${instant.slice(11, 13)}`;
}

/** `ADD` of each delta on one item (the item appears on its first update). */
function add(tableName: string, tenantId: string, key: { PK: string; SK: string }, deltas: ReadonlyMap<string, number>): AggregateUpdate {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':tenantId': tenantId };
  const terms = [...deltas].map(([attribute, delta], i) => {
    names[`#a${i}`] = attribute;
    values[`:d${i}`] = delta;
    return `#a${i} :d${i}`;
  });
  return {
    Update: {
      TableName: tableName,
      Key: key,
      UpdateExpression: `SET tenantId = :tenantId ADD ${terms.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

function bump(deltas: Map<string, number>, attribute: string, by: number): void {
  deltas.set(attribute, (deltas.get(attribute) ?? 0) + by);
}

/** The aggregate updates of a case being created (`created` the instant it is). */
export function onCreate(tableName: string, tenantId: string, created: CaseFacts): AggregateUpdate[] {
  return onChange(tableName, tenantId, undefined, created, created.createdAt);
}

/**
 * The aggregate updates of a case going from `before` to `after` at `now` (`before` undefined: it is
 * being created). Empty when nothing the aggregates follow changed (a title, an assignee).
 */
export function onChange(tableName: string, tenantId: string, before: CaseFacts | undefined, after: CaseFacts, now: string): AggregateUpdate[] {
  return [...deltas(before, after, now)].map(([item, changes]) => add(tableName, tenantId, analyticsKey(tenantId, item), changes));
}

/**
 * What a case going from `before` to `after` at `now` changes in each aggregate item: non-zero
 * deltas only, and only the items that change.
 */
export function deltas(before: CaseFacts | undefined, after: CaseFacts, now: string): Map<AnalyticsItem, Map<string, number>> {
  const state = new Map<string, number>();
  const day = new Map<string, number>();
  const opened = new Map<string, number>();
  if (before) bump(state, stateAttribute(before.status, before.priority), -1);
  bump(state, stateAttribute(after.status, after.priority), 1);

  if (!before) bump(day, 'created', 1);
  if (before && before.status !== after.status) {
    if (after.status === 'RESOLVED') {
      bump(day, 'resolved', 1);
      bump(day, bucketAttribute(bucketOf(Date.parse(now) - Date.parse(after.createdAt))), 1);
    }
    if (after.status === 'OPEN' && (before.status === 'RESOLVED' || before.status === 'CLOSED')) bump(day, 'reopened', 1);
  }
  const wasUnresolved = before !== undefined && isUnresolved(before.status);
  if (wasUnresolved !== isUnresolved(after.status)) bump(opened, hourAttribute(after.createdAt), isUnresolved(after.status) ? 1 : -1);

  const items = new Map<AnalyticsItem, Map<string, number>>();
  for (const [item, changes] of [
    ['STATE', state],
    [analyticsDayItem('DAY', utcDay(now)), day],
    [analyticsDayItem('OPENED', utcDay(after.createdAt)), opened],
  ] as const) {
    const nonZero = new Map([...changes].filter(([, delta]) => delta !== 0));
    if (nonZero.size > 0) items.set(item, nonZero);
  }
  return items;
}
