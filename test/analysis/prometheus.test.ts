import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/evaluate.ts';
import { fetchScrapeIntervalMs } from '../../src/analysis/scrape-interval.ts';
import { createPrometheusProvider } from '../../src/analysis/providers/prometheus.ts';
import { type MetricErrorKind, type MetricProvider } from '../../src/analysis/providers/provider.ts';
import { resolveProviderSecret } from '../../src/analysis/providers/secret.ts';
import { testEnv } from '../support/env.ts';
import { freePort } from '../../src/dev/process.ts';
import { useNamespace } from '../support/kube.ts';
import {
  sendJson,
  serve,
  untrustedTls,
  type LocalServer,
  analysisDeps,
  applyTemplate,
  queryFailure,
} from './servers.ts';

// The Prometheus provider against the real Prometheus, and behind a real auth proxy whose
// credentials come from a real Secret.

const ns = useNamespace('analysis-prom');

const failure = queryFailure;

describe('prometheus provider against the real Prometheus', () => {
  let prometheus: MetricProvider;
  beforeAll(() => {
    prometheus = createPrometheusProvider({ address: testEnv().prometheusUrl });
  });

  it("reads Prometheus' scrape interval from its configuration (the floor of checkEvery)", async () => {
    // The local stack's Prometheus scrapes every second (src/dev/cluster.ts).
    expect(await fetchScrapeIntervalMs(testEnv().prometheusUrl)).toBe(1000);
  });

  it('is online', async () => {
    expect(await prometheus.isOnline()).toEqual({ online: true });
  });

  it('returns the number of a single series and of a scalar', async () => {
    expect(await prometheus.runQuery('vector(42)')).toBe(42);
    expect(await prometheus.runQuery('scalar(vector(0.25))')).toBe(0.25);
    expect(await prometheus.runQuery('\n  sum(\n vector(1)\n) * 100\n')).toBe(100);
  });

  it('evaluates a query at a past instant (replay) and returns labelled series (histogram buckets)', async () => {
    const at = Date.now() - 3_600_000;
    expect(await prometheus.runQuery('time()', { at })).toBeCloseTo(at / 1000, 3);
    const buckets = await prometheus.runSeriesQuery!(
      'label_replace(vector(4), "le", "0.5", "", "") or label_replace(vector(9), "le", "+Inf", "", "")',
    );
    expect(buckets.map((b) => [b.labels.le, b.value]).sort()).toEqual([
      ['+Inf', 9],
      ['0.5', 4],
    ]);
    await expect(prometheus.runSeriesQuery!('absent_series_for_sure_total')).rejects.toMatchObject({
      kind: 'noData',
    });
  });

  it('sends a query too long for a URL as a POST', async () => {
    const long = `vector(1)${' + vector(0)'.repeat(600)}`;
    expect(long.length).toBeGreaterThan(4000);
    expect(await prometheus.runQuery(long)).toBe(1);
    const recorder = await serve((_, response) =>
      sendJson(response, 200, { status: 'success', data: { resultType: 'scalar', result: [1, '1'] } }),
    );
    try {
      await createPrometheusProvider({ address: recorder.url }).runQuery(long);
      await createPrometheusProvider({ address: recorder.url }).runQuery('vector(1)');
      expect(recorder.received.map((request) => request.method)).toEqual(['POST', 'GET']);
      expect(new URLSearchParams(recorder.received[0]!.body).get('query')).toBe(long);
    } finally {
      await recorder.close();
    }
  });

  it('returns one number per series for several series', async () => {
    const value = await prometheus.runQuery(
      'label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")',
    );
    expect(Array.isArray(value) ? [...value].sort() : value).toEqual([1, 2]);
  });

  const cases: [string, string, MetricErrorKind, RegExp][] = [
    ['no series', 'sluice_series_that_does_not_exist', 'noData', /^no values from prometheus for query /],
    ['0/0', 'vector(0) / vector(0)', 'notANumber', /returned NaN \(0\/0: probably no traffic/],
    ['1/0', 'vector(1) / vector(0)', 'notANumber', /returned \+Inf/],
    ['-1/0', 'vector(-1) / vector(0)', 'notANumber', /returned -Inf/],
    [
      'a syntax error',
      'sum(rate(x[1m])',
      'query',
      /^prometheus rejected the query \(HTTP 400, bad_data\): .*parse error/,
    ],
    ['a range vector', 'vector(1)[1m:10s]', 'query', /returned a range vector/],
    ['a string', '"hello"', 'query', /returned a string/],
  ];

  it.each(cases)('normalizes %s', async (_, query, kind, message) => {
    const error = await failure(prometheus, query);
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
    expect(error.query).toBe(query);
  });

  it('reports an unreachable server', async () => {
    const port = await freePort();
    const down = createPrometheusProvider({ address: `http://127.0.0.1:${port}` });
    const error = await failure(down, 'vector(1)');
    expect(error.kind).toBe('http');
    expect(error.message).toBe(
      `prometheus at http://127.0.0.1:${port} is unreachable (ECONNREFUSED): vector(1)`,
    );
    const status = await down.isOnline();
    expect(status.online).toBe(false);
  });

  it('refuses a certificate it cannot verify unless insecureSkipVerify is set', async () => {
    const https = await serve(
      (_, response) =>
        sendJson(response, 200, { status: 'success', data: { resultType: 'scalar', result: [1, '5'] } }),
      await untrustedTls(testEnv().stateDir),
    );
    try {
      const strict = await failure(createPrometheusProvider({ address: https.url }), 'vector(5)');
      expect(strict.kind).toBe('http');
      expect(strict.message).toMatch(
        /is unreachable \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|[A-Z_]*CERT[A-Z_]*)\)/,
      );
      const relaxed = createPrometheusProvider({ address: https.url, insecureSkipVerify: true });
      expect(await relaxed.runQuery('vector(5)')).toBe(5);
    } finally {
      await https.close();
    }
  });

  it('times out a server that never answers', async () => {
    const silent = await serve(() => new Promise(() => {}));
    try {
      const started = Date.now();
      const error = await failure(createPrometheusProvider({ address: silent.url }), 'vector(1)', 300);
      expect(error.kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await silent.close();
    }
  });
});

