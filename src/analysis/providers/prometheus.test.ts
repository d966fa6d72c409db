import { describe, expect, it } from 'vitest';
import { normalizePrometheusError, parseSample, prometheusResultToValue } from './prometheus.ts';
import { MetricError, type MetricErrorKind } from './provider.ts';
import { thrownBy } from '../../../test/support/thrown.ts';

const query = 'sum(rate(x[1m]))';

function vector(...values: string[]) {
  return {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((value, i) => ({ metric: { pod: `p${i}` }, value: [1_700_000_000.1, value] })),
    },
  };
}

const failure = (run: () => unknown) => thrownBy(MetricError, run);

describe('parseSample', () => {
  it('reads Prometheus sample strings', () => {
    expect(parseSample('1.5')).toBe(1.5);
    expect(parseSample('1e3')).toBe(1000);
    expect(parseSample('+Inf')).toBe(Infinity);
    expect(parseSample('-Inf')).toBe(-Infinity);
    expect(parseSample('NaN')).toBeNaN();
    expect(parseSample('')).toBeNaN();
  });
});

describe('prometheusResultToValue', () => {
  it('returns the number of a single series', () => {
    expect(prometheusResultToValue(vector('99.5'), query)).toBe(99.5);
  });

  it('returns one number per series for several series', () => {
    expect(prometheusResultToValue(vector('1', '2', '3'), query)).toEqual([1, 2, 3]);
  });

  it('returns a scalar', () => {
    const body = { status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, '1'] } };
    expect(prometheusResultToValue(body, 'vector(1)')).toBe(1);
  });

  const cases: [string, unknown, MetricErrorKind, string][] = [
    ['an empty vector', vector(), 'noData', `no values from prometheus for query ${query}`],
    [
      'NaN',
      vector('NaN'),
      'notANumber',
      `prometheus query returned NaN (0/0: probably no traffic in the window): ${query}`,
    ],
    ['+Inf', vector('+Inf'), 'notANumber', `prometheus query returned +Inf: ${query}`],
    [
      '-Inf in one of several series',
      vector('1', '-Inf'),
      'notANumber',
      `prometheus query returned -Inf: ${query}`,
    ],
    [
      'a range vector',
      { status: 'success', data: { resultType: 'matrix', result: [] } },
      'query',
      'prometheus: query returned a range vector; a metric query must return an instant vector or a scalar (wrap the [range] selector in a function such as rate() or avg_over_time()): sum(rate(x[1m]))',
    ],
    [
      'a string',
      { status: 'success', data: { resultType: 'string', result: [1, 'a'] } },
      'query',
      `prometheus: query returned a string, expected a number: ${query}`,
    ],
    [
      'an error status',
      { status: 'error', errorType: 'bad_data', error: 'parse error' },
      'query',
      `prometheus: query failed (bad_data): parse error: ${query}`,
    ],
    [
      'something that is not a Prometheus answer',
      '<html>login</html>',
      'http',
      `prometheus: the answer is not a Prometheus API response ("<html>login</html>") for query ${query}`,
    ],
  ];

  it.each(cases)('reports %s', (_, body, kind, message) => {
    const error = failure(() => prometheusResultToValue(body, query));
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(message);
    expect(error.provider).toBe('prometheus');
    expect(error.query).toBe(query);
  });
});

describe('normalizePrometheusError', () => {
  const context = { query, address: 'http://prom:9090', timeoutMs: 2000 };
  const cases: [string, unknown, MetricErrorKind, string, number?][] = [
    [
      'a client timeout',
      {
        status: 'error',
        errorType: 'timeout_error',
        error: 'timeout of 2000ms exceeded',
        code: 'ECONNABORTED',
      },
      'timeout',
      `prometheus at http://prom:9090 did not answer after 2000ms: ${query}`,
    ],
    [
      'a cancelled request',
      { status: 'error', errorType: 'network_error', error: 'canceled', code: 'ERR_CANCELED' },
      'timeout',
      `prometheus query was cancelled or timed out after 2000ms: ${query}`,
    ],
    [
      'a refused connection',
      { status: 'error', errorType: 'network_error', error: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
      'http',
      `prometheus at http://prom:9090 is unreachable (ECONNREFUSED): ${query}`,
    ],
    [
      'HTTP 401',
      { status: 'error', errorType: 'http_error', httpStatus: 401, error: 'Unauthorized', prometheus: {} },
      'auth',
      'prometheus at http://prom:9090 refused the credentials (HTTP 401): Unauthorized',
      401,
    ],
    [
      'HTTP 403',
      { status: 'error', errorType: 'http_error', httpStatus: 403, error: 'forbidden' },
      'auth',
      'prometheus at http://prom:9090 refused the credentials (HTTP 403): forbidden',
      403,
    ],
    [
      'a PromQL syntax error',
      {
        status: 'error',
        errorType: 'http_error',
        httpStatus: 400,
        error: '1:5: parse error: unexpected',
        prometheus: { status: 'error', errorType: 'bad_data', error: '1:5: parse error: unexpected' },
      },
      'query',
      `prometheus rejected the query (HTTP 400, bad_data): 1:5: parse error: unexpected: ${query}`,
      400,
    ],
    [
      'an execution error',
      {
        errorType: 'http_error',
        httpStatus: 422,
        error: 'many-to-many matching not allowed',
        prometheus: { errorType: 'execution', error: 'many-to-many matching not allowed' },
      },
      'query',
      `prometheus rejected the query (HTTP 422, execution): many-to-many matching not allowed: ${query}`,
      422,
    ],
    [
      "Prometheus' own query timeout",
      {
        errorType: 'http_error',
        httpStatus: 503,
        error: 'query timed out in expression evaluation',
        prometheus: { errorType: 'timeout', error: 'query timed out in expression evaluation' },
      },
      'timeout',
      `prometheus timed out evaluating the query (query timed out in expression evaluation): ${query}`,
      503,
    ],
    [
      'HTTP 502 from a proxy',
      { errorType: 'http_error', httpStatus: 502, error: 'Bad Gateway' },
      'http',
      `prometheus at http://prom:9090 answered HTTP 502: Bad Gateway: ${query}`,
      502,
    ],
    [
      'a non-JSON success',
      { status: 'error', errorType: 'client_error', error: 'unexpected client error' },
      'http',
      `prometheus at http://prom:9090 gave an unusable answer (client_error: unexpected client error): ${query}`,
    ],
    [
      'a plain Error',
      new Error('Unexpected resultType: weird'),
      'query',
      `prometheus: Unexpected resultType: weird: ${query}`,
    ],
  ];

  it.each(cases)('maps %s', (_, thrown, kind, message, status) => {
    const error = normalizePrometheusError(thrown, context);
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(message);
    expect(error.status).toBe(status);
    expect(error.query).toBe(query);
  });

  it('passes a MetricError through', () => {
    const original = new MetricError('noData', { provider: 'prometheus', query, message: 'x' });
    expect(normalizePrometheusError(original, context)).toBe(original);
  });
});
