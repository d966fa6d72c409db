import { describe, expect, it } from 'vitest';
import { insightsResultToValue, nerdGraphResultToValue } from './newrelic.ts';

describe('newrelic', () => {
  it('reads the one number of each row, facets as several values, null as no data', () => {
    expect(insightsResultToValue({ results: [{ result: 1.5 }] }, 'q')).toBe(1.5);
    expect(insightsResultToValue({ results: [{ percentiles: { '99': 0.42 } }] }, 'q')).toBe(0.42);
    expect(
      insightsResultToValue(
        {
          facets: [
            { name: 'a', results: [{ count: 2 }] },
            { name: 'b', results: [{ count: 5 }] },
          ],
        },
        'q',
      ),
    ).toEqual([2, 5]);
    expect(() => insightsResultToValue({ results: [{ average: null }] }, 'q')).toThrowError(
      'no values from newrelic for query q',
    );
    expect(() => insightsResultToValue({ results: [{ a: 1, b: 2 }] }, 'q')).toThrowError(
      'newrelic: a result row holds 2 numbers; select one value: q',
    );
  });

  it('reads NerdGraph rows and tells a refused key from a bad query', () => {
    const rows = (results: unknown[]) => ({ data: { actor: { account: { nrql: { results } } } } });
    expect(nerdGraphResultToValue(rows([{ 'average.duration': 0.2, beginTimeSeconds: 1 }]), 'q')).toBe(0.2);
    expect(
      nerdGraphResultToValue(
        rows([
          { facet: 'x', count: 1 },
          { facet: 'y', count: 4 },
        ]),
        'q',
      ),
    ).toEqual([1, 4]);
    expect(() => nerdGraphResultToValue({ errors: [{ message: 'NRQL Syntax Error' }] }, 'q')).toThrowError(
      'newrelic rejected the query: NRQL Syntax Error: q',
    );
    expect(() =>
      nerdGraphResultToValue(
        { errors: [{ message: 'Invalid API key', extensions: { errorClass: 'UNAUTHORIZED' } }] },
        'q',
      ),
    ).toThrowError('newrelic refused the API key: Invalid API key: q');
  });
});
