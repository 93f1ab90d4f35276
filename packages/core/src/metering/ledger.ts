/**
 * The usage ledger (DESIGN §10): the control plane's record of what each tenant consumed, keyed by
 * tenant — not by cell — so a move neither loses nor doubles usage. Each usage event is counted
 * exactly once per idempotency key (a conditional dedupe item, written in the same transaction as
 * the aggregates it adds to), into the hour it happened in however late it arrives. Aggregates:
 * per tenant, hour (and day) and the cell and tier it was consumed in; 5-minute gateway buckets with
 * an exact latency histogram for tenant SLOs. Corrections are new events, never edits.
 */
import { type DynamoDBDocumentClient, type QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type UsageGrain, USAGE_INDEX_SHARDS, usageAggregateKey, usageAggregatePrefix, usageEntryKey, usageIndexPartition, usagePartition } from '../keys/keys.js';
import { requireEnv } from '../shared/config.js';
import { queryAllItems, systemDocumentClient } from '../shared/dynamo.js';
import { TIERS, type TierName } from '../tenancy/tiers.js';
import { COUNTER_DIMENSIONS, type CounterDimension, GAUGE_DIMENSIONS, type Gauges, USAGE_DEDUPLICATION_DAYS, type UsageEvent } from './usage-event.js';

export interface LedgerTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** How long each aggregate is kept (TTL), and so the widest range a query may ask for. */
export const LEDGER_RETENTION_DAYS = { hour: 90, day: 400, slo: 8 } as const;

export type Granularity = 'hour' | 'day';

/** What the gateway's access log said about a tenant's requests in a period. */
export interface GatewayCounts {
  /** Every request logged with this tenant. */
  requests: number;
  /** Answered by a function: each must have been metered (reconciliation compares it with apiRequests). */
  integration: number;
  throttled: number;
  quota: number;
  refused: number;
  /** Status 5xx, whoever answered. */
  serverErrors: number;
  /** Answered by a function slower than its tier's p99 latency target (the latency SLI's bad events). */
  slow: number;
}

/** One tenant's usage in one period (`2026-12-03T14` or `2026-12-03`), in one cell and tier. */
export interface UsageRow {
  tenantId: string;
  cellId: string;
  tier: TierName;
  period: string;
  quantities: Record<CounterDimension, number>;
  /** Hour rows: the hour's snapshot. Day rows: the mean of the day's hourly snapshots. */
  gauges: Gauges;
  gateway: GatewayCounts;
  /**
   * Hour rows: the sums of the fingerprints of the requests metered and of those the gateway saw a
   * function answer (`requestFingerprint`); reconciliation compares them. Zero in day rows.
   */
  fingerprints: { metered: number; answered: number };
  /** Metered API requests by route (`GET /cases/{caseId}` → count). */
  routes: Record<string, number>;
}

/** One tenant's gateway traffic in one 5-minute bucket of one cell, with its exact latency histogram. */
export interface LatencyBucket {
  tenantId: string;
  cellId: string;
  tier: TierName;
  /** The bucket's start, ISO (`2026-12-03T14:05:00.000Z`). */
  start: string;
  /** Every request logged with this tenant, however the gateway answered it. */
  requests: number;
  /** The requests a function answered: the latency histogram is theirs (a throttled request's 1 ms says nothing). */
  answered: number;
  serverErrors: number;
  throttled: number;
  /** Latency in whole milliseconds → how many answered requests took exactly that long. */
  latencies: ReadonlyMap<number, number>;
  /**
   * A coarse bucket (a day row, for an SLO budget): how many answered requests were over their tier's
   * p99 target; its `latencies` are empty. Absent in a 5-minute bucket, whose histogram says it.
   */
  slow?: number;
}

export interface IngestResult {
  counted: number;
  duplicates: number;
  /** Events the ledger will not count (older than the deduplication window, …), with why. */
  refused: { idempotencyKey: string; reason: string }[];
}

