/**
 * Exact latency histograms (whole milliseconds → request count) and their nearest-rank percentiles.
 * The ledger keeps one histogram per tenant and 5-minute bucket; merging them loses nothing, so a
 * percentile over any window equals the one computed from the raw access log lines.
 */

export type LatencyHistogram = ReadonlyMap<number, number>;

/** The percentiles tenant SLOs report. */
export const REPORTED_PERCENTILES = [50, 95, 99] as const;

export interface Percentiles {
  /** `null` when there is no request to rank. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Sums histograms: the histogram of all their requests together. */
export function mergeHistograms(histograms: Iterable<LatencyHistogram>): Map<number, number> {
  const merged = new Map<number, number>();
  for (const histogram of histograms) {
    for (const [latencyMs, count] of histogram) merged.set(latencyMs, (merged.get(latencyMs) ?? 0) + count);
  }
  return merged;
}

/** How many requests a histogram holds. */
export function histogramCount(histogram: LatencyHistogram): number {
  let total = 0;
  for (const count of histogram.values()) total += count;
  return total;
}

/** How many requests took longer than `thresholdMs`. */
export function countAbove(histogram: LatencyHistogram, thresholdMs: number): number {
  let total = 0;
  for (const [latencyMs, count] of histogram) if (latencyMs > thresholdMs) total += count;
  return total;
}

/**
 * The nearest-rank percentile: the smallest recorded latency such that at least `percentile` % of
 * the requests took no longer — the value of rank ⌈percentile/100 × N⌉ in the sorted list. Integer
 * arithmetic, so no rounding can move the rank. `null` for an empty histogram.
 */
export function nearestRank(histogram: LatencyHistogram, percentile: number): number | null {
  if (!Number.isInteger(percentile) || percentile <= 0 || percentile > 100) throw new RangeError(`percentile must be a whole number in 1..100, not ${percentile}`);
  const total = histogramCount(histogram);
  if (total === 0) return null;
  const rank = Math.floor((percentile * total + 99) / 100);
  let seen = 0;
  for (const latencyMs of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(latencyMs) ?? 0;
    if (seen >= rank) return latencyMs;
  }
  return null;
}

/** p50, p95 and p99 of a histogram. */
export function percentiles(histogram: LatencyHistogram): Percentiles {
  const [p50, p95, p99] = REPORTED_PERCENTILES.map((percentile) => nearestRank(histogram, percentile));
  return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
}
