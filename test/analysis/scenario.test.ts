import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runAnalysis, type AnalysisDeps, type CheckResult } from '../../src/analysis/evaluate.ts';
import { kubeLookups } from '../../src/analysis/kube.ts';
import type { MetricCheck } from '../../src/analysis/types.ts';
import { apply } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { useNamespace } from '../support/kube.ts';
import { scrape, waitForSeries } from '../support/prometheus.ts';
import { TrafficExporter } from '../support/exporter.ts';

// The acceptance scenario: the real Prometheus scrapes an exporter the test drives through
// healthy → 5 % errors → 800 ms latency → no traffic → gone. In each phase every built-in
// metric (for every router) and every template of analysis-templates/ must reach the
// expected value and verdict within one metric interval (plus scrape slack).

const INTERVAL = '10s';
const INTERVAL_MS = 10_000;
/** Scrape every 1 s plus CPU contention on a shared 2-core machine. */
const SLACK_MS = 12_000;
const TARGET = 'podinfo';
const TEMPLATES_DIR = join(import.meta.dirname, '../../analysis-templates');

const ns = useNamespace('analysis');
let exporter: TrafficExporter;
let unscrape: (() => Promise<void>) | undefined;
const templateNames: string[] = [];

/** Routers whose built-in queries are checked (Flagger spellings; each query set once). */
const ROUTERS = ['istio', 'linkerd', 'nginx', 'kubernetes', 'gatewayapi:v1'] as const;

const THRESHOLDS: Record<string, Pick<MetricCheck, 'thresholdRange'>> = {
  'istio-error-rate': { thresholdRange: { max: 1 } },
  'linkerd-error-rate': { thresholdRange: { max: 1 } },
  'nginx-error-rate': { thresholdRange: { max: 1 } },
  'app-error-rate': { thresholdRange: { max: 1 } },
  'istio-latency-p99': { thresholdRange: { max: 500 } },
  'linkerd-latency-p99': { thresholdRange: { max: 500 } },
  'nginx-latency-p99': { thresholdRange: { max: 500 } },
  'app-latency-p99': { thresholdRange: { max: 500 } },
  'istio-no-5xx': {}, // the template's own successCondition
  'app-no-5xx': {},
  'cpu-throttling': { thresholdRange: { max: 25 } },
  'container-restarts': { thresholdRange: { max: 0 } },
  'oom-kills': { thresholdRange: { max: 0 } },
  'memory-saturation': { thresholdRange: { max: 90 } },
};

type Expectation =
  { passed: boolean; min: number; max: number } | { passed: false; error: 'noData' | 'notANumber' };

const pass = (min: number, max = min): Expectation => ({ passed: true, min, max });
const fail = (min: number, max = min): Expectation => ({ passed: false, min, max });
const noData: Expectation = { passed: false, error: 'noData' };
const nan: Expectation = { passed: false, error: 'notANumber' };

interface Phase {
  name: string;
  enter: () => void;
  /** Expected result per check name: `istio/request-success-rate`, `cpu-throttling`, … */
  expect: (name: string) => Expectation;
}

const OK_P99 = [99.3, 99.7] as const; // all requests at 100 ms → 50 + 0.99 × 50
const SLOW_P99 = [799.3, 799.7] as const; // all requests at 800 ms → 750 + 0.99 × 50

function kindOf(name: string): 'success' | 'duration' | 'errors' | 'latency' | 'gate' | string {
  if (name.endsWith('/request-success-rate')) return 'success';
  if (name.endsWith('/request-duration')) return 'duration';
  if (name.endsWith('-error-rate')) return 'errors';
  if (name.endsWith('-latency-p99')) return 'latency';
  if (name.endsWith('-no-5xx')) return 'gate';
  return name;
}

/** What a healthy workload's checks give (the first phase, and the base of the others). */
const HEALTHY: Record<string, Expectation> = {
  success: pass(99.9, 100),
  duration: pass(...OK_P99),
  errors: pass(0),
  latency: pass(...OK_P99),
  gate: pass(0),
  'cpu-throttling': pass(0),
  'container-restarts': pass(0),
  'oom-kills': pass(0),
  'memory-saturation': pass(29.9, 30.1),
};

/** The expectation per check name: `expected` by kind of check (see kindOf). */
const byKind =
  (expected: Record<string, Expectation>) =>
  (name: string): Expectation =>
    expected[kindOf(name)]!;

const phases: Phase[] = [
  {
    name: 'healthy',
    enter: () => exporter.setMode({ rps: 50, errorRatio: 0, latencyMs: 100 }),
    expect: byKind(HEALTHY),
  },
  {
    name: 'error rate 5 %, CPU throttled, memory near the limit, an OOM kill',
    enter: () => {
      exporter.setMode({ errorRatio: 0.05 });
      exporter.setSaturation({ throttledRatio: 0.5, memoryRatio: 0.95 });
      exporter.restart('OOMKilled');
    },
    expect: byKind({
      success: fail(94.8, 95.2),
      duration: pass(...OK_P99),
      errors: fail(4.8, 5.2),
      latency: pass(...OK_P99),
      gate: fail(0.5, 1e9),
      'cpu-throttling': fail(49.5, 50.5),
      'container-restarts': fail(0.5, 10),
      'oom-kills': fail(0.5, 10),
      'memory-saturation': fail(94.9, 95.1),
    }),
  },
  {
    name: 'latency 800 ms',
    enter: () => {
      exporter.setMode({ errorRatio: 0, latencyMs: 800 });
      exporter.setSaturation({ throttledRatio: 0, memoryRatio: 0.3 });
    },
    expect: byKind({ ...HEALTHY, duration: fail(...SLOW_P99), latency: fail(...SLOW_P99) }),
  },
  {
    // Counters stop: request rates are 0, so ratios and quantiles are 0/0 (NaN).
    name: 'no traffic',
    enter: () => exporter.setMode({ rps: 0 }),
    expect: byKind({ ...HEALTHY, success: nan, duration: nan, errors: nan, latency: nan }),
  },
  {
    // The workload is gone: its series go stale and every query matches nothing.
    name: 'no series',
    enter: () => exporter.withdraw(),
    expect: () => noData,
  },
];

