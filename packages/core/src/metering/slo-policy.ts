/**
 * The tenant SLO policy (DESIGN §10): windows, alerts, the error budget's period, and the burn-rate
 * arithmetic. Core's SLO computations (slo.ts) and the Cell stacks' burn-rate alarms both read it, so
 * both judge alike. Burn rate = bad fraction / (1 − objective). Alerts follow the Google SRE
 * workbook's multiwindow, multi-burn-rate policy: `fast` when the burn rate is ≥ 14.4 over 1 h AND
 * over 5 min (2 % of a 30-day budget in an hour), `slow` when ≥ 6 over 6 h AND over 30 min (5 % in
 * six hours); the short window makes an alert stop soon after the trouble does.
 */
import { LATENCY_SLO_PERCENT, TIERS, type TierName } from '../tenancy/tiers.js';

export type SliName = 'availability' | 'latency';

/** The ledger's gateway buckets are this long; windows are whole buckets. */
export const BUCKET_MINUTES = 5;

/** The alerting windows, in minutes. */
export const SLO_WINDOWS = { '5m': 5, '30m': 30, '1h': 60, '6h': 360 } as const;
export type SloWindow = keyof typeof SLO_WINDOWS;
export const SLO_WINDOW_NAMES = Object.keys(SLO_WINDOWS) as SloWindow[];

/**
 * Multiwindow burn-rate alerts (Google SRE workbook, chapter 5): both windows must burn this fast.
 * Against a 30-day budget (SLO_BUDGET_DAYS), fast pages when 2% of the budget goes in an hour, slow
 * when 5% goes in six hours.
 */
export const BURN_RATE_ALERTS = {
  fast: { burnRate: 14.4, long: '1h', short: '5m' },
  slow: { burnRate: 6, long: '6h', short: '30m' },
} as const satisfies Record<string, { burnRate: number; long: SloWindow; short: SloWindow }>;
export type BurnRateAlert = keyof typeof BURN_RATE_ALERTS;

/**
 * The error budget's rolling period, the one the burn-rate thresholds assume. It is read from the
 * ledger's day rows (kept 400 days); the alerting windows from its 5-minute buckets (kept 8 days).
 */
export const SLO_BUDGET_DAYS = 30;

/** The window of the noisy-neighbour view and of the traffic figures in the report. */
export const TRAFFIC_WINDOW: SloWindow = '1h';

/** Valid events and the bad ones among them. */
export interface SliCounts {
  valid: number;
  bad: number;
}

/** bad fraction / (1 − objective): 1 spends the budget exactly over the period; 0 without valid events. */
export function burnRate(counts: SliCounts, objectivePercent: number): number {
  if (counts.valid === 0) return 0;
  return (counts.bad * 100) / (counts.valid * (100 - objectivePercent));
}

/** The alerts whose long AND short windows both burn at least their rate. */
export function firingAlerts(burnRates: Record<SloWindow, number>): BurnRateAlert[] {
  return (Object.keys(BURN_RATE_ALERTS) as BurnRateAlert[]).filter((name) => {
    const { burnRate: threshold, long, short } = BURN_RATE_ALERTS[name];
    return burnRates[long] >= threshold && burnRates[short] >= threshold;
  });
}

/** The objective an SLI of a tier is judged against, in percent. */
export function objectivePercent(tier: TierName, sli: SliName): number {
  return sli === 'availability' ? TIERS[tier].slo.availabilityPercent : LATENCY_SLO_PERCENT;
}
