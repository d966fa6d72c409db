import { describe, expect, it } from 'vitest';
import {
  analysisOutcome,
  evaluateMetric,
  lastAnalysisEntry,
  runAnalysis,
  summarizeAnalysis,
  type AnalysisDeps,
  type AnalysisResult,
  type CheckResult,
} from './evaluate.ts';
import type { ProviderRequest } from './providers/factory.ts';
import { SecretValues } from './providers/secret.ts';
import {
  MetricError,
  type MetricProvider,
  type MetricValue,
  type QueryOptions,
} from './providers/provider.ts';
import type { MetricCheck, MetricTemplate } from './types.ts';

const noData = new MetricError('noData', {
  provider: 'prometheus',
  query: 'q',
  message: 'no values from prometheus for query q',
});

describe('evaluateMetric', () => {
  const rate: MetricCheck = { name: 'request-success-rate', thresholdRange: { min: 99 } };

  it('passes a value within the thresholdRange', () => {
    expect(evaluateMetric(rate, { value: 99.5 }, 'q')).toEqual({
      name: 'request-success-rate',
      passed: true,
      dryRun: false,
      value: 99.5,
      query: 'q',
      threshold: 'min 99',
      reason: 'request-success-rate: 99.5 >= min 99',
    });
    expect(evaluateMetric({ name: 'd', thresholdRange: { min: 1, max: 500 } }, { value: 500 }).reason).toBe(
      'd: 500 >= min 1 and <= max 500',
    );
  });

  it('fails a value outside the thresholdRange and says by how much', () => {
    expect(evaluateMetric(rate, { value: 95 })).toMatchObject({
      passed: false,
      value: 95,
      reason: 'request-success-rate: 95 < min 99',
    });
    expect(
      evaluateMetric({ name: 'request-duration', thresholdRange: { max: 500 } }, { value: 812.3456 }),
    ).toMatchObject({
      passed: false,
      reason: 'request-duration: 812.3456 > max 500',
    });
  });

  it("reads Flagger's deprecated threshold as a minimum for success rate and a maximum otherwise", () => {
    expect(evaluateMetric({ name: 'request-success-rate', threshold: 99 }, { value: 98 }).passed).toBe(false);
    expect(evaluateMetric({ name: 'request-duration', threshold: 500 }, { value: 98 }).passed).toBe(true);
    expect(evaluateMetric({ name: 'request-duration', threshold: 500 }, { value: 501 }).passed).toBe(false);
  });

  it('fails on no data, NaN or a provider error, with the reason', () => {
    expect(evaluateMetric(rate, { error: noData }, 'q')).toEqual({
      name: 'request-success-rate',
      passed: false,
      dryRun: false,
      query: 'q',
      threshold: 'min 99',
      error: 'noData',
      reason: 'request-success-rate: no values from prometheus for query q',
    });
    const nan = new MetricError('notANumber', { provider: 'prometheus', query: 'q', message: 'NaN' });
    expect(evaluateMetric({ name: 'm' }, { error: nan })).toMatchObject({
      passed: false,
      error: 'notANumber',
    });
    expect(
      evaluateMetric({ name: 'm' }, { error: new Error('MetricTemplate x/y (templateRef) not found') }),
    ).toMatchObject({
      passed: false,
      error: 'config',
      reason: 'm: MetricTemplate x/y (templateRef) not found',
    });
  });

  it('applies successCondition and failureCondition', () => {
    const check: MetricCheck = { name: 'ratio', successCondition: 'result >= 0.95' };
    expect(evaluateMetric(check, { value: 0.97 })).toMatchObject({
      passed: true,
      reason: 'ratio: successCondition "result >= 0.95" is true for result = 0.97',
    });
    expect(evaluateMetric(check, { value: 0.9 })).toMatchObject({
      passed: false,
      reason: 'ratio: successCondition "result >= 0.95" is false for result = 0.9',
    });
    const failing: MetricCheck = { name: 'errors', failureCondition: 'result > 5.0' };
    expect(evaluateMetric(failing, { value: 7 })).toMatchObject({
      passed: false,
      reason: 'errors: failureCondition "result > 5.0" is true for result = 7',
    });
    expect(evaluateMetric(failing, { value: 1 }).passed).toBe(true);
  });

  it('needs every criterion to hold when several are set', () => {
    const check: MetricCheck = {
      name: 'm',
      thresholdRange: { max: 10 },
      successCondition: 'result > 1.0',
      failureCondition: 'result == 3.0',
    };
    expect(evaluateMetric(check, { value: 2 }).passed).toBe(true);
    expect(evaluateMetric(check, { value: 3 }).passed).toBe(false);
    expect(evaluateMetric(check, { value: 0.5 }).passed).toBe(false);
    expect(evaluateMetric(check, { value: 11 }).reason).toBe('m: 11 > max 10');
  });

  it('is inconclusive when both conditions are set and neither holds (as in Argo Rollouts)', () => {
    const check: MetricCheck = {
      name: 'latency',
      successCondition: 'result < 200.0',
      failureCondition: 'result > 400.0',
    };
    expect(evaluateMetric(check, { value: 300 })).toMatchObject({
      passed: false,
      inconclusive: true,
      value: 300,
      reason:
        'latency: inconclusive: neither successCondition "result < 200.0" nor failureCondition "result > 400.0" holds for result = 300',
    });
    expect(evaluateMetric(check, { value: 100 })).toMatchObject({ passed: true });
    expect(evaluateMetric(check, { value: 500 }).inconclusive).toBeUndefined();
    // One condition alone decides: a success condition that does not hold is a failure.
    expect(
      evaluateMetric({ name: 'l', successCondition: 'result < 200.0' }, { value: 300 }),
    ).not.toHaveProperty('inconclusive');
    // A value outside the thresholdRange fails before any condition is read.
    expect(
      evaluateMetric({ ...check, thresholdRange: { max: 250 } }, { value: 300 }).inconclusive,
    ).toBeUndefined();
    expect(lastAnalysisEntry(evaluateMetric(check, { value: 300 }))).toMatchObject({ inconclusive: true });
  });

  it('adds a step up: a failure outweighs no data, which outweighs inconclusive; dry runs do not count', () => {
    const inconclusive = evaluateMetric(
      { name: 'a', successCondition: 'result < 1.0', failureCondition: 'result > 5.0' },
      { value: 3 },
    );
    const failed = evaluateMetric({ name: 'b', thresholdRange: { max: 1 } }, { value: 3 });
    const missing = evaluateMetric({ name: 'c', thresholdRange: { max: 1 } }, { error: noData });
    const passed = evaluateMetric({ name: 'd' }, { value: 1 });
    expect(analysisOutcome([passed, inconclusive])).toEqual({
      outcome: 'inconclusive',
      reasons: [inconclusive.reason],
    });
    expect(analysisOutcome([inconclusive, missing])).toEqual({
      outcome: 'noData',
      reasons: [missing.reason],
    });
    expect(analysisOutcome([inconclusive, missing, failed])).toMatchObject({ outcome: 'failed' });
    expect(analysisOutcome([passed, { ...failed, dryRun: true }])).toEqual({
      outcome: 'passed',
      reasons: [],
    });
  });

  it('hands several series to a CEL condition and refuses them to a thresholdRange', () => {
    const listCheck: MetricCheck = { name: 'p99-per-pod', successCondition: 'results.all(r, r < 500.0)' };
    expect(evaluateMetric(listCheck, { value: [120, 480] })).toMatchObject({
      passed: true,
      value: [120, 480],
    });
    expect(evaluateMetric(listCheck, { value: [120, 800] }).passed).toBe(false);
    expect(evaluateMetric({ name: 'm', thresholdRange: { max: 1 } }, { value: [1, 2] })).toMatchObject({
      passed: false,
      error: 'multipleSeries',
      reason:
        'm: the query returned 2 series [1, 2]; thresholdRange needs one number (aggregate with sum/avg/max, or use a CEL condition over results)',
    });
    expect(evaluateMetric({ name: 'm' }, { value: [1, 2] })).toMatchObject({
      passed: false,
      error: 'multipleSeries',
    });
  });

  it('fails a check whose condition is invalid or does not fit the value', () => {
    expect(evaluateMetric({ name: 'm', successCondition: 'result >=' }, { value: 1 })).toMatchObject({
      passed: false,
      error: 'condition',
    });
    const mismatch = evaluateMetric({ name: 'm', successCondition: 'result > 1.0' }, { value: [1, 2] });
    expect(mismatch).toMatchObject({ passed: false, error: 'condition' });
    expect(mismatch.reason).toMatch(
      /^m: successCondition: CEL expression "result > 1.0" failed with result = a list of 2 values/,
    );
  });

  it('describes the criteria and maps to status.lastAnalysis', () => {
    const check: MetricCheck = {
      name: 'm',
      thresholdRange: { min: 1, max: 5 },
      successCondition: 'result > 2.0',
      failureCondition: 'result == 4.0',
    };
    const result = evaluateMetric(check, { value: 3 }, 'q');
    expect(result.threshold).toBe(
      'min 1; max 5; successCondition: result > 2.0; failureCondition: result == 4.0',
    );
    expect(lastAnalysisEntry(result)).toEqual({
      name: 'm',
      value: 3,
      threshold: 'min 1; max 5; successCondition: result > 2.0; failureCondition: result == 4.0',
      passed: true,
      reason: result.reason,
      dryRun: false,
    });
    expect(
      lastAnalysisEntry(
        evaluateMetric({ name: 'l', successCondition: 'size(results) > 1' }, { value: [1, 2] }),
      ),
    ).toEqual({
      name: 'l',
      threshold: 'successCondition: size(results) > 1',
      passed: true,
      reason: 'l: successCondition "size(results) > 1" is true for result = [1, 2]',
      dryRun: false,
    });
  });

  it('records a value with no criterion as a pass', () => {
    expect(evaluateMetric({ name: 'm' }, { value: 3 })).toMatchObject({
      passed: true,
      reason: 'm: 3 recorded (no thresholdRange or condition set)',
    });
  });

  it('keeps the verdict of a dryRun check and marks it', () => {
    expect(evaluateMetric({ ...rate, dryRun: true }, { value: 50 })).toMatchObject({
      passed: false,
      dryRun: true,
    });
  });
});

