/**
 * What makes a cell unhealthy: one set of thresholds, read by the Cell stacks' CloudWatch alarms and
 * by the local platform's alarm evaluation, and judged by the release gate (DESIGN §9). These are
 * operating thresholds, not business rules.
 */

export const CELL_ALARM_THRESHOLDS = {
  /** Share of requests answered with a 5xx, per minute. */
  serverErrorRate: 0.05,
  /** p99 of API Gateway's end-to-end latency, per minute. */
  p99LatencyMs: 3_000,
  /** Lambda throttles across the cell's functions, per minute (concurrency exhausted). */
  functionThrottles: 1,
  /** Invocations that failed (uncaught error, timeout, crash) across the cell's functions, per minute. */
  functionErrors: 5,
} as const;

/** Each cell alarm's name after the cell's prefix (`<stage>-<app>-<cellId>-<name>`), in the stacks and locally. */
export const CELL_ALARM_NAMES = {
  serverErrorRate: '5xx-rate',
  p99LatencyMs: 'latency-p99',
  functionThrottles: 'throttles',
  functionErrors: 'function-errors',
} as const satisfies Record<keyof typeof CELL_ALARM_THRESHOLDS, string>;

/** The composite alarm that is in ALARM when any of the cell's alarms is. */
export const CELL_HEALTH_ALARM = 'health';

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmState {
  /** The alarm's name after the cell prefix, e.g. `5xx-rate`. */
  name: string;
  state: AlarmStateValue;
  /** Why, in words (the figure and the threshold), when it is in ALARM. */
  reason?: string;
}

/** What one cell served over a window: the figures its alarms are computed from. */
export interface CellWindowFigures {
  windowMs: number;
  requests: number;
  serverErrors: number;
  /** null when the window saw no request. */
  p99LatencyMs: number | null;
  functionErrors: number;
  functionThrottles: number;
}

/**
 * The cell's alarms over one window, with the stacks' thresholds. Counts per minute are taken over
 * the window, a window shorter than a minute counting as one minute (a short local bake never
 * dilutes a count); rates and p99 are the window's own.
 */
export function evaluateCellAlarms(figures: CellWindowFigures): AlarmState[] {
  const minutes = Math.max(1, figures.windowMs / 60_000);
  const t = CELL_ALARM_THRESHOLDS;
  const errorRate = figures.requests === 0 ? 0 : figures.serverErrors / figures.requests;
  const checks: { key: keyof typeof CELL_ALARM_THRESHOLDS; value: number | null; unit: string }[] = [
    { key: 'serverErrorRate', value: figures.requests === 0 ? null : errorRate, unit: '' },
    { key: 'p99LatencyMs', value: figures.p99LatencyMs, unit: ' ms' },
    { key: 'functionThrottles', value: figures.functionThrottles / minutes, unit: '/min' },
    { key: 'functionErrors', value: figures.functionErrors / minutes, unit: '/min' },
  ];
  return checks.map(({ key, value, unit }) => {
    const name = CELL_ALARM_NAMES[key];
    // No traffic is not an outage (the stacks treat missing data as not breaching): the probe covers silence.
    if (value === null) return { name, state: 'OK' };
    const threshold = t[key];
    if (value < threshold) return { name, state: 'OK' };
    const shown = key === 'serverErrorRate' ? `${(value * 100).toFixed(1)}%` : `${Math.round(value * 10) / 10}${unit}`;
    const limit = key === 'serverErrorRate' ? `${threshold * 100}%` : `${threshold}${unit}`;
    return { name, state: 'ALARM', reason: `${shown} ≥ ${limit}` };
  });
}

/** The nearest-rank p99 of `values` (null when empty). */
export function p99(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? null;
}