export interface Range {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

/** The ledger table of a control-plane function (env USAGE_TABLE), with the function's own client. */
export function ledgerTable(): LedgerTable {
  return { doc: systemDocumentClient(), tableName: requireEnv('USAGE_TABLE') };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SLO_BUCKET_MS = 5 * 60_000;
/** A clock a little ahead of ours is tolerated; usage from further in the future is refused. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** One transaction's items at most (DynamoDB's limit). */
const MAX_TRANSACTION_ITEMS = 100;
const MAX_CONFLICT_RETRIES = 8;
/** Cancellation reasons that say "not now" rather than "not this": the transaction is tried again as it is. */
const RETRYABLE_CANCELLATIONS: ReadonlySet<string> = new Set(['None', 'ConditionalCheckFailed', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** `2026-12-03T14`: the UTC hour an instant falls in. */
export function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** `2026-12-03`: the UTC day an instant falls in. */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** `2026-12-03T14:05`: the 5-minute SLO bucket an instant falls in. */
export function sloBucketOf(at: Date): string {
  return new Date(Math.floor(at.getTime() / SLO_BUCKET_MS) * SLO_BUCKET_MS).toISOString().slice(0, 16);
}

const GRAINS: Record<UsageGrain, { period: (at: Date) => string; indexBucket: (at: Date) => string; stepMs: number; indexStepMs: number; retentionDays: number }> = {
  HOUR: { period: hourOf, indexBucket: dayOf, stepMs: HOUR_MS, indexStepMs: DAY_MS, retentionDays: LEDGER_RETENTION_DAYS.hour },
  // Months are not a fixed step: the index buckets of a day range are walked day by day and deduplicated.
  DAY: { period: dayOf, indexBucket: (at) => at.toISOString().slice(0, 7), stepMs: DAY_MS, indexStepMs: DAY_MS, retentionDays: LEDGER_RETENTION_DAYS.day },
  SLO: { period: sloBucketOf, indexBucket: hourOf, stepMs: SLO_BUCKET_MS, indexStepMs: HOUR_MS, retentionDays: LEDGER_RETENTION_DAYS.slo },
};

/** What one event adds to one aggregate item. */
interface AggregateChange {
  key: ReturnType<typeof usageAggregateKey>;
  tenantId: string;
  cellId: string;
  tier: TierName;
  grain: UsageGrain;
  period: string;
  expiresAt: number;
  add: Map<string, number>;
  set: Map<string, number>;
}

type Additions = { grain: UsageGrain; add: [string, number][]; set: [string, number][] }[];

/** The aggregate attributes an event changes, per grain. */
function additionsOf(event: UsageEvent): Additions {
  const data = event.data;
  switch (data.kind) {
    case 'request': {
      // API requests by route (`GET /cases/{caseId}`): the routes a cell may report are its route table's (usage-intake.ts).
      const add: [string, number][] = [...counterAdditions(data.quantities), [`${ROUTE_PREFIX}${data.route}`, 1]];
      // Which requests were metered, not only how many: reconciliation compares the sums of both sides' fingerprints.
      const hour: [string, number][] = event.idempotencyKey.startsWith(REQUEST_KEY_PREFIX)
        ? [...add, ['x_metered', requestFingerprint(event.idempotencyKey.slice(REQUEST_KEY_PREFIX.length))]]
        : add;
      return [
        { grain: 'HOUR', add: hour, set: [] },
        { grain: 'DAY', add, set: [] },
      ];
    }
    case 'consumption':
    case 'correction': {
      const add = counterAdditions(data.quantities);
      return [
        { grain: 'HOUR', add, set: [] },
        { grain: 'DAY', add, set: [] },
      ];
    }
    case 'snapshot': {
      const measured = GAUGE_DIMENSIONS.flatMap((dimension): [GaugeName, number][] => {
        const value = data.gauges[dimension];
        return value === undefined ? [] : [[dimension, value]];
      });
      return [
        // The hour holds its snapshot; the day sums its hours' snapshots and counts them, for a mean.
        { grain: 'HOUR', add: [], set: measured.map(([dimension, value]) => [`g_${dimension}`, value]) },
        {
          grain: 'DAY',
          add: measured.flatMap(([dimension, value]): [string, number][] => [
            [`gs_${dimension}`, value],
            [`gn_${dimension}`, 1],
          ]),
          set: [],
        },
      ];
    }
    case 'gateway': {
      const serverError = data.status >= 500 ? 1 : 0;
      const counts: [string, number][] = [
        ['gw_requests', 1],
        [`gw_${data.outcome}`, 1],
      ];
      if (serverError) counts.push(['gw_serverErrors', 1]);
      // Over its tier's p99 target: a bad event of the latency SLI, counted per hour and day for the budget.
      if (data.outcome === 'integration' && data.latencyMs > TIERS[event.tier].slo.p99LatencyMs) counts.push(['gw_slow', 1]);
      const bucket: [string, number][] = [['requests', 1]];
      if (serverError) bucket.push(['serverErrors', 1]);
      if (data.outcome === 'throttled') bucket.push(['throttled', 1]);
      if (data.outcome === 'integration') bucket.push(['answered', 1], [`l_${data.latencyMs}`, 1]);
      const hour: [string, number][] =
        data.outcome === 'integration' && event.idempotencyKey.startsWith(GATEWAY_KEY_PREFIX)
          ? [...counts, ['x_answered', requestFingerprint(event.idempotencyKey.slice(GATEWAY_KEY_PREFIX.length))]]
          : counts;
      return [
        { grain: 'HOUR', add: hour, set: [] },
        { grain: 'DAY', add: counts, set: [] },
        { grain: 'SLO', add: bucket, set: [] },
      ];
    }
  }
}
type GaugeName = (typeof GAUGE_DIMENSIONS)[number];

function counterAdditions(quantities: Partial<Record<CounterDimension, number>>): [string, number][] {
  return COUNTER_DIMENSIONS.flatMap((dimension): [string, number][] => {
    const quantity = quantities[dimension];
    return quantity === undefined || quantity === 0 ? [] : [[`q_${dimension}`, quantity]];
  });
}

/** The idempotency keys of a function's request line and of the gateway's record of the same request (meter.ts, access-log.ts). */
const REQUEST_KEY_PREFIX = 'request:';
/** The aggregate attributes counting a route's requests: `r_GET /cases`. */
const ROUTE_PREFIX = 'r_';
const GATEWAY_KEY_PREFIX = 'gateway:';

/**
 * A request id's fingerprint: 24 bits of FNV-1a. An hour's sum of them stays an exact integer for up
 * to 2^29 requests, and two sides that metered different requests disagree on it but for a 1 in 2^24
 * chance — even when their counts agree (a lost line and a line metered twice cancel in a count).
 */
export function requestFingerprint(requestId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i += 1) hash = Math.imul(hash ^ requestId.charCodeAt(i), 0x01000193) >>> 0;
  return hash & 0xffffff;
}

function aggregateChanges(event: UsageEvent): AggregateChange[] {
  const at = new Date(event.occurredAt);
  return additionsOf(event).map(({ grain, add, set }) => {
    const spec = GRAINS[grain];
    const period = spec.period(at);
    const periodStart = Date.parse(grain === 'HOUR' ? `${period}:00:00.000Z` : grain === 'DAY' ? `${period}T00:00:00.000Z` : `${period}:00.000Z`);
    return {
      key: usageAggregateKey(event.tenantId, grain, period, spec.indexBucket(at), event.cellId, event.tier),
      tenantId: event.tenantId,
      cellId: event.cellId,
      tier: event.tier,
      grain,
      period,
      expiresAt: Math.floor((periodStart + spec.retentionDays * DAY_MS) / 1000),
      add: new Map(add),
      set: new Map(set),
    };
  });
}

/** Why the ledger will not count an event at all (as opposed to a duplicate, which it already counted). */
function refusalOf(event: UsageEvent, now: Date): string | undefined {
  const at = Date.parse(event.occurredAt);
  if (at < now.getTime() - USAGE_DEDUPLICATION_DAYS * DAY_MS) {
    // Its entry may have expired: counting it could count it twice.
    return `it happened more than ${USAGE_DEDUPLICATION_DAYS} days ago, beyond the deduplication window`;
  }
  if (at > now.getTime() + MAX_CLOCK_SKEW_MS) return 'it happened in the future';
  return undefined;
}

/**
 * Counts usage events exactly once: each chunk of events is one transaction of their entries (put
 * only if absent) and the sums they add to their aggregates. An entry that exists refuses the whole
 * transaction; its event is set aside as a duplicate and the rest is tried again, so an event
 * delivered any number of times, in any order, in any batch, adds to its hour once.
 */
export async function ingestUsage(ledger: LedgerTable, events: readonly UsageEvent[], now: Date = new Date()): Promise<IngestResult> {
  const result: IngestResult = { counted: 0, duplicates: 0, refused: [] };
  const seen = new Set<string>();
  const pending: UsageEvent[] = [];
  for (const event of events) {
    const identity = `${event.tenantId}\u0000${event.idempotencyKey}`;
    if (seen.has(identity)) {
      result.duplicates += 1;
      continue;
    }
    seen.add(identity);
    const refusal = refusalOf(event, now);
    if (refusal) result.refused.push({ idempotencyKey: event.idempotencyKey, reason: refusal });
    else pending.push(event);
  }
  // A correction names the entry it corrects, which must already be in the ledger: corrections go last.
  const ordered = [...pending.filter((e) => e.data.kind !== 'correction'), ...pending.filter((e) => e.data.kind === 'correction')];
  for (const chunk of chunksOf(ordered)) {
    const outcome = await writeChunk(ledger, chunk, now);
    result.counted += outcome.counted;
    result.duplicates += outcome.duplicates;
    result.refused.push(...outcome.refused);
  }
  return result;
}

/**
 * Events in order, as chunks whose transaction (entries, checks, aggregates) fits DynamoDB's limit.
 * A correction never shares a chunk with the entry it corrects (one item, one operation).
 */
function* chunksOf(events: readonly UsageEvent[]): Generator<UsageEvent[]> {
  let chunk: UsageEvent[] = [];
  let aggregates = new Set<string>();
  let entries = new Set<string>();
  let items = 0;
  for (const event of events) {
    const keys = aggregateChanges(event).map((change) => `${change.key.PK}\u0000${change.key.SK}`);
    const corrected = event.data.kind === 'correction' ? `${event.tenantId}\u0000${event.data.correctionOf}` : undefined;
    const fits = () => items + 1 + (corrected ? 1 : 0) + keys.filter((key) => !aggregates.has(key)).length <= MAX_TRANSACTION_ITEMS;
    if (chunk.length > 0 && (!fits() || (corrected !== undefined && entries.has(corrected)))) {
      yield chunk;
      chunk = [];
      aggregates = new Set();
      entries = new Set();
      items = 0;
    }
    items += 1 + (corrected ? 1 : 0) + keys.filter((key) => !aggregates.has(key)).length;
    chunk.push(event);
    entries.add(`${event.tenantId}\u0000${event.idempotencyKey}`);
    for (const key of keys) aggregates.add(key);
  }
  if (chunk.length > 0) yield chunk;
}

/** Which event a transaction item stands for: its entry, the check of what it corrects, or an aggregate (-1). */
interface ItemOwner {
  event: number;
  role: 'entry' | 'check' | 'aggregate';
}

function transactionOf(ledger: LedgerTable, events: readonly UsageEvent[], now: Date) {
  const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [];
  const owners: ItemOwner[] = [];
  const entryExpiresAt = Math.floor((now.getTime() + (USAGE_DEDUPLICATION_DAYS + 1) * DAY_MS) / 1000);
  const merged = new Map<string, AggregateChange>();
  for (const [index, event] of events.entries()) {
    items.push({
      Put: {
        TableName: ledger.tableName,
        Item: { ...usageEntryKey(event.tenantId, event.idempotencyKey), entry: event, recordedAt: now.toISOString(), expiresAt: entryExpiresAt },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    });
    owners.push({ event: index, role: 'entry' });
    if (event.data.kind === 'correction') {
      items.push({
        ConditionCheck: { TableName: ledger.tableName, Key: usageEntryKey(event.tenantId, event.data.correctionOf), ConditionExpression: 'attribute_exists(PK)' },
      });
      owners.push({ event: index, role: 'check' });
    }
    for (const change of aggregateChanges(event)) {
      const id = `${change.key.PK}\u0000${change.key.SK}`;
      const into = merged.get(id);
      if (!into) {
        merged.set(id, change);
        continue;
      }
      for (const [name, value] of change.add) into.add.set(name, (into.add.get(name) ?? 0) + value);
      for (const [name, value] of change.set) into.set.set(name, value);
    }
  }
  for (const change of merged.values()) {
    items.push({ Update: { TableName: ledger.tableName, Key: { PK: change.key.PK, SK: change.key.SK }, ...updateOf(change) } });
    owners.push({ event: -1, role: 'aggregate' });
  }
  return { items, owners };
}

function updateOf(change: AggregateChange) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = ['#gpk = :gpk', '#gsk = :gsk', '#tenant = :tenant', '#cell = :cell', '#tier = :tier', '#grain = :grain', '#period = :period', '#exp = :exp'];
  Object.assign(names, {
    '#gpk': 'GSI1PK',
    '#gsk': 'GSI1SK',
    '#tenant': 'tenantId',
    '#cell': 'cellId',
    '#tier': 'tier',
    '#grain': 'grain',
    '#period': 'period',
    '#exp': 'expiresAt',
  });
  Object.assign(values, {
    ':gpk': change.key.GSI1PK,
    ':gsk': change.key.GSI1SK,
    ':tenant': change.tenantId,
    ':cell': change.cellId,
    ':tier': change.tier,
    ':grain': change.grain,
    ':period': change.period,
    ':exp': change.expiresAt,
  });
  let n = 0;
  for (const [name, value] of change.set) {
    names[`#s${n}`] = name;
    values[`:s${n}`] = value;
    sets.push(`#s${n} = :s${n}`);
    n += 1;
  }
  const adds: string[] = [];
  for (const [name, value] of change.add) {
    names[`#a${n}`] = name;
    values[`:a${n}`] = value;
    adds.push(`#a${n} :a${n}`);
    n += 1;
  }
  return {
    UpdateExpression: `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

interface CancellationReason {
  Code?: string;
}

function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  return (error as Error & { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
}

async function writeChunk(ledger: LedgerTable, chunk: readonly UsageEvent[], now: Date): Promise<IngestResult> {
  const result: IngestResult = { counted: 0, duplicates: 0, refused: [] };
  let remaining = [...chunk];
  let conflicts = 0;
  while (remaining.length > 0) {
    const { items, owners } = transactionOf(ledger, remaining, now);
    try {
      await ledger.doc.send(new TransactWriteCommand({ TransactItems: items }));
      result.counted += remaining.length;
      return result;
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      const duplicates = new Set<number>();
      const uncorrectable = new Set<number>();
      for (const [index, reason] of reasons.entries()) {
        const owner = owners[index];
        if (reason.Code !== 'ConditionalCheckFailed' || !owner) continue;
        if (owner.role === 'entry') duplicates.add(owner.event);
        if (owner.role === 'check') uncorrectable.add(owner.event);
      }
      if (duplicates.size === 0 && uncorrectable.size === 0 && reasons.some((reason) => !RETRYABLE_CANCELLATIONS.has(reason.Code ?? 'None'))) {
        // An event the table will not take (too large an item, …): halve the chunk until it is alone
        // and refused, so one bad event never holds back its neighbours' usage.
        if (remaining.length === 1) {
          const [event] = remaining as [UsageEvent];
          const code = reasons.find((reason) => !RETRYABLE_CANCELLATIONS.has(reason.Code ?? 'None'))?.Code;
          result.refused.push({ idempotencyKey: event.idempotencyKey, reason: `the ledger's table refused it (${code})` });
          return result;
        }
        const middle = Math.ceil(remaining.length / 2);
        for (const half of [remaining.slice(0, middle), remaining.slice(middle)]) {
          const outcome = await writeChunk(ledger, half, now);
          result.counted += outcome.counted;
          result.duplicates += outcome.duplicates;
          result.refused.push(...outcome.refused);
        }
        return result;
      }
      if (duplicates.size === 0 && uncorrectable.size === 0) {
        // Another ingestion changing the same aggregate at the same moment: try again, a little later.
        if (conflicts >= MAX_CONFLICT_RETRIES) throw error;
        conflicts += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** conflicts));
        continue;
      }
      remaining = remaining.filter((event, index) => {
        if (duplicates.has(index)) {
          result.duplicates += 1;
          return false;
        }
        if (uncorrectable.has(index) && event.data.kind === 'correction') {
          result.refused.push({ idempotencyKey: event.idempotencyKey, reason: `it corrects ${event.data.correctionOf}, which the ledger does not hold` });
          return false;
        }
        return true;
      });
    }
  }
  return result;
}

