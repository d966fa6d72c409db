import { describe, expect, it } from 'vitest';
import { parseKeptnQuery } from './keptn.ts';

describe('keptn', () => {
  it("parses Flagger's query forms; only the kind is case-insensitive", () => {
    expect(parseKeptnQuery('KeptnMetric/shop/response-time')).toEqual({
      kind: 'keptnmetric',
      namespace: 'shop',
      name: 'response-time',
    });
    expect(parseKeptnQuery('analysis/shop/slo/2m/app=Web;tier=front')).toEqual({
      kind: 'analysis',
      namespace: 'shop',
      name: 'slo',
      timeframe: '2m',
      args: { app: 'Web', tier: 'front' },
    });
    expect(parseKeptnQuery('analyses/shop/slo')).toMatchObject({ timeframe: '1m', args: {} });
    expect(() => parseKeptnQuery('metric/shop/x')).toThrowError(/^keptn: unknown kind "metric"/);
    expect(() => parseKeptnQuery('analysis/shop/slo/1m/app')).toThrowError(/argument "app" is not key=value/);
    expect(() => parseKeptnQuery('keptnmetric/shop')).toThrowError(/needs a kind, a namespace and a name/);
  });
});
