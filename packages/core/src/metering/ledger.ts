/**
 * The usage ledger (DESIGN §10): the control plane's record of what each tenant consumed, keyed by
 * tenant — not by cell — so a move neither loses nor doubles usage. Each usage event is counted
 * exactly once per idempotency key (a conditional dedupe item, written in the same transaction as
 * the aggregates it adds to), into the hour it happened in however late it arrives. Aggregates:
 * per tenant, hour (and day) and the cell and tier it was consumed in; 5-minute gateway buckets with
 * an exact latency histogram for tenant SLOs. Corrections are new events, never edits.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TierName } from '../tenancy/tiers.js';
import type { CounterDimension, Gauges, UsageEvent } from './usage-event.js';

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
}

/** One tenant's gateway traffic in one 5-minute bucket of one cell, with its exact latency histogram. */
export interface LatencyBucket {
  tenantId: string;
  cellId: string;
  tier: TierName;
  /** The bucket's start, ISO (`2026-12-03T14:05:00.000Z`). */
  start: string;
  requests: number;
  serverErrors: number;
  throttled: number;
  /** Latency in whole milliseconds → how many requests took exactly that long. */
  latencies: ReadonlyMap<number, number>;
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

export declare function ingestUsage(ledger: LedgerTable, events: readonly UsageEvent[], now?: Date): Promise<IngestResult>;
/** A tenant's rows in the range, every cell and tier it was in (a moved tenant has rows in both). */
export declare function tenantUsage(ledger: LedgerTable, tenantId: string, range: Range, granularity: Granularity): Promise<UsageRow[]>;
/** Every tenant's rows in the range (the by-period index; no Scan). */
export declare function usageInRange(ledger: LedgerTable, range: Range, granularity: Granularity): Promise<UsageRow[]>;
/** Every tenant's 5-minute gateway buckets in the range (tenant SLOs, noisy neighbours). */
export declare function latencyBuckets(ledger: LedgerTable, range: Range): Promise<LatencyBucket[]>;
