import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analysisIntervalMs,
  effectiveMaxWeight,
  serviceNames,
  strategyOf,
  type CanaryAnalysis,
  type CanaryInput,
} from './canary.ts';
import { parseCanary, type ValidationIssue } from './validate.ts';
import { canaryObject } from '../../test/support/canaries.ts';

type AnalysisInput = NonNullable<CanaryInput['spec']['analysis']>;

function canary(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}): unknown {
  return canaryObject('test', { analysis, ...spec });
}

/** A Canary named x with exactly this spec, nothing filled in. */
function canaryWithSpec(spec: Record<string, unknown>) {
  return { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', metadata: { name: 'x' }, spec };
}

function parsed(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  const result = parseCanary(canary(analysis, spec));
  if (!result.ok) throw new Error(`expected a valid Canary: ${JSON.stringify(result.issues)}`);
  return result.canary;
}

function issues(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}): ValidationIssue[] {
  const result = parseCanary(canary(analysis, spec));
  if (result.ok) throw new Error('expected the Canary to be rejected');
  return result.issues;
}

describe('Canary defaults (Flagger values)', () => {
  it('fills in every default a minimal Canary leaves out', () => {
    const { spec } = parsed({ stepWeight: 10 });
    expect(spec.analysis).toMatchObject({
      interval: '60s',
      threshold: 1,
      primaryReadyThreshold: 100,
      canaryReadyThreshold: 100,
    });
    expect(spec.progressDeadlineSeconds).toBe(600);
    expect(spec.service.portName).toBe('http');
    expect(spec.analysis.maxWeight).toBeUndefined();
  });

  it('defaults webhook timeout to 10s and type to rollout, metric interval to 1m, severity to info', () => {
    const { spec } = parsed({
      stepWeight: 10,
      webhooks: [{ name: 'load', url: 'http://loadtester.test/' }],
      metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
      alerts: [{ name: 'team', providerRef: { name: 'slack' } }],
    });
    expect(spec.analysis.webhooks?.[0]).toMatchObject({ timeout: '10s', type: 'rollout' });
    expect(spec.analysis.metrics?.[0]?.interval).toBe('1m');
    expect(spec.analysis.alerts?.[0]?.severity).toBe('info');
  });

  it('defaults the session affinity cookie max age to a day', () => {
    const { spec } = parsed({ stepWeight: 10, sessionAffinity: { cookieName: 'canary' } });
    expect(spec.analysis.sessionAffinity?.maxAge).toBe(86_400);
  });

  it('keeps values that are set instead of the defaults', () => {
    const { spec } = parsed(
      { stepWeight: 10, interval: '2m', threshold: 3 },
      { progressDeadlineSeconds: 60 },
    );
    expect(spec.analysis.interval).toBe('2m');
    expect(spec.analysis.threshold).toBe(3);
    expect(spec.progressDeadlineSeconds).toBe(60);
  });
});

describe('durations', () => {
  it.each(['10s', '30s', '1m', '1h30m', '90s', '1.5m', '2h'])('accepts interval %s', (interval) => {
    expect(parsed({ stepWeight: 10, interval }).spec.analysis.interval).toBe(interval);
  });

  it.each(['30', '1 m', 'soon', '-1m', '1d', ''])('rejects interval %j naming the field', (interval) => {
    expect(issues({ stepWeight: 10, interval })).toContainEqual({
      path: 'spec.analysis.interval',
      message: expect.stringContaining('expected a duration such as 30s, 1m or 1h30m'),
    });
  });

  it.each(['5s', '9s', '9999ms'])('rejects interval %s as shorter than 10s', (interval) => {
    expect(issues({ stepWeight: 10, interval })).toContainEqual({
      path: 'spec.analysis.interval',
      message: 'spec.analysis.interval must be at least 10s',
    });
  });

  it('accepts sub-10s durations where Flagger has no floor (metric windows, webhook timeouts)', () => {
    const { spec } = parsed({
      stepWeight: 10,
      metrics: [{ name: 'request-duration', interval: '5s' }],
      webhooks: [{ name: 'w', url: 'https://hooks.test/x', timeout: '500ms' }],
    });
    expect(spec.analysis.metrics?.[0]?.interval).toBe('5s');
    expect(spec.analysis.webhooks?.[0]?.timeout).toBe('500ms');
  });

  it('gives the interval in milliseconds', () => {
    expect(analysisIntervalMs(parsed({ stepWeight: 10, interval: '1h30m' }).spec.analysis)).toBe(5_400_000);
    expect(analysisIntervalMs(parsed({ stepWeight: 10 }).spec.analysis)).toBe(60_000);
  });
});

