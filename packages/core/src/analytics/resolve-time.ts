/**
 * Time to resolve, kept as a bounded histogram so that percentiles over any range of days are a sum
 * of a few items, never a read of every case. Bucket `k` holds durations in (1.1^(k-1), 1.1^k]
 * seconds (bucket 0: one second or less); a percentile is reported as its bucket's upper bound,
 * rounded up to a whole second. So a reported percentile is never below the exact one (nearest-rank
 * over the same resolutions) and at most 10% plus one second above it. 232 buckets reach a century.
 */
export const BUCKET_GROWTH = 1.1;
const LOG_GROWTH = Math.log(BUCKET_GROWTH);
/** The last bucket also holds anything longer (over a century). */
export const MAX_BUCKET = 232;

/** The bucket a duration in milliseconds falls into. */
export function bucketOf(durationMs: number): number {
  const seconds = Math.max(0, durationMs) / 1000;
  if (seconds <= 1) return 0;
  let k = Math.ceil(Math.log(seconds) / LOG_GROWTH);
  // Floating point may put an exact power one bucket off: settle it against the bounds themselves.
  while (k > 0 && BUCKET_GROWTH ** (k - 1) >= seconds) k -= 1;
  while (BUCKET_GROWTH ** k < seconds) k += 1;
  return Math.min(k, MAX_BUCKET);
}

/** The largest duration (whole seconds, rounded up) bucket `k` holds. */
export function upperBoundSeconds(bucket: number): number {
  return Math.ceil(BUCKET_GROWTH ** bucket - 1e-9);
}

/** A histogram: how many resolutions fell into each bucket. */
export type Histogram = ReadonlyMap<number, number>;

/**
 * The nearest-rank percentile (`p` in (0, 1]) of the durations a histogram holds, as its bucket's
 * upper bound in seconds; null for an empty histogram.
 */
export function percentileSeconds(histogram: Histogram, p: number): number | null {
  const buckets = [...histogram].filter(([, count]) => count > 0).sort(([a], [b]) => a - b);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return upperBoundSeconds(bucket);
  }
  return null;
}

/** The attribute of a day's aggregate item that counts resolutions in bucket `k`. */
export function bucketAttribute(bucket: number): string {
  return `r${bucket}`;
}

/** The bucket an attribute name counts, or undefined when it is not a histogram attribute. */
export function bucketOfAttribute(name: string): number | undefined {
  const match = /^r(\d{1,3})$/.exec(name);
  if (!match) return undefined;
  const bucket = Number(match[1]);
  return bucket <= MAX_BUCKET ? bucket : undefined;
}
