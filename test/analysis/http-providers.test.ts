import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/evaluate.ts';
import { createDatadogProvider } from '../../src/analysis/providers/datadog.ts';
import { createWebProvider } from '../../src/analysis/providers/web.ts';
import { testEnv } from '../support/env.ts';
import { useNamespace } from '../support/kube.ts';
import { sendJson, serve, untrustedTls, type LocalServer, queryFailure, analysisDeps } from './servers.ts';
import { applyTemplate } from './servers.ts';

// The datadog and web providers against real HTTP servers on 127.0.0.1 that speak the
// APIs' formats, alone and through MetricTemplates applied to the real apiserver.

const ns = useNamespace('analysis-http');

const failure = queryFailure;

const deps = () => analysisDeps(ns, 3000, 'podinfo-svc');

// ---- Datadog ----------------------------------------------------------------------------

const API_KEY = 'dd-api-key';
const APP_KEY = 'dd-app-key';
const NOW_MS = 1_700_000_600_000;

/** Datadog's metrics query API v1 (GET /api/v1/query, GET /api/v1/validate). */
function datadogApi(): Promise<LocalServer> {
  return serve((request, response) => {
    if (request.headers['dd-api-key'] !== API_KEY || request.headers['dd-application-key'] !== APP_KEY) {
      sendJson(response, 403, { errors: ['Forbidden'] });
      return;
    }
    if (request.url.pathname === '/api/v1/validate') {
      sendJson(response, 200, { valid: true });
      return;
    }
    if (request.url.pathname !== '/api/v1/query') {
      sendJson(response, 404, { errors: ['Not found'] });
      return;
    }
    const query = request.url.searchParams.get('query') ?? '';
    const from = Number(request.url.searchParams.get('from'));
    const to = Number(request.url.searchParams.get('to'));
    if (!query || !Number.isInteger(from) || !Number.isInteger(to)) {
      sendJson(response, 400, { errors: ['Missing or invalid query, from or to'] });
      return;
    }
    if (query.includes('{{') || query.includes('}}}')) {
      sendJson(response, 400, { errors: [`Error parsing query: unexpected token in ${query}`] });
      return;
    }
    const series = (values: (number | null)[][]) =>
      values.map((points, index) => ({
        metric: 'trace.http.request.errors',
        display_name: 'trace.http.request.errors',
        unit: null,
        pointlist: points.map((value, i) => [from * 1000 + i * 20_000, value]),
        scope: `service:podinfo,version:v${index}`,
        expression: query,
        aggr: 'avg',
        length: points.length,
        interval: 20,
        start: from * 1000,
        end: to * 1000,
        query_index: 0,
        tag_set: [],
      }));
    const body = {
      status: 'ok',
      res_type: 'time_series',
      resp_version: 1,
      query,
      message: '',
      from_date: from * 1000,
      to_date: to * 1000,
      group_by: [],
      series: query.includes('by {version}')
        ? series([
            [1, 2],
            [3, 4],
          ])
        : query.includes('service:absent')
          ? []
          : series([[0.5, 1.25, null]]),
    };
    sendJson(response, 200, body);
  });
}

