/** Usage plan quota windows on the UTC calendar, and the daily counts they add up. */
import type { QuotaPeriod } from '../api-gateway.js';

export const DAY_MS = 86_400_000;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Quota windows follow the UTC calendar: the day, the week from Monday, the month from the 1st. */
export function quotaWindow(period: QuotaPeriod, at: number): { start: number; end: number } {
  const dayStart = startOfUtcDay(at);
  if (period === 'DAY') return { start: dayStart, end: dayStart + DAY_MS };
  if (period === 'WEEK') {
    const daysSinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
    const start = dayStart - daysSinceMonday * DAY_MS;
    return { start, end: start + 7 * DAY_MS };
  }
  const date = new Date(dayStart);
  return { start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}

/** Requests counted from the start of `at`'s window up to and including `at`'s day. */
export function usedInWindow(counts: Map<string, number> | undefined, period: QuotaPeriod, at: number): number {
  if (!counts) return 0;
  let used = 0;
  for (let day = quotaWindow(period, at).start; day <= at; day += DAY_MS) used += counts.get(utcDay(day)) ?? 0;
  return used;
}

export function parseUtcDate(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) || utcDay(ms) !== text ? undefined : ms;
}
