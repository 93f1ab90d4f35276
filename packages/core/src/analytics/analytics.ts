/**
 * `GET /analytics` (premium and up): read from the aggregates maintained on write (aggregates.ts),
 * never from the cases — one GetItem for the counts, one Query over the range's days, one Query over
 * the unresolved cases' creation days and one GetItem for the settings, whatever the tenant's size.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { CASE_STATUSES, type CaseStatus } from '../cases/case-status.js';
import { analyticsDayItem, analyticsKey, dayOfAnalyticsItem, tenantAnalyticsPartition } from '../keys/keys.js';
import { queryAllItems } from '../shared/dynamo.js';
import { ValidationFailed } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import { requireFeature, requireRole } from '../tenancy/entitlements.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { PRIORITIES, type Priority, stateAttribute } from './aggregates.js';
import { bucketOfAttribute, percentileSeconds } from './resolve-time.js';

/** The longest range one request may ask for, in days (both ends included). */
export const MAX_RANGE_DAYS = 92;
/** The range when none is given: the last 30 days, today included. */
export const DEFAULT_RANGE_DAYS = 30;
export const DEFAULT_TARGET_AGE_HOURS = 72;
/** A target age between one hour and a year. */
export const MAX_TARGET_AGE_HOURS = 8760;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const UtcDate = z
  .string()
  .check(z.refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00.000Z`).toISOString().slice(0, 10) === value, 'must be a date as yyyy-mm-dd'));

export const ReportInput = z.strictObject({ from: z.optional(UtcDate), to: z.optional(UtcDate) });

export const SettingsInput = z.strictObject({
  targetAgeHours: z.number().check(z.int('targetAgeHours must be a whole number of hours'), z.minimum(1), z.maximum(MAX_TARGET_AGE_HOURS)),
});

export interface AnalyticsSettings {
  targetAgeHours: number;
}

export type PriorityCounts = Record<Priority, number> & { total: number };

export interface DayFigures {
  date: string;
  created: number;
  resolved: number;
  reopened: number;
}

export interface AnalyticsReport {
  range: { from: string; to: string };
  /** Cases now in each status (CLOSED included), by priority; `active` is every case not CLOSED. */
  cases: { byStatus: Record<CaseStatus, PriorityCounts>; active: number };
  /** One entry per day of the range, oldest first (UTC days). */
  daily: DayFigures[];
  /**
   * Time from creation to each resolution in the range (a case resolved twice counts twice).
   * Bucketed: each percentile is at or above the exact one, by at most 10% plus one second.
   */
  timeToResolve: { resolutions: number; p50Seconds: number | null; p90Seconds: number | null };
  /**
   * Unresolved (OPEN or IN_PROGRESS) cases created before now minus the target age, by creation
   * hour: a case is counted from the end of the hour it was created in plus the target age, so up
   * to one hour late, never early.
   */
  pastTargetAge: { targetAgeHours: number; count: number; asOf: string };
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dayMs(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`);
}

/** The days asked for: both ends included, `to` at the latest today, at most MAX_RANGE_DAYS long. */
export function reportRange(input: { from?: string | undefined; to?: string | undefined }, now: Date): { from: string; to: string } {
  const today = day(now.getTime());
  const to = input.to ?? today;
  const from = input.from ?? day(Math.min(dayMs(to), dayMs(today)) - (DEFAULT_RANGE_DAYS - 1) * DAY_MS);
  const details: { path: string; message: string }[] = [];
  if (to > today) details.push({ path: 'to', message: `must not be after today (${today}, UTC)` });
  if (from > to) details.push({ path: 'from', message: 'must not be after to' });
  else if ((dayMs(to) - dayMs(from)) / DAY_MS + 1 > MAX_RANGE_DAYS) {
    details.push({ path: 'from', message: `a range is at most ${MAX_RANGE_DAYS} days: from must be on or after ${day(dayMs(to) - (MAX_RANGE_DAYS - 1) * DAY_MS)}` });
  }
  if (details.length > 0) throw new ValidationFailed('The request is not valid.', { details });
  return { from, to };
}

function count(item: Record<string, unknown> | undefined, attribute: string): number {
  const value = item?.[attribute];
  return typeof value === 'number' ? value : 0;
}

async function queryAll(KeyConditionExpression: string, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const { doc, tableName } = tenantTable();
  return queryAllItems(doc, {
    TableName: tableName,
    KeyConditionExpression,
    ExpressionAttributeValues: { ':pk': tenantAnalyticsPartition(useTenant().tenantId), ...values },
  });
}

/**
 * How many unresolved cases were created in hours that ended at or before `cutoffMs`, from the
 * `OPENED#<day>` items (`h00`…`h23` per day).
 */