/** The periods of a range at a grain, as Query bounds: from the period holding `from` to the one holding the last instant before `to`. */
function periodBounds(grain: UsageGrain, range: Range): { lower: string; upper: string } {
  assertRange(range, GRAINS[grain].retentionDays);
  const spec = GRAINS[grain];
  return { lower: spec.period(range.from), upper: `${spec.period(new Date(range.to.getTime() - 1))}#\uffff` };
}

function assertRange(range: Range, retentionDays: number): void {
  const span = range.to.getTime() - range.from.getTime();
  // The API checks ranges and answers 400; here a bad one is a bug, and never an unbounded walk.
  if (!(span > 0) || span > (retentionDays + 1) * DAY_MS) throw new Error(`usage range ${range.from.toISOString()}..${range.to.toISOString()} is empty or beyond retention`);
}

function queryAll(ledger: LedgerTable, input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName' | 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
  return queryAllItems(ledger.doc, { ...input, TableName: ledger.tableName });
}

/** Every tenant's aggregates of a grain in a range: one Query per index bucket and shard. */
async function aggregatesInRange(ledger: LedgerTable, grain: UsageGrain, range: Range): Promise<Record<string, unknown>[]> {
  const { lower, upper } = periodBounds(grain, range);
  const spec = GRAINS[grain];
  const buckets = new Set<string>();
  for (let at = range.from.getTime(); at < range.to.getTime(); at += spec.indexStepMs) buckets.add(spec.indexBucket(new Date(at)));
  buckets.add(spec.indexBucket(new Date(range.to.getTime() - 1)));
  const queries = [...buckets].flatMap((bucket) =>
    Array.from({ length: USAGE_INDEX_SHARDS }, (_, shard) =>
      queryAll(ledger, {
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK BETWEEN :lower AND :upper',
        ExpressionAttributeValues: { ':pk': usageIndexPartition(grain, bucket, shard), ':lower': lower, ':upper': upper },
      }),
    ),
  );
  return (await Promise.all(queries)).flat();
}