describe('percentages', () => {
  it.each([
    ['stepWeight', 1],
    ['stepWeight', 100],
    ['maxWeight', 100],
    ['mirrorWeight', 0],
    ['primaryReadyThreshold', 0],
    ['canaryReadyThreshold', 100],
  ])('accepts %s = %d', (field, value) => {
    const result = parseCanary(canary({ stepWeight: 1, [field]: value }));
    expect(result.ok).toBe(true);
  });

  it.each([
    ['stepWeight', 0, 'must be >= 1 (got 0)'],
    ['stepWeight', 101, 'must be <= 100 (got 101)'],
    ['maxWeight', 150, 'must be <= 100 (got 150)'],
    ['mirrorWeight', -5, 'must be >= 0 (got -5)'],
    ['canaryReadyThreshold', 101, 'must be <= 100 (got 101)'],
    ['stepWeight', 12.5, 'expected an integer (got 12.5)'],
    ['stepWeight', '10', 'expected a number (got "10")'],
  ])('rejects %s = %j', (field, value, message) => {
    expect(issues({ stepWeight: 10, iterations: 1, [field]: value })).toContainEqual({
      path: `spec.analysis.${field}`,
      message,
    });
  });

  it('accepts any whole percentage from 1 to 100 as a stepWeight up to maxWeight 100', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        (weight) => parseCanary(canary({ stepWeight: weight, maxWeight: 100 })).ok,
      ),
    );
  });
});

describe('lists', () => {
  it('accepts empty metrics, webhooks and alerts', () => {
    const { spec } = parsed({ stepWeight: 10, metrics: [], webhooks: [], alerts: [] });
    expect(spec.analysis.metrics).toEqual([]);
  });

  it('does not count an empty match list as A/B testing', () => {
    const { spec } = parsed({ stepWeight: 10, match: [] });
    expect(strategyOf(spec.analysis)).toBe('canary');
  });

  it('does not count empty stepWeights or steps as a traffic plan', () => {
    expect(issues({ stepWeights: [] })).toContainEqual({
      path: 'spec.analysis',
      message: 'spec.analysis needs one of stepWeight, stepWeights, iterations, steps or stepReplicas',
    });
    expect(issues({ steps: [] })).toContainEqual(expect.objectContaining({ path: 'spec.analysis' }));
  });

  it('accepts strictly ascending stepWeights and rejects any other order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }),
        (weights) => {
          const sorted = [...weights].sort((a, b) => a - b);
          const ascendingOk = parseCanary(canary({ stepWeights: sorted })).ok;
          const shuffled = [...sorted].reverse();
          const reversedOk = parseCanary(canary({ stepWeights: shuffled })).ok;
          return ascendingOk && reversedOk === (sorted.length === 1);
        },
      ),
    );
    expect(issues({ stepWeights: [10, 10, 20] })).toContainEqual({
      path: 'spec.analysis.stepWeights',
      message: 'spec.analysis.stepWeights must be strictly ascending',
    });
  });
});