describe('datadog provider against a server speaking the Datadog API', () => {
  let api: LocalServer;
  beforeAll(async () => {
    api = await datadogApi();
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'datadog' },
        stringData: { datadog_api_key: API_KEY, datadog_application_key: APP_KEY },
      },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const provider = (apiKey = API_KEY) =>
    createDatadogProvider({
      address: api.url,
      apiKey,
      applicationKey: APP_KEY,
      intervalMs: 60_000,
      now: () => NOW_MS,
    });

  it('sends the keys and a window of ten intervals, and reads the last non-null point', async () => {
    expect(await provider().runQuery('avg:trace.http.request.errors{service:podinfo}')).toBe(1.25);
    const sent = api.received.at(-1)!;
    expect(sent.url.searchParams.get('to')).toBe(String(NOW_MS / 1000));
    expect(sent.url.searchParams.get('from')).toBe(String(NOW_MS / 1000 - 600));
    expect(sent.url.searchParams.get('query')).toBe('avg:trace.http.request.errors{service:podinfo}');
  });

  it('returns one value per series', async () => {
    expect(await provider().runQuery('avg:trace.http.request.errors{*} by {version}')).toEqual([2, 4]);
  });

  it('normalizes no series, a rejected query and refused keys', async () => {
    const empty = await failure(provider(), 'avg:x{service:absent}');
    expect(empty.kind).toBe('noData');
    const bad = await failure(provider(), 'avg:x{service:a}}}');
    expect(bad.kind).toBe('query');
    expect(bad.message).toBe(
      'datadog rejected the query (HTTP 400): Error parsing query: unexpected token in avg:x{service:a}}}: avg:x{service:a}}}',
    );
    const refused = await failure(provider('wrong'), 'avg:x{*}');
    expect(refused.kind).toBe('auth');
    expect(refused.message).toMatch(
      /^datadog at 127\.0\.0\.1:\d+ refused the credentials \(HTTP 403\): Forbidden$/,
    );
    expect(refused.message).not.toContain('wrong');
  });

  it('checks the keys for isOnline', async () => {
    expect(await provider().isOnline()).toEqual({ online: true });
    const status = await provider('wrong').isOnline();
    expect(status.online).toBe(false);
    expect(!status.online && status.error.kind).toBe('auth');
  });

  it('runs a datadog MetricTemplate with keys from its Secret', async () => {
    await applyTemplate(ns, 'dd-errors', {
      provider: { type: 'datadog', address: api.url, secretRef: { name: 'datadog' } },
      query: 'avg:trace.http.request.errors{service:{{ target }},env:{{ variables.env }}}',
    });
    const result = await runAnalysis(
      [
        {
          name: 'dd-errors',
          templateRef: { name: 'dd-errors' },
          templateVariables: { env: 'prod' },
          thresholdRange: { max: 1 },
          interval: '1m',
        },
      ],
      deps(),
    );
    expect(result.checks[0]).toMatchObject({ passed: false, value: 1.25, reason: 'dd-errors: 1.25 > max 1' });
    expect(api.received.at(-1)?.url.searchParams.get('query')).toBe(
      'avg:trace.http.request.errors{service:podinfo,env:prod}',
    );
  });
});

// ---- web ----------------------------------------------------------------------------------