const number = (value: unknown): number => (typeof value === 'number' ? value : 0);

function rowOf(item: Record<string, unknown>, grain: 'HOUR' | 'DAY'): UsageRow {
  const quantities = Object.fromEntries(COUNTER_DIMENSIONS.map((dimension) => [dimension, number(item[`q_${dimension}`])])) as Record<CounterDimension, number>;
  const gauges: Gauges = {};
  for (const dimension of GAUGE_DIMENSIONS) {
    if (grain === 'HOUR' && typeof item[`g_${dimension}`] === 'number') gauges[dimension] = item[`g_${dimension}`] as number;
    const snapshots = number(item[`gn_${dimension}`]);
    if (grain === 'DAY' && snapshots > 0) gauges[dimension] = Math.round(number(item[`gs_${dimension}`]) / snapshots);
  }
  return {
    tenantId: String(item.tenantId),
    cellId: String(item.cellId),
    tier: item.tier as TierName,
    period: String(item.period),
    quantities,
    gauges,
    fingerprints: { metered: number(item.x_metered), answered: number(item.x_answered) },
    routes: Object.fromEntries(
      Object.entries(item)
        .filter(([name, value]) => name.startsWith(ROUTE_PREFIX) && typeof value === 'number')
        .map(([name, value]) => [name.slice(ROUTE_PREFIX.length), value as number]),
    ),
    gateway: {
      requests: number(item.gw_requests),
      integration: number(item.gw_integration),
      throttled: number(item.gw_throttled),
      quota: number(item.gw_quota),
      refused: number(item.gw_refused),
      serverErrors: number(item.gw_serverErrors),
      slow: number(item.gw_slow),
    },
  };
}