describe('prometheus provider behind an auth proxy, credentials from a Secret', () => {
  let proxy: LocalServer;
  const token = 's3cret-token';

  beforeAll(async () => {
    // Accepts the bearer token with the tenant header, or basic auth; forwards to the real
    // Prometheus, and answers like a typical proxy (plain text) otherwise.
    proxy = await serve(async (request, response) => {
      const authorization = request.headers.authorization ?? '';
      const basic = `Basic ${Buffer.from('grafana:pa55').toString('base64')}`;
      const bearerOk = authorization === `Bearer ${token}` && request.headers['x-scope-orgid'] === 'team-a';
      if (!bearerOk && authorization !== basic) {
        response.writeHead(401, { 'Content-Type': 'text/plain' }).end('Unauthorized');
        return;
      }
      const upstream = new URL(request.url.pathname + request.url.search, testEnv().prometheusUrl);
      const answer = await fetch(upstream, { signal: AbortSignal.timeout(5000) });
      sendJson(response, answer.status, await answer.json());
    });
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'prom-token' },
        stringData: { token, 'header.X-Scope-OrgID': 'team-a' },
      },
    });
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'prom-basic' }, stringData: { username: 'grafana', password: 'pa55' } },
    });
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'prom-wrong' }, stringData: { token: 'nope' } },
    });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it('sends the bearer token and custom headers from the Secret', async () => {
    const credentials = await resolveProviderSecret(ns.kube, ns.name, { name: 'prom-token' });
    expect(credentials).toEqual(
      expect.objectContaining({ bearerToken: token, headers: { 'X-Scope-OrgID': 'team-a' } }),
    );
    const provider = createPrometheusProvider({ address: proxy.url, credentials });
    expect(await provider.runQuery('vector(7)')).toBe(7);
    expect(proxy.received.at(-1)?.url.pathname).toBe('/api/v1/query');
  });

  it('sends basic auth from the Secret', async () => {
    const credentials = await resolveProviderSecret(ns.kube, ns.name, { name: 'prom-basic' });
    const provider = createPrometheusProvider({ address: proxy.url, credentials });
    expect(await provider.runQuery('vector(8)')).toBe(8);
    expect(await provider.isOnline()).toEqual({ online: true });
  });

  it('reports refused credentials as an auth error, even from a plain-text proxy', async () => {
    const credentials = await resolveProviderSecret(ns.kube, ns.name, { name: 'prom-wrong' });
    const error = await failure(createPrometheusProvider({ address: proxy.url, credentials }), 'vector(1)');
    expect(error.kind).toBe('auth');
    expect(error.status).toBe(401);
    expect(error.message).toBe(`prometheus at ${proxy.url} refused the credentials (HTTP 401): Unauthorized`);
    expect(error.message).not.toContain('nope');
  });

  it('names a missing Secret', async () => {
    await expect(resolveProviderSecret(ns.kube, ns.name, { name: 'absent' })).rejects.toThrowError(
      `Secret ${ns.name}/absent (provider.secretRef) not found`,
    );
  });

  it("runs a MetricTemplate whose secretRef is read from the template's namespace", async () => {
    await applyTemplate(ns, 'authed', {
      provider: { type: 'prometheus', address: proxy.url, secretRef: { name: 'prom-token' } },
      query: 'vector(99.5)',
    });
    await applyTemplate(ns, 'refused', {
      provider: { type: 'prometheus', address: proxy.url, secretRef: { name: 'prom-wrong' } },
      query: 'vector(99.5)',
    });
    const result = await runAnalysis(
      [
        { name: 'authed', templateRef: { name: 'authed' }, thresholdRange: { min: 99 } },
        { name: 'refused', templateRef: { name: 'refused' }, thresholdRange: { min: 99 } },
      ],
      analysisDeps(ns, 5000),
    );
    expect(result.checks.map((check) => [check.name, check.passed, check.error])).toEqual([
      ['authed', true, undefined],
      ['refused', false, 'auth'],
    ]);
    expect(result.passed).toBe(false);
  });
});
