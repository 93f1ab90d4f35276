import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_GROWTH, bucketOf, bucketOfAttribute, bucketAttribute, percentileSeconds, upperBoundSeconds } from './resolve-time.js';

function exactPercentileSeconds(durationsMs: number[], p: number): number {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  return (sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] ?? Number.NaN) / 1000;
}

function histogramOf(durationsMs: number[]): Map<number, number> {
  const histogram = new Map<number, number>();
  for (const duration of durationsMs) histogram.set(bucketOf(duration), (histogram.get(bucketOf(duration)) ?? 0) + 1);
  return histogram;
}

describe('time-to-resolve histogram', () => {
  it('puts a duration in the bucket whose bounds hold it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1001, max: 10 * 365 * 86_400_000 }), (ms) => {
        const k = bucketOf(ms);
        expect(BUCKET_GROWTH ** k).toBeGreaterThanOrEqual(ms / 1000);
        expect(BUCKET_GROWTH ** (k - 1)).toBeLessThan(ms / 1000);
      }),
    );
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1000)).toBe(0);
    expect(bucketOf(1001)).toBe(1);
  });

  it('reports p50 and p90 never below the exact nearest-rank value and at most 10% plus a second above it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 90 * 86_400_000 }), { minLength: 1, maxLength: 200 }), fc.constantFrom(0.5, 0.9), (durations, p) => {
        const reported = percentileSeconds(histogramOf(durations), p);
        const exact = exactPercentileSeconds(durations, p);
        expect(reported).not.toBeNull();
        expect(reported as number).toBeGreaterThanOrEqual(exact);
        expect(reported as number).toBeLessThanOrEqual(exact * 1.1 + 1);
      }),
    );
  });

  it('reports nothing for no resolutions', () => {
    expect(percentileSeconds(new Map(), 0.5)).toBeNull();
  });

  it('reads back only its own bucket attributes', () => {
    expect(bucketOfAttribute(bucketAttribute(42))).toBe(42);
    for (const name of ['created', 'resolved', 'r', 'r-1', 'r999', 'rx', 'h01']) expect(bucketOfAttribute(name)).toBeUndefined();
    expect(upperBoundSeconds(0)).toBe(1);
  });
});