describe('cross-field rules', () => {
  it('stepWeight must not exceed maxWeight', () => {
    expect(issues({ stepWeight: 60, maxWeight: 50 })).toEqual([
      {
        path: 'spec.analysis.stepWeight',
        message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
      },
    ]);
  });

  it('the last stepWeights entry must not exceed maxWeight', () => {
    expect(issues({ stepWeights: [10, 60], maxWeight: 50 })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.stepWeights' }),
    );
  });

  it('match needs iterations (A/B testing)', () => {
    expect(issues({ stepWeight: 10, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] })).toEqual([
      {
        path: 'spec.analysis.iterations',
        message: 'spec.analysis.iterations is required when spec.analysis.match is set (A/B testing)',
      },
    ]);
  });

  it('steps exclude stepWeight, stepWeights, maxWeight and iterations', () => {
    expect(issues({ steps: [{ setWeight: 10 }], stepWeight: 10 })).toContainEqual({
      path: 'spec.analysis.steps',
      message: 'spec.analysis.steps cannot be combined with stepWeight, stepWeights, maxWeight or iterations',
    });
  });

  it('a step sets exactly one of setWeight, pause, analysis', () => {
    const { spec } = parsed({
      steps: [
        { setWeight: 5 },
        { pause: {} },
        { setWeight: 20 },
        { pause: { duration: '1m' } },
        { analysis: {} },
      ],
    });
    expect(spec.analysis.steps).toHaveLength(5);
    expect(issues({ steps: [{ setWeight: 5, pause: {} }] })).toContainEqual({
      path: 'spec.analysis.steps[0]',
      message: 'a step must set exactly one of setWeight, pause or analysis',
    });
    expect(issues({ steps: [{}] })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.steps[0]' }),
    );
  });

  it('a metric needs a templateRef or query unless it is built in', () => {
    expect(issues({ stepWeight: 10, metrics: [{ name: 'error-rate', thresholdRange: { max: 1 } }] })).toEqual(
      [
        {
          path: 'spec.analysis.metrics[0].templateRef',
          message:
            'templateRef or query is required unless the metric name is one of request-success-rate, request-duration',
        },
      ],
    );
  });

  it('thresholdRange.min must not exceed max', () => {
    expect(
      issues({
        stepWeight: 10,
        metrics: [{ name: 'request-duration', thresholdRange: { min: 500, max: 100 } }],
      }),
    ).toEqual([
      {
        path: 'spec.analysis.metrics[0].thresholdRange.min',
        message: 'thresholdRange.min must be <= thresholdRange.max',
      },
    ]);
  });

  it('CEL conditions must parse', () => {
    const ok = parsed({
      stepWeight: 10,
      metrics: [
        {
          name: 'request-success-rate',
          successCondition: 'result >= 99.0',
          failureCondition: 'result < 90.0',
          dryRun: true,
        },
      ],
    });
    expect(ok.spec.analysis.metrics?.[0]?.dryRun).toBe(true);
    const [issue] = issues({
      stepWeight: 10,
      metrics: [{ name: 'request-success-rate', successCondition: 'result >=' }],
    });
    expect(issue?.path).toBe('spec.analysis.metrics[0].successCondition');
    expect(issue?.message).toMatch(/^not a valid CEL expression \(at 1:\d+/);
  });

  it('webhook URLs must be http(s) and retries are bounded', () => {
    expect(issues({ stepWeight: 10, webhooks: [{ name: 'w', url: 'loadtester:80' }] })).toContainEqual({
      path: 'spec.analysis.webhooks[0].url',
      message: 'expected an http:// or https:// URL (got "loadtester:80")',
    });
    expect(
      issues({ stepWeight: 10, webhooks: [{ name: 'w', url: 'http://x.test/', retries: 11 }] }),
    ).toContainEqual({
      path: 'spec.analysis.webhooks[0].retries',
      message: 'must be <= 10 (got 11)',
    });
  });

  it('names the enum values a field accepts', () => {
    expect(
      issues({ stepWeight: 10, webhooks: [{ name: 'w', type: 'pre', url: 'http://x.test/' }] }),
    ).toContainEqual({
      path: 'spec.analysis.webhooks[0].type',
      message:
        'expected one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event (got "pre")',
    });
  });

  it('requires targetRef, service.port and analysis', () => {
    const result = parseCanary(canaryWithSpec({}));
    expect(result.ok ? [] : result.issues).toEqual([
      { path: 'spec.targetRef', message: 'is required' },
      { path: 'spec.analysis', message: 'is required' },
    ]);
    const withoutService = parseCanary(
      canaryWithSpec({
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' },
        analysis: { stepWeight: 10 },
      }),
    );
    expect(withoutService.ok ? [] : withoutService.issues).toEqual([
      {
        path: 'spec.service',
        message:
          'spec.service is required (a knative Canary, which routes between the Knative Service’s revisions, has none)',
      },
    ]);
  });

  it('takes a knative Canary without spec.service, as Flagger writes one, and only that', () => {
    const knative = canaryWithSpec({
      provider: 'knative',
      targetRef: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'x' },
      analysis: { stepWeight: 10 },
    });
    const result = parseCanary(knative);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (result.ok) expect(result.canary.spec.service.name).toBeUndefined();
    const withService = parseCanary({ ...knative, spec: { ...knative.spec, service: { port: 80 } } });
    expect(withService.ok ? [] : withService.issues.map((issue) => issue.path)).toEqual(['spec.service']);
    const deployment = parseCanary({
      ...knative,
      spec: { ...knative.spec, targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' } },
    });
    expect(deployment.ok ? [] : deployment.issues.map((issue) => issue.path)).toEqual(['spec.targetRef']);
  });

  it('refuses what a knative Canary would ignore: an autoscaler, ready thresholds', () => {
    const knative = {
      provider: 'knative',
      targetRef: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'x' },
    };
    const issues = (spec: Record<string, unknown>) => {
      const result = parseCanary(canaryWithSpec({ ...knative, analysis: { stepWeight: 10 }, ...spec }));
      return result.ok ? [] : result.issues;
    };
    expect(
      issues({ autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'x' } }),
    ).toEqual([
      {
        path: 'spec.autoscalerRef',
        message:
          'spec.autoscalerRef does not apply to a knative Canary: Knative scales every revision itself (remove it)',
      },
    ]);
    expect(issues({ analysis: { stepWeight: 10, canaryReadyThreshold: 50 } })).toEqual([
      {
        path: 'spec.analysis',
        message:
          'spec.analysis.primaryReadyThreshold and canaryReadyThreshold do not apply to a knative Canary: a revision is ready when Knative says so, not by a share of pods (remove them)',
      },
    ]);
    expect(issues({ analysis: { stepWeight: 10, primaryReadyThreshold: 100 } })).toEqual([]);
  });

  it('accepts a named or numbered targetPort', () => {
    expect(
      parsed({ stepWeight: 10 }, { service: { port: 80, targetPort: 'http' } }).spec.service.targetPort,
    ).toBe('http');
    expect(
      parsed({ stepWeight: 10 }, { service: { port: 80, targetPort: 8080 } }).spec.service.targetPort,
    ).toBe(8080);
    expect(issues({ stepWeight: 10 }, { service: { port: 80, targetPort: true } })).toEqual([
      { path: 'spec.service.targetPort', message: 'expected an integer or a string (got true)' },
    ]);
  });

  it('keeps unknown fields of Istio passthrough objects', () => {
    const { spec } = parsed(
      { stepWeight: 10 },
      {
        service: {
          port: 80,
          trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
          match: [{ uri: { prefix: '/' }, newField: 1 }],
        },
      },
    );
    expect(spec.service.trafficPolicy).toEqual({ tls: { mode: 'ISTIO_MUTUAL' } });
    expect(spec.service.match?.[0]).toEqual({ uri: { prefix: '/' }, newField: 1 });
  });
});

