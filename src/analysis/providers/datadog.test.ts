import { describe, expect, it } from 'vitest';
import { datadogResultToValue } from './datadog.ts';
import { MetricError } from './provider.ts';
import { thrownBy } from '../../../test/support/thrown.ts';

const query = 'avg:trace.http.request.errors{service:podinfo}';

function series(...pointlists: [number, number | null][][]) {
  return { status: 'ok', res_type: 'time_series', series: pointlists.map((pointlist) => ({ pointlist })) };
}

const failure = (body: unknown) => thrownBy(MetricError, () => datadogResultToValue(body, query));

describe('datadogResultToValue', () => {
  it('takes the last non-null point of a series', () => {
    expect(
      datadogResultToValue(
        series([
          [1000, 1.5],
          [2000, 2.5],
          [3000, null],
        ]),
        query,
      ),
    ).toBe(2.5);
  });

  it('returns one value per series', () => {
    expect(datadogResultToValue(series([[1000, 1]], [[1000, 2]]), query)).toEqual([1, 2]);
  });

  it('reports no series, empty and all-null pointlists as no data', () => {
    for (const body of [series(), series([]), series([[1000, null]]), { status: 'ok' }]) {
      const error = failure(body);
      expect(error.kind).toBe('noData');
      expect(error.message).toBe(`no values from datadog for query ${query}`);
    }
  });

  it('reports a query error in a 200 answer', () => {
    const error = failure({ status: 'error', error: 'Error parsing query: unexpected }' });
    expect(error.kind).toBe('query');
    expect(error.message).toBe(`datadog rejected the query: Error parsing query: unexpected }: ${query}`);
  });

  it('reports an answer of the wrong shape', () => {
    const error = failure({ series: [{ pointlist: 'nope' }] });
    expect(error.kind).toBe('http');
    expect(error.message).toMatch(/^datadog: the answer is not a metrics query response/);
  });
});
