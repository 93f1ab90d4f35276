/** The `p`th percentile (0–100) of latencies sorted ascending: the nearest sample at or below it. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
