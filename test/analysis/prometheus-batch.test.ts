import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchExporter } from '../../bench/exporter.ts';
import { createQueryBatcher } from '../../src/analysis/batch.ts';
import { runAnalysis, type AnalysisDeps } from '../../src/analysis/evaluate.ts';
import type { CanaryContext, MetricCheck } from '../../src/analysis/types.ts';
import { testEnv } from '../support/env.ts';
import { waitForSeries } from '../support/prometheus.ts';

// Batched built-in checks against the real Prometheus: each canary's verdict from the one
// query per metric equals the verdict of its own queries, evaluated at the same instant; a
// canary without series has no data in both, never a pass.

const suffix = randomBytes(3).toString('hex');
const namespaces = [`batch-a-${suffix}`, `batch-b-${suffix}`];
const exporter = new BenchExporter({ fileName: `sluice-batch-${suffix}` });

const checks: MetricCheck[] = [
  { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 99 } },
  { name: 'request-duration', interval: '30s', thresholdRange: { max: 500 } },
];

function canary(namespace: string, target: string): CanaryContext {
  return { name: target, namespace, target, provider: 'istio', metricsServer: testEnv().prometheusUrl };
}

const canaries = [
  canary(namespaces[0]!, 'healthy'),
  canary(namespaces[0]!, 'failing'),
  canary(namespaces[0]!, 'half'),
  canary(namespaces[1]!, 'healthy'),
  canary(namespaces[1]!, 'silent'), // no series at all
];

describe('batched built-in queries on the real Prometheus', () => {
  beforeAll(async () => {
    const start = Date.now() - 1000;
    exporter.add(namespaces[0]!, ['healthy', 'failing', 'half'], start);
    exporter.add(namespaces[1]!, ['healthy'], start);
    exporter.setErrorRatio(namespaces[0]!, 'failing', 1, start);
    exporter.setErrorRatio(namespaces[0]!, 'half', 0.5, start);
    await exporter.start(testEnv().prometheusTargetsDir);
    // Three scrapes at least (one a second), so every rate has two points in its window.
    await waitForSeries(
      `count_over_time(istio_requests_total{destination_workload_namespace="${namespaces[1]}"}[30s]) >= 3`,
    );
  }, 60_000);

  afterAll(() => exporter.stop());

  it("gives each canary exactly its own queries' verdicts, with one query per metric", async () => {
    const at = Date.now() - 500;
    const deps = (c: CanaryContext, batched: boolean): AnalysisDeps => ({
      canary: c,
      getTemplate: () => Promise.resolve(undefined),
      at,
      ...(batched ? { batcher } : {}),
    });
    const batcher = createQueryBatcher({ windowMs: 100 });
    const own = await Promise.all(canaries.map((c) => runAnalysis(checks, deps(c, false))));
    const batched = await Promise.all(canaries.map((c) => runAnalysis(checks, deps(c, true))));
    expect(batcher.stats()).toEqual({ queries: 2, checks: 10 });
    expect(batched).toEqual(own);

    const verdicts = batched.map((result) =>
      result.checks.map((check) => [
        check.passed,
        typeof check.value === 'number' ? Number(check.value.toFixed(2)) : check.error,
      ]),
    );
    expect(verdicts).toEqual([
      [
        [true, 100],
        [true, 49.75],
      ],
      [
        [false, 0],
        [true, 49.75],
      ],
      [
        [false, 50],
        [true, 49.75],
      ],
      [
        [true, 100],
        [true, 49.75],
      ],
      [
        [false, 'noData'],
        [false, 'noData'],
      ],
    ]);
  }, 30_000);
});
