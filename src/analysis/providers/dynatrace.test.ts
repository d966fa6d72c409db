import { describe, expect, it } from 'vitest';
import { dynatraceResultToValue } from './dynatrace.ts';

describe('dynatrace', () => {
  it('takes the last non-null value of each series; nulls alone are no data', () => {
    const body = (...series: (number | null)[][]) => ({
      result: [{ metricId: 'm', data: series.map((values) => ({ values })) }],
    });
    expect(dynatraceResultToValue(body([120, null]), 'm')).toBe(120);
    expect(dynatraceResultToValue(body([1], [2]), 'm')).toEqual([1, 2]);
    expect(() => dynatraceResultToValue(body([null]), 'm')).toThrowError(
      'no values from dynatrace for query m',
    );
    expect(() => dynatraceResultToValue({ totalCount: 0 }, 'm')).toThrowError(
      /^dynatrace: the answer is not a metrics query result/,
    );
  });
});
