import { describe, expect, it } from 'vitest';
import { externalMetricsToValue, parseExternalMetricsQuery, parseQuantity } from './externalmetrics.ts';

describe('externalmetrics', () => {
  it("parses Flagger's <namespace>/<metric>?labelSelector=… form", () => {
    expect(parseExternalMetricsQuery('webapp/job-success-rate?labelSelector=env%3Dproduction')).toEqual({
      namespace: 'webapp',
      metric: 'job-success-rate',
      labelSelector: 'env=production',
    });
    expect(parseExternalMetricsQuery('queue-depth')).toEqual({ namespace: 'default', metric: 'queue-depth' });
    expect(parseExternalMetricsQuery('/queue-depth')).toEqual({
      namespace: 'default',
      metric: 'queue-depth',
    });
    expect(() => parseExternalMetricsQuery('ns/')).toThrowError(/the metric name is empty/);
  });

  it('reads Kubernetes quantities', () => {
    expect(parseQuantity('1500m')).toBe(1.5);
    expect(parseQuantity('2k')).toBe(2000);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('1.5e3')).toBe(1500);
    expect(parseQuantity('12')).toBe(12);
    expect(parseQuantity('abc')).toBeNaN();
    expect(externalMetricsToValue({ items: [{ value: '250m' }] }, 'q')).toBe(0.25);
    expect(() => externalMetricsToValue({ items: [{ value: 'x' }] }, 'q')).toThrowError(/returned NaN/);
    expect(() => externalMetricsToValue({ items: [] }, 'q')).toThrowError(
      'no values from externalmetrics for query q',
    );
  });
});
