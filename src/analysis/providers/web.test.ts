import { describe, expect, it } from 'vitest';
import { MetricError } from './provider.ts';
import { createWebProvider, pickJsonValue } from './web.ts';
import { thrownBy } from '../../../test/support/thrown.ts';

const body = {
  data: { successRate: 99.5, latency: '120.5', empty: null, flag: true },
  pods: [
    { name: 'a', p99: 100 },
    { name: 'b', p99: 200 },
  ],
};

const failure = (jsonPath: string) => thrownBy(MetricError, () => pickJsonValue(body, jsonPath));

describe('pickJsonValue', () => {
  it('picks a number, a numeric string and several matches', () => {
    expect(pickJsonValue(body, '$.data.successRate')).toBe(99.5);
    expect(pickJsonValue(body, '$.data.latency')).toBe(120.5);
    expect(pickJsonValue(body, '$.pods[*].p99')).toEqual([100, 200]);
    expect(pickJsonValue(body, "$.pods[?(@.name === 'b')].p99")).toBe(200);
  });

  it('reports no match and null as no data', () => {
    expect(failure('$.data.missing').kind).toBe('noData');
    expect(failure('$.data.missing').message).toBe('no values from web for JSONPath $.data.missing');
    expect(failure('$.data.empty').kind).toBe('noData');
  });

  it('reports a match that is not a number', () => {
    const error = failure('$.data.flag');
    expect(error.kind).toBe('notANumber');
    expect(error.message).toBe('web: JSONPath $.data.flag matched true, expected a number');
    expect(failure('$.pods[0]').message).toMatch(/matched \{"name":"a","p99":100\}, expected a number/);
  });
});

describe('createWebProvider', () => {
  it('refuses an address that is not http(s)', () => {
    expect(() => createWebProvider({ url: 'ftp://x/y' })).toThrowError(
      'web provider: address "ftp://x/y" must be an http:// or https:// URL',
    );
  });
});
