import { describe, expect, it } from 'vitest';
import { histogramBuckets, parsePrometheusText, sumBy, sumOf } from './prom-text.ts';

const TEXT = `# HELP apiserver_request_total Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",resource="pods",verb="LIST"} 12
apiserver_request_total{code="200",component="apiserver",resource="deployments",verb="GET"} 30
apiserver_request_total{code="201",component="apiserver",resource="events",verb="POST"} 4 1700000000000
prometheus_http_requests_total{code="200",handler="/api/v1/query"} 7
odd{path="a\\"b\\\\c\\nd"} 1.5e3
sluice_tick_lag_seconds_bucket{le="0.1"} 3
sluice_tick_lag_seconds_bucket{le="+Inf"} 4
up NaN
`;

describe('parsePrometheusText', () => {
  const samples = parsePrometheusText(TEXT);

  it('reads names, labels with escapes, values and ignores timestamps and comments', () => {
    expect(samples).toHaveLength(8);
    expect(samples[2]).toEqual({
      name: 'apiserver_request_total',
      labels: { code: '201', component: 'apiserver', resource: 'events', verb: 'POST' },
      value: 4,
    });
    expect(samples[4]).toEqual({ name: 'odd', labels: { path: 'a"b\\c\nd' }, value: 1500 });
    expect(samples[7]?.value).toBeNaN();
  });

  it('sums series by filter, by label and with predicates', () => {
    expect(sumOf(samples, 'apiserver_request_total')).toBe(46);
    expect(sumOf(samples, 'apiserver_request_total', { verb: 'GET' })).toBe(30);
    expect(sumOf(samples, 'apiserver_request_total', { code: (c) => c.startsWith('2') })).toBe(46);
    expect(sumBy(samples, 'apiserver_request_total', 'verb')).toEqual(
      new Map([
        ['LIST', 12],
        ['GET', 30],
        ['POST', 4],
      ]),
    );
  });

  it('reads histogram buckets, +Inf included', () => {
    expect(histogramBuckets(samples, 'sluice_tick_lag_seconds')).toEqual([
      { le: 0.1, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 4 },
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() => parsePrometheusText('not a metric line at all {')).toThrow(/not a metrics line/);
    expect(() => parsePrometheusText('x{a="1} 2')).toThrow(/unterminated/);
  });
});
