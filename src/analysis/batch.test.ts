import { describe, expect, it, vi } from 'vitest';
import {
  batchedQuery,
  batchPlace,
  createQueryBatcher,
  splitBatch,
  type BatchShape,
  type QueryBatcher,
} from './batch.ts';
import { BUILTIN_METRICS, BUILTIN_QUERY_SETS } from './builtins.ts';
import { runAnalysis, type AnalysisDeps } from './evaluate.ts';
import {
  MetricError,
  oneLine,
  toMetricValue,
  type LabelledValue,
  type MetricProvider,
  type QueryOptions,
} from './providers/provider.ts';
import type { CanaryContext, MetricCheck } from './types.ts';

const shape = (metric: BatchShape['metric'], set: BatchShape['set'] = 'istio'): BatchShape => ({
  set,
  metric,
  protocol: 'http',
  interval: '1m',
});

describe('batchPlace', () => {
  const model = { namespace: 'shop', target: 'cart', interval: '1m' };

  it('places istio and linkerd checks by namespace and target', () => {
    expect(batchPlace(undefined, 'request-success-rate', undefined, model)).toEqual({
      shape: { set: 'istio', metric: 'request-success-rate', protocol: 'http', interval: '1m' },
      member: { namespace: 'shop', target: 'cart' },
    });
    expect(batchPlace('smi', 'request-duration', 'grpc', model)?.shape.set).toBe('linkerd');
  });

  it('leaves alone sets whose target sits inside a longer regex, and names a regex would widen', () => {
    for (const provider of ['nginx', 'contour', 'gatewayapi', 'kuma']) {
      expect(batchPlace(provider, 'request-success-rate', undefined, model), provider).toBeUndefined();
    }
    // `=~"cart.v2"` also matches cartXv2: the canary's own query, not an exact label.
    expect(
      batchPlace('istio', 'request-duration', undefined, { ...model, target: 'cart.v2' }),
    ).toBeUndefined();
  });
});

