import { describe, expect, it } from 'vitest';
import { BenchExporter } from './exporter.ts';
import { histogramBuckets, parsePrometheusText, sumOf } from './prom-text.ts';
import { histogramQuantile } from './stats.ts';

describe('BenchExporter', () => {
  it("serves Istio's destination series for every workload, counters growing with time", () => {
    const exporter = new BenchExporter({ rps: 10 });
    exporter.add('ns', ['a', 'b'], 0);
    const samples = parsePrometheusText(exporter.render(2000));
    const a = { destination_workload_namespace: 'ns', destination_workload: 'a', reporter: 'destination' };
    expect(sumOf(samples, 'istio_requests_total', { ...a, response_code: '200' })).toBe(20);
    expect(sumOf(samples, 'istio_requests_total', { ...a, response_code: '500' })).toBe(0);
    expect(sumOf(samples, 'istio_requests_total', { destination_workload: 'b' })).toBe(20);
    // Every request takes 50 ms: p99 lands just under the 50 ms edge, far below a 500 ms limit.
    expect(
      histogramQuantile(0.99, histogramBuckets(samples, 'istio_request_duration_milliseconds', a)),
    ).toBeCloseTo(49.75);
  });

  it("changes one workload's error ratio from a given instant, keeping counters monotonic", () => {
    const exporter = new BenchExporter({ rps: 10 });
    exporter.add('ns', ['a', 'b'], 0);
    exporter.setErrorRatio('ns', 'a', 0.5, 1000);
    const samples = parsePrometheusText(exporter.render(3000));
    expect(sumOf(samples, 'istio_requests_total', { destination_workload: 'a', response_code: '200' })).toBe(
      20,
    );
    expect(sumOf(samples, 'istio_requests_total', { destination_workload: 'a', response_code: '500' })).toBe(
      10,
    );
    expect(sumOf(samples, 'istio_requests_total', { destination_workload: 'b', response_code: '500' })).toBe(
      0,
    );
    expect(() => exporter.setErrorRatio('ns', 'missing', 1)).toThrow(/no workload ns\/missing/);
  });

  it('stops exposing a namespace', () => {
    const exporter = new BenchExporter();
    exporter.add('one', ['a'], 0);
    exporter.add('two', ['a'], 0);
    exporter.add('two', ['a'], 500);
    exporter.removeNamespace('one');
    expect(exporter.size).toBe(1);
    expect(exporter.render(1000)).not.toContain('"one"');
  });
});
