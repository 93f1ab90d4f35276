import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countAbove, histogramCount, mergeHistograms, nearestRank, percentiles } from './latency-histogram.js';

/** The textbook definition, on the raw list: sort, take the value of rank ⌈p/100 × N⌉. */
function rawNearestRank(latencies: readonly number[], percentile: number): number | null {
  if (latencies.length === 0) return null;
  const sorted = [...latencies].sort((a, b) => a - b);
  // ⌈p × N / 100⌉ in integers: (56 / 100) × 25 is 14.000000000000002 in floating point, whose ceiling is 15.
  return sorted[Math.ceil((percentile * sorted.length) / 100) - 1] ?? null;
}

function histogramOf(latencies: readonly number[]): Map<number, number> {
  const histogram = new Map<number, number>();
  for (const latency of latencies) histogram.set(latency, (histogram.get(latency) ?? 0) + 1);
  return histogram;
}

// A few distinct values repeated often (ties at the rank boundary) as well as a wide spread.
const latency = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 60_000 }));
const bucketsOfLatencies = fc.array(fc.array(latency, { maxLength: 200 }), { maxLength: 12 });

describe('nearestRank', () => {
  it('equals the nearest-rank percentile of the raw latencies, however the requests were split into buckets', () => {
    fc.assert(
      fc.property(bucketsOfLatencies, fc.integer({ min: 1, max: 100 }), (buckets, percentile) => {
        const merged = mergeHistograms(buckets.map(histogramOf));
        expect(nearestRank(merged, percentile)).toBe(rawNearestRank(buckets.flat(), percentile));
      }),
      { numRuns: 500 },
    );
  });

  it('takes rank 14 of 25 for p56, where floating point would say 15', () => {
    const latencies = [...Array.from({ length: 14 }, () => 0), ...Array.from({ length: 11 }, () => 1)];
    expect(nearestRank(histogramOf(latencies), 56)).toBe(0);
  });

  it('reports p50, p95 and p99 equal to the raw log for the same requests', () => {
    fc.assert(
      fc.property(bucketsOfLatencies, (buckets) => {
        const raw = buckets.flat();
        expect(percentiles(mergeHistograms(buckets.map(histogramOf)))).toEqual({
          p50: rawNearestRank(raw, 50),
          p95: rawNearestRank(raw, 95),
          p99: rawNearestRank(raw, 99),
        });
      }),
    );
  });

  it('takes rank ⌈p × N⌉ exactly at the boundary (hand-computed)', () => {
    // 100 requests 1..100 ms: p99 is the 99th value; 101 requests: rank ⌈99.99⌉ = 100.
    const hundred = histogramOf(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(percentiles(hundred)).toEqual({ p50: 50, p95: 95, p99: 99 });
    const hundredAndOne = histogramOf(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(percentiles(hundredAndOne)).toEqual({ p50: 51, p95: 96, p99: 100 });
    // One slow request in twenty is the p95 … only when it is more than 5 %.
    expect(
      nearestRank(
        new Map([
          [10, 19],
          [900, 1],
        ]),
        95,
      ),
    ).toBe(10);
    expect(
      nearestRank(
        new Map([
          [10, 18],
          [900, 2],
        ]),
        95,
      ),
    ).toBe(900);
  });

  it('has no percentile without requests, and refuses a percentile outside 1..100', () => {
    expect(percentiles(new Map())).toEqual({ p50: null, p95: null, p99: null });
    expect(nearestRank(new Map([[5, 0]]), 50)).toBeNull();
    for (const bad of [0, 101, 99.9, -1]) expect(() => nearestRank(new Map([[1, 1]]), bad)).toThrow(RangeError);
  });
});

describe('histogram counts', () => {
  it('count requests and those slower than a threshold (the threshold itself is not slower)', () => {
    const histogram = new Map([
      [100, 3],
      [500, 2],
      [501, 1],
    ]);
    expect(histogramCount(histogram)).toBe(6);
    expect(countAbove(histogram, 500)).toBe(1);
    expect(countAbove(histogram, 499)).toBe(3);
  });
});
