import { describe, expect, it } from 'vitest';
import { bucketDelta, histogramQuantile, mapLimit, median, percentile, summarize } from './stats.ts';

describe('percentile', () => {
  it('interpolates between the closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
    expect(percentile([10, 20], 99)).toBeCloseTo(19.9);
    expect(median([5])).toBe(5);
  });

  it('is NaN without values and refuses p outside 0–100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/0–100/);
  });

  it('summarises count, p50, p99, max and mean', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    expect(summarize(values)).toEqual({ count: 101, p50: 50, p99: 99, max: 100, mean: 50 });
    expect(summarize([]).max).toBeNaN();
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 50 },
    { le: 0.5, count: 90 },
    { le: 1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];

  it('interpolates within the bucket, as Prometheus does', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.3);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.95);
  });

  it('answers the largest finite bound for the +Inf bucket and NaN without observations', () => {
    expect(
      histogramQuantile(0.99, [
        { le: 1, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBe(1);
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }])).toBeNaN();
  });

  it('takes the growth of a histogram over a window', () => {
    const before = [
      { le: 1, count: 5 },
      { le: Number.POSITIVE_INFINITY, count: 7 },
    ];
    const after = [
      { le: 1, count: 8 },
      { le: Number.POSITIVE_INFINITY, count: 12 },
    ];
    expect(bucketDelta(before, after)).toEqual([
      { le: 1, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 5 },
    ]);
  });
});

describe('mapLimit', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, i) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, ms));
      running -= 1;
      return i * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40]);
    expect(most).toBe(2);
  });
});