describe('web provider against a JSON HTTP API', () => {
  let api: LocalServer;
  beforeAll(async () => {
    api = await serve(async (request, response) => {
      if (request.headers.authorization !== 'Bearer web-token') {
        sendJson(response, 401, { error: 'missing token' });
        return;
      }
      switch (request.url.pathname) {
        case '/slo':
          sendJson(response, 200, {
            service: request.url.searchParams.get('service'),
            window: request.url.searchParams.get('window'),
            data: { successRate: '99.2', p99: 180 },
            pods: [
              { name: 'podinfo-a', p99: 120 },
              { name: 'podinfo-b', p99: 240 },
            ],
          });
          return;
        case '/query': {
          const asked = JSON.parse(request.body) as { service: string };
          sendJson(response, 200, { result: { service: asked.service, errors: 3 } });
          return;
        }
        case '/html':
          response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>maintenance</html>');
          return;
        case '/slow':
          await new Promise((resolve) => setTimeout(resolve, 2000));
          sendJson(response, 200, { value: 1 });
          return;
        default:
          sendJson(response, 503, { error: 'backend unavailable' });
      }
    });
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'web-token' }, stringData: { token: 'web-token' } },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const credentials = { bearerToken: 'web-token' };

  it('GETs the URL and picks the value with a JSONPath', async () => {
    const provider = createWebProvider({ url: `${api.url}/slo?service=podinfo`, credentials });
    expect(await provider.runQuery('$.data.successRate')).toBe(99.2);
    expect(await provider.runQuery('$.pods[*].p99')).toEqual([120, 240]);
    expect(await provider.isOnline()).toEqual({ online: true });
  });

  it('refuses a certificate it cannot verify unless insecureSkipVerify is set', async () => {
    const https = await serve(
      (_, response) => sendJson(response, 200, { v: 2 }),
      await untrustedTls(testEnv().stateDir),
    );
    try {
      const strict = await failure(createWebProvider({ url: `${https.url}/v` }), '$.v');
      expect(strict.kind).toBe('http');
      expect(
        await createWebProvider({ url: `${https.url}/v`, insecureSkipVerify: true }).runQuery('$.v'),
      ).toBe(2);
    } finally {
      await https.close();
    }
  });

  it('POSTs a JSON body', async () => {
    const provider = createWebProvider({
      url: `${api.url}/query`,
      method: 'POST',
      body: '{"service":"podinfo"}',
      credentials,
    });
    expect(await provider.runQuery('$.result.errors')).toBe(3);
    expect(api.received.at(-1)?.headers['content-type']).toBe('application/json');
  });

  it('normalizes refused credentials, HTTP errors, non-JSON answers, missing values and timeouts', async () => {
    const refused = await failure(createWebProvider({ url: `${api.url}/slo` }), '$.data.p99');
    expect(refused.kind).toBe('auth');
    const unavailable = await failure(createWebProvider({ url: `${api.url}/other`, credentials }), '$.v');
    expect(unavailable.kind).toBe('http');
    expect(unavailable.message).toMatch(/answered HTTP 503: \{"error":"backend unavailable"\}/);
    const html = await failure(createWebProvider({ url: `${api.url}/html`, credentials }), '$.v');
    expect(html.kind).toBe('http');
    expect(html.message).toMatch(/^web: the answer is not JSON \(<html>maintenance<\/html>\)/);
    const missing = await failure(
      createWebProvider({ url: `${api.url}/slo`, credentials }),
      '$.data.nothing',
    );
    expect(missing.kind).toBe('noData');
    const slow = await failure(createWebProvider({ url: `${api.url}/slow`, credentials }), '$.value', 300);
    expect(slow.kind).toBe('timeout');
  });

  it('runs web MetricTemplates: rendered URL, body and JSONPath, Secret token, own timeout', async () => {
    const template = (name: string, web: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      applyTemplate(ns, name, {
        provider: { type: 'web', address: api.url, secretRef: { name: 'web-token' } },
        web,
        ...extra,
      });
    await template('web-success', {
      url: `${api.url}/slo?service={{ target }}&window={{ interval }}`,
      jsonPath: '$.data.successRate',
    });
    await template(
      'web-pods',
      { url: `${api.url}/slo?service={{ target }}`, jsonPath: '$.pods[*].p99' },
      { successCondition: 'results.all(r, r < 500.0)' },
    );
    await template('web-post', {
      url: `${api.url}/query`,
      method: 'POST',
      body: '{"service":"{{ service }}"}',
      jsonPath: '$.result.errors',
    });
    await template('web-slow', { url: `${api.url}/slow`, jsonPath: '$.value', timeout: '300ms' });

    const result = await runAnalysis(
      [
        {
          name: 'web-success',
          templateRef: { name: 'web-success' },
          interval: '2m',
          thresholdRange: { min: 99 },
        },
        { name: 'web-pods', templateRef: { name: 'web-pods' } },
        { name: 'web-post', templateRef: { name: 'web-post' }, failureCondition: 'result > 0.0' },
        { name: 'web-slow', templateRef: { name: 'web-slow' }, thresholdRange: { max: 5 }, dryRun: true },
      ],
      deps(),
    );
    const byName = Object.fromEntries(result.checks.map((check) => [check.name, check]));
    expect(byName['web-success']).toMatchObject({ passed: true, value: 99.2 });
    expect(byName['web-pods']).toMatchObject({ passed: true, value: [120, 240] });
    expect(byName['web-post']).toMatchObject({
      passed: false,
      value: 3,
      reason: 'web-post: failureCondition "result > 0.0" is true for result = 3',
    });
    expect(byName['web-slow']).toMatchObject({ passed: false, dryRun: true, error: 'timeout' });
    expect(result.passed).toBe(false);
    const success = api.received.find((request) => request.url.searchParams.get('window') === '2m');
    expect(success?.url.searchParams.get('service')).toBe('podinfo');
    expect(api.received.findLast((request) => request.url.pathname === '/query')?.body).toBe(
      '{"service":"podinfo-svc"}',
    );
  });
});
