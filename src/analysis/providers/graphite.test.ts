import { describe, expect, it } from 'vitest';
import { graphiteResultToValue, renderParameters } from './graphite.ts';

describe('graphite', () => {
  it('takes the last non-null point of each target', () => {
    const body = [
      {
        target: 'a',
        datapoints: [
          [1, 10],
          [2, 20],
          [null, 30],
        ],
      },
      { target: 'b', datapoints: [['7.5', 10]] },
      { target: 'c', datapoints: [[null, 10]] },
    ];
    expect(graphiteResultToValue(body, 'q')).toEqual([2, 7.5]);
    expect(() => graphiteResultToValue([], 'q')).toThrowError('no values from graphite for query q');
  });

  it('sends the render parameters as written, with format=json, and wants a target', () => {
    expect(
      renderParameters("target=summarize(a.b,\n  '1min', 'avg')&target=c&from=-5min&format=png"),
    ).toEqual({
      target: ["summarize(a.b, '1min', 'avg')", 'c'],
      from: ['-5min'],
      format: ['json'],
    });
    expect(() => renderParameters('a.b.c')).toThrowError(/must hold render parameters with a target/);
  });
});