const GRAIN_OF: Record<Granularity, 'HOUR' | 'DAY'> = { hour: 'HOUR', day: 'DAY' };

/** A tenant's rows in the range, every cell and tier it was in (a moved tenant has rows in both). */
export async function tenantUsage(ledger: LedgerTable, tenantId: string, range: Range, granularity: Granularity): Promise<UsageRow[]> {
  const grain = GRAIN_OF[granularity];
  const { lower, upper } = periodBounds(grain, range);
  const prefix = usageAggregatePrefix(grain);
  const items = await queryAll(ledger, {
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lower AND :upper',
    ExpressionAttributeValues: { ':pk': usagePartition(tenantId), ':lower': `${prefix}${lower}`, ':upper': `${prefix}${upper}` },
    ConsistentRead: true,
  });
  return items.map((item) => rowOf(item, grain));
}

/** Every tenant's rows in the range (the by-period index; no Scan). */
export async function usageInRange(ledger: LedgerTable, range: Range, granularity: Granularity): Promise<UsageRow[]> {
  const grain = GRAIN_OF[granularity];
  return (await aggregatesInRange(ledger, grain, range)).map((item) => rowOf(item, grain));
}

/** Every tenant's 5-minute gateway buckets in the range (tenant SLOs, noisy neighbours). */
export async function latencyBuckets(ledger: LedgerTable, range: Range): Promise<LatencyBucket[]> {
  const items = await aggregatesInRange(ledger, 'SLO', range);
  return items.map((item) => {
    const latencies = new Map<number, number>();
    for (const [name, value] of Object.entries(item)) {
      if (name.startsWith('l_') && typeof value === 'number' && value > 0) latencies.set(Number(name.slice(2)), value);
    }
    return {
      tenantId: String(item.tenantId),
      cellId: String(item.cellId),
      tier: item.tier as TierName,
      start: new Date(`${String(item.period)}:00.000Z`).toISOString(),
      requests: number(item.requests),
      answered: number(item.answered),
      serverErrors: number(item.serverErrors),
      throttled: number(item.throttled),
      latencies,
    };
  });
}