describe('derived values', () => {
  const analysis = (input: AnalysisInput): CanaryAnalysis =>
    parsed(input as Record<string, unknown>).spec.analysis;

  it('maxWeight is the last stepWeights entry, else maxWeight, else 100', () => {
    expect(effectiveMaxWeight(analysis({ stepWeights: [5, 10, 40] }))).toBe(40);
    expect(effectiveMaxWeight(analysis({ stepWeight: 10, maxWeight: 60 }))).toBe(60);
    expect(effectiveMaxWeight(analysis({ stepWeight: 10 }))).toBe(100);
  });

  it('match with iterations is A/B testing, iterations alone blue/green, else canary', () => {
    expect(strategyOf(analysis({ iterations: 10, match: [{ headers: { x: { exact: 'y' } } }] }))).toBe(
      'abTesting',
    );
    expect(strategyOf(analysis({ iterations: 10 }))).toBe('blueGreen');
    expect(strategyOf(analysis({ stepWeight: 5 }))).toBe('canary');
  });

  it('names the Services after service.name, else the target', () => {
    expect(serviceNames(parsed({ stepWeight: 1 }).spec)).toEqual({
      apex: 'podinfo',
      primary: 'podinfo-primary',
      canary: 'podinfo-canary',
    });
    expect(serviceNames(parsed({ stepWeight: 1 }, { service: { port: 80, name: 'web' } }).spec).primary).toBe(
      'web-primary',
    );
  });
});