export function countCreatedBefore(openedDays: readonly Record<string, unknown>[], cutoffMs: number): number {
  const cutoffDay = day(cutoffMs);
  const cutoffHour = new Date(cutoffMs).getUTCHours();
  let total = 0;
  for (const item of openedDays) {
    const date = dayOfAnalyticsItem('OPENED', String(item.SK));
    if (date === undefined || date > cutoffDay) continue;
    for (let hour = 0; hour < 24; hour += 1) {
      if (date === cutoffDay && hour >= cutoffHour) break;
      total += count(item, `h${String(hour).padStart(2, '0')}`);
    }
  }
  return total;
}

/** The current tenant's analytics over a range of days (`from`/`to`, yyyy-mm-dd, UTC). */
export async function report(input: unknown, now = new Date()): Promise<AnalyticsReport> {
  requireFeature('analytics');
  const range = reportRange(parse(ReportInput, input ?? {}, '(query)'), now);
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();
  const [state, days, settings] = await Promise.all([
    doc.send(new GetCommand({ TableName: tableName, Key: analyticsKey(tenantId, 'STATE') })).then(({ Item }) => Item),
    queryAll('PK = :pk AND SK BETWEEN :from AND :to', {
      ':from': analyticsKey(tenantId, analyticsDayItem('DAY', range.from)).SK,
      ':to': analyticsKey(tenantId, analyticsDayItem('DAY', range.to)).SK,
    }),
    readSettings(),
  ]);
  const cutoffMs = now.getTime() - settings.targetAgeHours * HOUR_MS;
  const opened = await queryAll('PK = :pk AND SK BETWEEN :first AND :last', {
    ':first': analyticsKey(tenantId, analyticsDayItem('OPENED')).SK,
    ':last': analyticsKey(tenantId, analyticsDayItem('OPENED', day(cutoffMs))).SK,
  });

  const byStatus = Object.fromEntries(
    CASE_STATUSES.map((status) => {
      const counts = Object.fromEntries(PRIORITIES.map((priority) => [priority, count(state, stateAttribute(status, priority))])) as Record<Priority, number>;
      return [status, { ...counts, total: PRIORITIES.reduce((sum, priority) => sum + counts[priority], 0) }];
    }),
  ) as Record<CaseStatus, PriorityCounts>;

  const byDay = new Map(days.map((item) => [dayOfAnalyticsItem('DAY', String(item.SK)), item]));
  const daily: DayFigures[] = [];
  const histogram = new Map<number, number>();
  for (let ms = dayMs(range.from); ms <= dayMs(range.to); ms += DAY_MS) {
    const date = day(ms);
    const item = byDay.get(date);
    daily.push({ date, created: count(item, 'created'), resolved: count(item, 'resolved'), reopened: count(item, 'reopened') });
    for (const [attribute, value] of Object.entries(item ?? {})) {
      const bucket = bucketOfAttribute(attribute);
      if (bucket !== undefined && typeof value === 'number') histogram.set(bucket, (histogram.get(bucket) ?? 0) + value);
    }
  }

  return {
    range,
    cases: { byStatus, active: CASE_STATUSES.filter((status) => status !== 'CLOSED').reduce((sum, status) => sum + byStatus[status].total, 0) },
    daily,
    timeToResolve: {
      resolutions: daily.reduce((sum, figures) => sum + figures.resolved, 0),
      p50Seconds: percentileSeconds(histogram, 0.5),
      p90Seconds: percentileSeconds(histogram, 0.9),
    },
    pastTargetAge: { targetAgeHours: settings.targetAgeHours, count: countCreatedBefore(opened, cutoffMs), asOf: now.toISOString() },
  };
}

async function readSettings(): Promise<AnalyticsSettings> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: analyticsKey(useTenant().tenantId, 'SETTINGS') }));
  return { targetAgeHours: typeof Item?.targetAgeHours === 'number' ? Item.targetAgeHours : DEFAULT_TARGET_AGE_HOURS };
}

/** The current tenant's analytics settings (defaults until an admin changes them). */
export async function settings(): Promise<AnalyticsSettings> {
  requireFeature('analytics');
  return readSettings();
}

/** Changes the current tenant's analytics settings (tenant admins only). */
export async function updateSettings(input: unknown): Promise<AnalyticsSettings> {
  requireFeature('analytics');
  requireRole('admin');
  const { targetAgeHours } = parse(SettingsInput, input);
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();
  await fencedWrite(() =>
    doc.send(new PutCommand({ TableName: tableName, Item: { ...analyticsKey(tenantId, 'SETTINGS'), tenantId, targetAgeHours, updatedAt: new Date().toISOString() } })),
  );
  return { targetAgeHours };
}