/** A provider answering from a table of query substrings, recording what it was asked. */
function fakeProvider(answers: [string, MetricValue | Error | 'hang'][], asked: string[]): MetricProvider {
  return {
    type: 'prometheus',
    async runQuery(query: string, options?: QueryOptions) {
      asked.push(query);
      const answer = answers.find(([part]) => query.includes(part))?.[1];
      if (answer === undefined)
        throw new MetricError('noData', { provider: 'prometheus', query, message: `no values for ${query}` });
      if (answer === 'hang') {
        // Honours the signal like a real provider would; the runner's deadline is the backstop.
        return new Promise<never>((_, reject) => {
          options?.signal?.addEventListener('abort', () =>
            reject(
              new MetricError('timeout', { provider: 'prometheus', query, message: `timed out: ${query}` }),
            ),
          );
        });
      }
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async isOnline() {
      return { online: true };
    },
  };
}

function deps(
  answers: [string, MetricValue | Error | 'hang'][],
  extra: Partial<AnalysisDeps> = {},
): { deps: AnalysisDeps; asked: string[]; requests: ProviderRequest[] } {
  const asked: string[] = [];
  const requests: ProviderRequest[] = [];
  const templates: Record<string, MetricTemplate> = {
    'test/errors': {
      metadata: { name: 'errors', namespace: 'test' },
      spec: {
        provider: { type: 'prometheus', address: 'http://other-prom:9090' },
        query:
          'errors{ns="{{ namespace }}",app="{{ target }}",dir="{{ variables.direction }}"}[{{ interval }}]',
      },
    },
    'test/web-p99': {
      metadata: { name: 'web-p99', namespace: 'test' },
      spec: {
        provider: { type: 'web', address: 'http://slo-api/{{ namespace }}/{{ target }}' },
        web: {
          method: 'POST',
          headers: { 'X-Window': '{{ interval }}' },
          body: '{"service":"{{ service }}"}',
          jsonPath: "$.services[?(@.name === '{{ target }}')].p99",
          timeout: '150ms',
        },
        successCondition: 'result < 500.0',
      },
    },
    'shared/auth': {
      metadata: { name: 'auth', namespace: 'shared' },
      spec: { provider: { type: 'prometheus', secretRef: { name: 'prom-auth' } }, query: 'authed' },
    },
  };
  return {
    asked,
    requests,
    deps: {
      canary: { name: 'podinfo', namespace: 'test', target: 'podinfo', metricsServer: 'http://prom:9090' },
      getTemplate: async (ref) => templates[`${ref.namespace}/${ref.name}`],
      getCredentials: async (namespace, secretRef) => ({ bearerToken: `${namespace}/${secretRef.name}` }),
      createProvider: (request) => {
        requests.push(request);
        return fakeProvider(answers, asked);
      },
      queryTimeoutMs: 200,
      ...extra,
    },
  };
}

function byName(result: AnalysisResult): Record<string, CheckResult> {
  return Object.fromEntries(result.checks.map((check) => [check.name, check]));
}

describe('runAnalysis', () => {
  it('runs built-in metrics with the Canary provider queries against metricsServer', async () => {
    const {
      deps: d,
      asked,
      requests,
    } = deps([
      ['istio_requests_total', 99.9],
      ['istio_request_duration_milliseconds_bucket', 120],
    ]);
    const result = await runAnalysis(
      [
        { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 99 } },
        { name: 'request-duration', thresholdRange: { max: 500 } },
      ],
      d,
    );
    expect(result.passed).toBe(true);
    expect(asked[0]).toContain('destination_workload_namespace="test"');
    expect(asked[0]).toContain('[30s]');
    expect(asked[1]).toContain('[1m]');
    expect(requests.map((r) => [r.provider.type, r.defaultAddress])).toEqual([
      ['prometheus', 'http://prom:9090'],
      ['prometheus', 'http://prom:9090'],
    ]);
  });

  it('renders a MetricTemplate with the check variables and uses its provider', async () => {
    const { deps: d, asked, requests } = deps([['errors{', 0.5]]);
    const result = await runAnalysis(
      [
        {
          name: 'error-rate',
          templateRef: { name: 'errors' },
          templateVariables: { direction: 'inbound' },
          interval: '2m',
          thresholdRange: { max: 1 },
        },
      ],
      d,
    );
    expect(result.passed).toBe(true);
    expect(asked).toEqual(['errors{ns="test",app="podinfo",dir="inbound"}[2m]']);
    expect(requests[0]?.provider.address).toBe('http://other-prom:9090');
    expect(requests[0]?.intervalMs).toBe(120_000);
    expect(result.checks[0]?.query).toBe(asked[0]);
  });

  it('renders a web template: URL from the address, body, headers and JSONPath', async () => {
    const { deps: d, asked, requests } = deps([['p99', 120]]);
    const result = await runAnalysis([{ name: 'p99', templateRef: { name: 'web-p99' }, interval: '5m' }], d);
    expect(asked).toEqual(["$.services[?(@.name === 'podinfo')].p99"]);
    expect(requests[0]?.web).toEqual({
      url: 'http://slo-api/test/podinfo',
      method: 'POST',
      headers: { 'X-Window': '5m' },
      body: '{"service":"podinfo"}',
      jsonPath: "$.services[?(@.name === '{{ target }}')].p99",
      timeout: '150ms',
    });
    expect(result.checks[0]).toMatchObject({
      passed: true,
      reason: 'p99: successCondition "result < 500.0" is true for result = 120',
    });
  });

  it("uses a template's default condition unless the metric sets its own", async () => {
    const { deps: d } = deps([['p99', 700]]);
    const result = await runAnalysis(
      [
        { name: 'default', templateRef: { name: 'web-p99' } },
        { name: 'own', templateRef: { name: 'web-p99' }, successCondition: 'result < 1000.0' },
      ],
      d,
    );
    expect(byName(result).default).toMatchObject({ passed: false });
    expect(byName(result).own).toMatchObject({ passed: true });
  });

  it("applies a web template's own request timeout", async () => {
    const { deps: d } = deps([['p99', 'hang']], { queryTimeoutMs: 10_000 });
    const started = Date.now();
    const result = await runAnalysis([{ name: 'p99', templateRef: { name: 'web-p99' } }], d);
    expect(result.checks[0]?.error).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("reads the Secret in the template's namespace", async () => {
    const { deps: d, requests } = deps([['authed', 1]]);
    await runAnalysis(
      [{ name: 'a', templateRef: { name: 'auth', namespace: 'shared' }, thresholdRange: { min: 1 } }],
      d,
    );
    expect(requests[0]?.credentials).toEqual({ bearerToken: 'shared/prom-auth' });
  });

  it('keeps the Secret out of the reason when the provider echoes what it was sent (issue 16 §5 leak)', async () => {
    const password = 'pr0m-passw0rd';
    const apiKey = 'dd-api-key-123';
    const basic = Buffer.from(`sluice:${password}`).toString('base64');
    const echoed = new MetricError('auth', {
      provider: 'prometheus',
      query: 'authed',
      message: `prometheus refused the credentials (HTTP 401): you sent authorization=Basic ${basic}; dd-api-key=${apiKey}; x=${encodeURIComponent(password)}`,
    });
    const { deps: d } = deps([['authed', echoed]], {
      getCredentials: async () => ({
        basicAuth: { username: 'sluice', password },
        secret: new SecretValues('shared/prom-auth', {
          username: 'sluice',
          password,
          datadog_api_key: apiKey,
        }),
      }),
    });
    const result = await runAnalysis(
      [{ name: 'a', templateRef: { name: 'auth', namespace: 'shared' }, thresholdRange: { min: 1 } }],
      d,
    );
    const reason = result.checks[0]?.reason ?? '';
    expect(reason).toBe(
      'a: prometheus refused the credentials (HTTP 401): you sent authorization=Basic [redacted]; dd-api-key=[redacted]; x=[redacted]',
    );
  });

  it('fails checks that cannot be prepared, naming the template and variable', async () => {
    const { deps: d, asked } = deps([]);
    const result = await runAnalysis(
      [
        { name: 'missing-var', templateRef: { name: 'errors' }, thresholdRange: { max: 1 } },
        { name: 'missing-template', templateRef: { name: 'nope' }, thresholdRange: { max: 1 } },
        { name: 'custom', thresholdRange: { max: 1 } },
        { name: 'bad-interval', query: 'up', interval: 'soon' },
      ],
      d,
    );
    expect(result.passed).toBe(false);
    expect(asked).toEqual([]);
    const checks = byName(result);
    expect(checks['missing-var']).toMatchObject({
      passed: false,
      error: 'template',
      reason:
        'missing-var: MetricTemplate test/errors: query uses {{ variables.direction }} but the metric\'s templateVariables has no "direction" (none are set)',
    });
    expect(checks['missing-template']?.reason).toBe(
      'missing-template: MetricTemplate test/nope (templateRef) not found',
    );
    expect(checks.custom?.reason).toBe(
      'custom: has no templateRef or query, and is not a built-in metric (request-success-rate, request-duration)',
    );
    expect(checks['bad-interval']?.reason).toBe(
      'bad-interval: metric bad-interval: interval: "soon" is not a duration; expected e.g. 30s, 1m, 1h30m',
    );
  });

  it('fails built-in metrics for a provider without them', async () => {
    const { deps: d } = deps([]);
    d.canary = { ...d.canary, provider: 'contour' };
    const result = await runAnalysis([{ name: 'request-duration', thresholdRange: { max: 500 } }], d);
    expect(result.checks[0]?.reason).toMatch(
      /^request-duration: provider "contour" has no built-in request-duration metric/,
    );
  });

  it('fails a query that does not answer within the timeout, and runs checks concurrently', async () => {
    const { deps: d } = deps([
      ['slow_a', 'hang'],
      ['slow_b', 'hang'],
    ]);
    const started = Date.now();
    const result = await runAnalysis(
      [
        { name: 'a', query: 'slow_a', thresholdRange: { max: 1 } },
        { name: 'b', query: 'slow_b', thresholdRange: { max: 1 } },
      ],
      d,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.passed).toBe(false);
    expect(result.checks.map((check) => check.error)).toEqual(['timeout', 'timeout']);
  });

  it('stops a provider that ignores its signal at the deadline', async () => {
    const { deps: d } = deps([], {
      createProvider: () => ({
        type: 'prometheus',
        runQuery: () => new Promise<never>(() => {}),
        isOnline: async () => ({ online: true }),
      }),
      queryTimeoutMs: 50,
    });
    const result = await runAnalysis([{ name: 'stuck', query: 'up' }], d);
    expect(result.checks[0]).toMatchObject({
      passed: false,
      error: 'timeout',
      reason: 'stuck: prometheus did not answer within 50ms: up',
    });
  });

  it('never lets a dryRun check fail the analysis, but reports it', async () => {
    const { deps: d } = deps([
      ['good', 1],
      ['bad', 100],
    ]);
    const result = await runAnalysis(
      [
        { name: 'good', query: 'good', thresholdRange: { max: 1 } },
        { name: 'experimental', query: 'bad', thresholdRange: { max: 1 }, dryRun: true },
        { name: 'no-data', query: 'absent', thresholdRange: { max: 1 }, dryRun: true },
      ],
      d,
    );
    expect(result.passed).toBe(true);
    expect(byName(result).experimental).toMatchObject({
      passed: false,
      dryRun: true,
      reason: 'experimental: 100 > max 1',
    });
    expect(summarizeAnalysis(result)).toBe(
      'all metric checks passed (dry-run checks failing): [dry-run] experimental: 100 > max 1; [dry-run] no-data: no values for absent',
    );
  });

  it('summarizes failures for the Event', async () => {
    const { deps: d } = deps([['good', 1]]);
    const result = await runAnalysis(
      [
        { name: 'good', query: 'good', thresholdRange: { max: 1 } },
        { name: 'request-success-rate', thresholdRange: { min: 99 } },
      ],
      d,
    );
    expect(summarizeAnalysis(result)).toMatch(
      /^1 of 2 metric checks failed: request-success-rate: no values for /,
    );
    expect(summarizeAnalysis({ passed: true, checks: [] })).toBe('all 0 metric checks passed');
  });
});
