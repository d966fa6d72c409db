import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './histogram.ts';

describe('LatencyHistogram', () => {
  it('answers percentiles within 2 %', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1_000; ms += 1) histogram.record(ms);
    expect(histogram.count).toBe(1_000);
    expect(histogram.quantile(0.5)).toBeGreaterThanOrEqual(500);
    expect(histogram.quantile(0.5)).toBeLessThanOrEqual(510);
    expect(histogram.quantile(0.99)).toBeGreaterThanOrEqual(990);
    expect(histogram.quantile(0.99)).toBeLessThanOrEqual(1_000);
    expect(histogram.max).toBe(1_000);
    expect(histogram.mean).toBeCloseTo(500.5, 5);
  });

  it('never reports more than the largest sample and is 0 when empty', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.quantile(0.99)).toBe(0);
    histogram.record(3.3);
    expect(histogram.quantile(1)).toBe(3.3);
    histogram.record(0);
    expect(histogram.quantile(0.01)).toBeLessThan(0.01);
  });
});