describe('batchedQuery', () => {
  const members = [
    { namespace: 'b', target: 'y' },
    { namespace: 'a', target: 'x' },
  ];

  it('groups every sum by the two labels and keeps "every request failed" at 0 %', () => {
    expect(batchedQuery(shape('request-success-rate'), members)).toBe(
      '( sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{ reporter="destination", destination_workload_namespace=~"a|b", destination_workload=~"x|y", response_code!~"5.*" }[1m]))' +
        ' or 0 * sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{ reporter="destination", destination_workload_namespace=~"a|b", destination_workload=~"x|y" }[1m])) )' +
        ' / sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{ reporter="destination", destination_workload_namespace=~"a|b", destination_workload=~"x|y" }[1m])) * 100',
    );
    expect(batchedQuery(shape('request-duration', 'linkerd'), members, 'namespaces')).toBe(
      'histogram_quantile(0.99, sum by (le, namespace, deployment) (rate(response_latency_ms_bucket{ namespace=~"a|b", deployment!="", direction="inbound" }[1m])) )',
    );
  });

  it('knows the shape of every batchable built-in query', () => {
    for (const set of ['istio', 'linkerd'] as const) {
      for (const metric of BUILTIN_METRICS) {
        for (const protocol of ['http', 'grpc']) {
          const grpc = 'grpc' in BUILTIN_QUERY_SETS[set];
          if (protocol === 'grpc' && metric === 'request-success-rate' && !grpc) continue;
          const query = batchedQuery({ set, metric, protocol, interval: '90s' }, members);
          expect(query).not.toMatch(/\bsum\(|vector\(/);
          expect(query).toContain('[1m30s]');
        }
      }
    }
  });
});

describe('splitBatch', () => {
  it('keys values by namespace and target and skips series without both labels', () => {
    const split = splitBatch(shape('request-duration'), [
      { labels: { destination_workload_namespace: 'a', destination_workload: 'x' }, value: 1 },
      { labels: { destination_workload: 'y' }, value: 2 },
    ]);
    expect([...split]).toEqual([['a/x', [1]]]);
  });
});

// A fake Prometheus that answers both each canary's own query and the batched one from one
// table of per-workload results: a number (NaN: 0/0), or absent (no series).
type Table = Record<string, { rate?: number; p99?: number }>;

const RATE_LABELS = /destination_workload_namespace=~?"([^"]*)", destination_workload=~"([^"]*)"/;

function fakePrometheus(table: Table, asked: { own: string[]; batched: string[] }): MetricProvider {
  const answer = (query: string): LabelledValue[] => {
    const match = RATE_LABELS.exec(oneLine(query));
    if (!match) throw new Error(`fake prometheus: no workload matcher in ${query}`);
    const namespaces = (match[1] ?? '').split('|');
    const targets = (match[2] ?? '').split('|');
    const field = query.includes('histogram_quantile') ? 'p99' : 'rate';
    return Object.entries(table).flatMap(([key, row]) => {
      const [namespace = '', target = ''] = key.split('/');
      const value = row[field];
      if (value === undefined || !namespaces.includes(namespace) || !targets.includes(target)) return [];
      return [{ labels: { destination_workload_namespace: namespace, destination_workload: target }, value }];
    });
  };
  return {
    type: 'prometheus',
    isOnline: () => Promise.resolve({ online: true }),
    runQuery(query) {
      asked.own.push(query);
      // The canary's own query sums to one series without labels.
      return Promise.resolve().then(() =>
        toMetricValue(
          answer(query).map((one) => one.value),
          { provider: 'prometheus', query: oneLine(query) },
        ),
      );
    },
    runSeriesQuery(query: string, options?: QueryOptions) {
      asked.batched.push(`${query}@${options?.at ?? 'now'}`);
      const series = answer(query);
      return series.length
        ? Promise.resolve(series)
        : Promise.reject(new MetricError('noData', { provider: 'prometheus', query, message: 'no values' }));
    },
  };
}

const CHECKS: MetricCheck[] = [
  { name: 'request-success-rate', thresholdRange: { min: 99 } },
  { name: 'request-duration', thresholdRange: { max: 500 } },
];

function depsOf(
  canary: CanaryContext,
  provider: MetricProvider,
  batcher?: QueryBatcher,
  at?: number,
): AnalysisDeps {
  return {
    canary,
    getTemplate: () => Promise.resolve(undefined),
    createProvider: () => provider,
    ...(batcher ? { batcher } : {}),
    ...(at === undefined ? {} : { at }),
  };
}

const canary = (namespace: string, target: string, extra: Partial<CanaryContext> = {}): CanaryContext => ({
  name: target,
  namespace,
  target,
  metricsServer: 'http://prometheus:9090',
  ...extra,
});

describe('batched built-in checks', () => {
  const table: Table = {
    'shop/healthy': { rate: 100, p99: 37.5 },
    'shop/failing': { rate: 0, p99: 900 },
    'shop/idle': { rate: Number.NaN, p99: Number.NaN },
    'shop/half': { rate: 99.5 },
    'pay/healthy': { rate: 98.25, p99: 12 },
    // Not a canary: in the answer of a wider query, never in anyone's verdict.
    'shop/other': { rate: 1, p99: 1 },
  };
  const canaries = [
    canary('shop', 'healthy'),
    canary('shop', 'failing'),
    canary('shop', 'idle'),
    canary('shop', 'half'),
    canary('pay', 'healthy'),
    canary('shop', 'gone'), // no series at all
  ];

  it('gives every canary exactly the verdict of its own query, with one query per metric', async () => {
    const asked = { own: [] as string[], batched: [] as string[] };
    const prometheus = fakePrometheus(table, asked);
    const own = await Promise.all(canaries.map((c) => runAnalysis(CHECKS, depsOf(c, prometheus))));
    const batcher = createQueryBatcher({ windowMs: 20 });
    const batched = await Promise.all(
      canaries.map((c) => runAnalysis(CHECKS, depsOf(c, prometheus, batcher))),
    );
    expect(batched).toEqual(own);
    expect(asked.own).toHaveLength(canaries.length * CHECKS.length);
    expect(asked.batched).toHaveLength(2);
    expect(batcher.stats()).toEqual({ queries: 2, checks: 12 });
    // No data stays no data, never a pass; 0 % (every request failed) is a value.
    const gone = batched[5]?.checks ?? [];
    expect(gone.map((check) => [check.passed, check.error])).toEqual([
      [false, 'noData'],
      [false, 'noData'],
    ]);
    expect(batched[1]?.checks[0]).toMatchObject({ passed: false, value: 0 });
    expect(batched[2]?.checks[0]).toMatchObject({ passed: false, error: 'notANumber' });
  });

  it('sends a batch once no check has joined it for quietMs, without waiting out the window', async () => {
    vi.useFakeTimers();
    try {
      const asked = { own: [] as string[], batched: [] as string[] };
      const prometheus = fakePrometheus(table, asked);
      const batcher = createQueryBatcher({ windowMs: 60_000, quietMs: 10 });
      const results = Promise.all(canaries.map((c) => runAnalysis(CHECKS, depsOf(c, prometheus, batcher))));
      await vi.advanceTimersByTimeAsync(5);
      expect(asked.batched).toEqual([]);
      await vi.advanceTimersByTimeAsync(10);
      expect(asked.batched).toHaveLength(2);
      expect((await results).map((result) => result.checks.length)).toEqual(canaries.map(() => 2));
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers canaries with no series anywhere as no data', async () => {
    const prometheus = fakePrometheus({}, { own: [], batched: [] });
    const batcher = createQueryBatcher({ windowMs: 5 });
    const result = await runAnalysis(CHECKS, depsOf(canary('x', 'y'), prometheus, batcher));
    expect(result.checks.map((check) => check.error)).toEqual(['noData', 'noData']);
    expect(result.passed).toBe(false);
  });

  it('keeps different intervals, instants and Prometheus addresses apart, and splits at maxMembers', async () => {
    const asked = { own: [] as string[], batched: [] as string[] };
    const prometheus = fakePrometheus(table, asked);
    const batcher = createQueryBatcher({ windowMs: 20, maxMembers: 2 });
    const rate: MetricCheck[] = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];
    await Promise.all([
      runAnalysis(rate, depsOf(canary('shop', 'healthy'), prometheus, batcher)),
      runAnalysis(rate, depsOf(canary('shop', 'failing'), prometheus, batcher)),
      runAnalysis(rate, depsOf(canary('shop', 'half'), prometheus, batcher)),
      runAnalysis([{ ...rate[0]!, interval: '2m' }], depsOf(canary('shop', 'idle'), prometheus, batcher)),
      runAnalysis(
        rate,
        depsOf(canary('pay', 'healthy', { metricsServer: 'http://other:9090' }), prometheus, batcher),
      ),
      runAnalysis(rate, depsOf(canary('shop', 'gone'), prometheus, batcher, 1_700_000_000_000)),
    ]);
    expect(asked.own).toEqual([]);
    // healthy+failing (full), half, idle (2m), pay at the other address, gone at its instant.
    expect(asked.batched).toHaveLength(5);
    expect(asked.batched.filter((q) => q.includes('[2m]'))).toHaveLength(1);
    expect(asked.batched.filter((q) => q.endsWith('@1700000000000'))).toHaveLength(1);
  });

  it('runs inline queries, templates and unbatchable built-ins as their own queries', async () => {
    const asked = { own: [] as string[], batched: [] as string[] };
    const prometheus = fakePrometheus(table, asked);
    const batcher = createQueryBatcher({ windowMs: 5 });
    const inline: MetricCheck = {
      name: 'custom',
      query:
        'sum(rate(istio_requests_total{destination_workload_namespace="shop", destination_workload=~"healthy"}[1m]))',
      thresholdRange: { min: 1 },
    };
    await runAnalysis([inline], depsOf(canary('shop', 'healthy'), prometheus, batcher));
    await runAnalysis(CHECKS, depsOf(canary('shop', 'healthy.v2'), prometheus, batcher)).catch(
      () => undefined,
    );
    expect(asked.batched).toEqual([]);
    expect(asked.own).toHaveLength(3);
  });

  it("gives every member the batched query's failure as a failed check of the same kind", async () => {
    const failing: MetricProvider = {
      type: 'prometheus',
      isOnline: () => Promise.resolve({ online: true }),
      runQuery: () => Promise.reject(new Error('unexpected own query')),
      runSeriesQuery: (query) =>
        Promise.reject(
          new MetricError('http', {
            provider: 'prometheus',
            query,
            message: 'answered HTTP 503',
            status: 503,
          }),
        ),
    };
    const batcher = createQueryBatcher({ windowMs: 5 });
    const results = await Promise.all(
      [canary('a', 'x'), canary('a', 'y')].map((c) => runAnalysis(CHECKS, depsOf(c, failing, batcher))),
    );
    for (const result of results) {
      expect(result.passed).toBe(false);
      for (const check of result.checks) {
        expect(check.error).toBe('http');
        expect(check.reason).toContain('the batched query for 2 canaries failed: answered HTTP 503');
      }
    }
  });

  it("ends a member's wait at its own deadline, not the batch's", async () => {
    let release: () => void = () => undefined;
    const slow: MetricProvider = {
      type: 'prometheus',
      isOnline: () => Promise.resolve({ online: true }),
      runQuery: () => Promise.reject(new Error('unexpected own query')),
      runSeriesQuery: () =>
        new Promise<LabelledValue[]>((resolve) => {
          release = () => resolve([]);
        }),
    };
    const batcher = createQueryBatcher({ windowMs: 1 });
    const result = await runAnalysis(CHECKS.slice(0, 1), {
      ...depsOf(canary('a', 'x'), slow, batcher),
      queryTimeoutMs: 50,
    });
    release();
    expect(result.checks[0]).toMatchObject({ passed: false, error: 'timeout' });
  });
});