function checks(): { check: MetricCheck; router?: string }[] {
  const builtins = ROUTERS.flatMap((router) =>
    (['request-success-rate', 'request-duration'] as const).map((metric) => ({
      router,
      check: {
        name: `${router}/${metric}`,
        interval: INTERVAL,
        thresholdRange: metric === 'request-success-rate' ? { min: 99 } : { max: 500 },
      } satisfies MetricCheck,
    })),
  );
  const templates = templateNames.map((name) => ({
    check: { name, templateRef: { name }, interval: INTERVAL, ...THRESHOLDS[name] } satisfies MetricCheck,
  }));
  return [...builtins, ...templates];
}

function deps(router: string | undefined): AnalysisDeps {
  return {
    canary: {
      name: TARGET,
      namespace: ns.name,
      target: TARGET,
      ingress: TARGET,
      provider: router,
      metricsServer: testEnv().prometheusUrl,
    },
    ...kubeLookups(ns.kube),
    queryTimeoutMs: 5000,
  };
}

/** Runs every check once; built-ins run under their router's Canary provider. */
async function runAll(): Promise<CheckResult[]> {
  const all = checks();
  const results = await Promise.all(
    all.map(async ({ check, router }) => {
      // A built-in's name carries its router; runAnalysis sees the plain metric name.
      const metric = router ? { ...check, name: check.name.split('/')[1]! } : check;
      const [result] = (await runAnalysis([metric], deps(router))).checks;
      return { ...result!, name: check.name };
    }),
  );
  return results;
}

function matches(result: CheckResult, expected: Expectation): boolean {
  if (result.passed !== expected.passed) return false;
  if ('error' in expected) return result.error === expected.error;
  return typeof result.value === 'number' && result.value >= expected.min && result.value <= expected.max;
}

function show(result: CheckResult): string {
  const outcome =
    result.error ?? (Array.isArray(result.value) ? result.value.join(',') : String(result.value));
  return `${result.name.padEnd(36)} ${result.passed ? 'pass' : 'FAIL'} ${outcome}`;
}

beforeAll(async () => {
  exporter = new TrafficExporter({ namespace: ns.name, target: TARGET, ingress: TARGET });
  const port = await exporter.start();
  phases[0]!.enter();
  unscrape = await scrape(`127.0.0.1:${port}`, { job: `analysis-${ns.name}` });

  const files = (await readdir(TEMPLATES_DIR)).filter((file) => file.endsWith('.yaml')).sort();
  for (const file of files) {
    const object = parseYaml(await readFile(join(TEMPLATES_DIR, file), 'utf8')) as KubernetesObject & {
      metadata: { name: string };
    };
    object.metadata.namespace = ns.name;
    await apply(ns.kube, object as KubernetesObject);
    templateNames.push(object.metadata.name);
  }
  await waitForSeries(`istio_requests_total{destination_workload_namespace="${ns.name}"}`);
});

afterAll(async () => {
  await unscrape?.();
  await exporter?.stop();
});

describe('built-in metrics and analysis-templates against the real Prometheus', () => {
  it('applies every template of analysis-templates/ to the apiserver, each with a test threshold', () => {
    expect(templateNames.length).toBeGreaterThanOrEqual(14);
    expect(templateNames.sort()).toEqual(Object.keys(THRESHOLDS).sort());
  });

  it('gives the expected value and verdict in each phase within one interval', async () => {
    const report: string[] = [];
    for (const [index, phase] of phases.entries()) {
      if (index > 0) phase.enter();
      const started = Date.now();
      const deadline = started + INTERVAL_MS + SLACK_MS;
      const settled = new Map<string, { result: CheckResult; afterMs: number }>();
      let last: CheckResult[] = [];
      while (Date.now() < deadline) {
        last = await runAll();
        for (const result of last) {
          if (!settled.has(result.name) && matches(result, phase.expect(result.name))) {
            settled.set(result.name, { result, afterMs: Date.now() - started });
          }
        }
        if (settled.size === last.length) break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      const missing = last.filter((result) => !settled.has(result.name));
      expect(
        missing.map((result) => `${result.reason} — expected ${JSON.stringify(phase.expect(result.name))}`),
        `phase "${phase.name}": checks that did not reach the expected result within ${(INTERVAL_MS + SLACK_MS) / 1000}s`,
      ).toEqual([]);
      // The step verdict: every router's built-ins plus every template in one analysis.
      for (const router of ROUTERS) {
        const step = checks()
          .filter((entry) => !entry.router || entry.router === router)
          .map(({ check, router: own }) => (own ? { ...check, name: check.name.split('/')[1]! } : check));
        const verdict = await runAnalysis(step, deps(router));
        expect(verdict.passed, `phase "${phase.name}", router ${router}: step verdict`).toBe(index === 0);
      }
      const slowest = Math.max(...[...settled.values()].map((entry) => entry.afterMs));
      report.push(
        `phase "${phase.name}": all ${settled.size} checks as expected after ${(slowest / 1000).toFixed(1)}s`,
      );
      for (const { result } of settled.values()) report.push(`  ${show(result)}`);
    }
    process.stderr.write(`${report.join('\n')}\n`);
  });
});
