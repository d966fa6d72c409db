import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { getCondition, stalledConditions } from '../../src/api/conditions.ts';
import {
  formatIssues,
  parseAlertProvider,
  parseCanary,
  parseMetricTemplate,
  type ValidationIssue,
} from '../../src/api/validate.ts';
import { apiErrorMessage, apply, statusCode } from '../../src/kube/client.ts';
import { useNamespace } from '../support/kube.ts';

// The same invalid objects go to the real apiserver (OpenAPI schema + CEL rules from the
// generated CRD) and to Sluice's own parser: both must reject them, naming the same field.

const ns = useNamespace('api-validation');

type Spec = Record<string, unknown>;

function validSpec(): Spec {
  return {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
    service: { port: 9898 },
    analysis: {
      interval: '30s',
      stepWeight: 10,
      maxWeight: 50,
      metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
      webhooks: [{ name: 'load-test', url: 'http://loadtester.test/' }],
      alerts: [{ name: 'team', providerRef: { name: 'slack' } }],
    },
  };
}

interface InvalidCase {
  name: string;
  change: (
    spec: Spec & { analysis: Spec & { metrics: Spec[]; webhooks: Spec[]; alerts: Spec[] }; service: Spec },
  ) => void;
  /** The field both the apiserver and zod must name. */
  field: string;
  /** A fragment of the apiserver's message for that field. */
  message: string;
}

const INVALID_CANARIES: InvalidCase[] = [
  {
    name: 'stepWeight above maxWeight',
    change: (s) => Object.assign(s.analysis, { stepWeight: 60, maxWeight: 50 }),
    field: 'spec.analysis.stepWeight',
    message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
  },
  {
    name: 'maxWeight above 100',
    change: (s) => Object.assign(s.analysis, { maxWeight: 150 }),
    field: 'spec.analysis.maxWeight',
    message: 'less than or equal to 100',
  },
  {
    name: 'interval under 10s',
    change: (s) => Object.assign(s.analysis, { interval: '5s' }),
    field: 'spec.analysis.interval',
    message: 'spec.analysis.interval must be at least 10s',
  },
  {
    name: 'interval that is not a duration',
    change: (s) => Object.assign(s.analysis, { interval: '1 minute' }),
    field: 'spec.analysis.interval',
    message: 'should match',
  },
  {
    name: 'stepWeights not ascending',
    change: (s) => {
      delete s.analysis.stepWeight;
      delete s.analysis.maxWeight;
      s.analysis.stepWeights = [5, 20, 10];
    },
    field: 'spec.analysis.stepWeights',
    message: 'spec.analysis.stepWeights must be strictly ascending',
  },
  {
    name: 'last stepWeights entry above maxWeight',
    change: (s) => {
      delete s.analysis.stepWeight;
      s.analysis.stepWeights = [10, 30, 60];
    },
    field: 'spec.analysis.stepWeights',
    message: 'the last of spec.analysis.stepWeights must be <= spec.analysis.maxWeight',
  },
  {
    name: 'match without iterations',
    change: (s) => Object.assign(s.analysis, { match: [{ headers: { 'x-canary': { exact: 'insider' } } }] }),
    field: 'spec.analysis.iterations',
    message: 'spec.analysis.iterations is required when spec.analysis.match is set',
  },
  {
    name: 'no traffic plan at all',
    change: (s) => {
      delete s.analysis.stepWeight;
      delete s.analysis.maxWeight;
    },
    field: 'spec.analysis',
    message: 'spec.analysis needs one of stepWeight, stepWeights, iterations, steps or stepReplicas',
  },
  {
    name: 'steps mixed with stepWeight',
    change: (s) => Object.assign(s.analysis, { steps: [{ setWeight: 20 }] }),
    field: 'spec.analysis.steps',
    message: 'spec.analysis.steps cannot be combined with stepWeight, stepWeights, maxWeight or iterations',
  },
  {
    name: 'a step with two actions',
    change: (s) => {
      delete s.analysis.stepWeight;
      delete s.analysis.maxWeight;
      s.analysis.steps = [{ setWeight: 20, pause: { duration: '1m' } }];
    },
    field: 'spec.analysis.steps[0]',
    message: 'a step must set exactly one of setWeight, pause or analysis',
  },
  {
    name: 'custom metric without templateRef or query',
    change: (s) => s.analysis.metrics.push({ name: 'error-rate', thresholdRange: { max: 1 } }),
    field: 'spec.analysis.metrics[1].templateRef',
    message:
      'templateRef or query is required unless the metric name is one of request-success-rate, request-duration',
  },
  {
    name: 'thresholdRange min above max',
    change: (s) => Object.assign(s.analysis.metrics[0]!, { thresholdRange: { min: 99, max: 90 } }),
    field: 'spec.analysis.metrics[0].thresholdRange.min',
    message: 'thresholdRange.min must be <= thresholdRange.max',
  },
  {
    name: 'failFast on a dry-run metric',
    change: (s) => Object.assign(s.analysis.metrics[0]!, { failFast: true, dryRun: true }),
    field: 'spec.analysis.metrics[0].failFast',
    message: 'failFast cannot be combined with dryRun',
  },
  {
    name: 'checkEvery longer than the interval',
    change: (s) => Object.assign(s.analysis, { judge: {}, checkEvery: '1m' }),
    field: 'spec.analysis.checkEvery',
    message: 'spec.analysis.checkEvery must not be longer than spec.analysis.interval',
  },
  {
    name: 'checkEvery with nothing to pace',
    change: (s) => Object.assign(s.analysis, { checkEvery: '5s' }),
    field: 'spec.analysis.checkEvery',
    message: 'spec.analysis.checkEvery only paces the judge and failFast metrics',
  },
  {
    name: 'judge confidence above 0.9999',
    change: (s) => Object.assign(s.analysis, { judge: { confidence: 1 } }),
    field: 'spec.analysis.judge.confidence',
    // The apiserver prints a fractional maximum rounded down ("less than or equal to 0").
    message: 'should be less than or equal to',
  },
  {
    name: 'judged metric with a malformed tolerance',
    change: (s) =>
      Object.assign(s.analysis, { judge: { metrics: [{ name: 'errors', maxIncrease: '+10 %' }] } }),
    field: 'spec.analysis.judge.metrics[0].maxIncrease',
    message: 'should match',
  },
  {
    name: 'custom judged metric without rate or distribution',
    change: (s) => Object.assign(s.analysis, { judge: { metrics: [{ name: 'queue-errors' }] } }),
    field: 'spec.analysis.judge.metrics[0].rate',
    message: 'rate or distribution is required unless the name is a built-in judged metric',
  },
  {
    name: 'judged metric with both rate and distribution',
    change: (s) =>
      Object.assign(s.analysis, {
        judge: {
          metrics: [
            {
              name: 'queue',
              rate: { events: { templateRef: { name: 'bad' } }, total: { templateRef: { name: 'all' } } },
              distribution: { templateRef: { name: 'buckets' } },
            },
          ],
        },
      }),
    field: 'spec.analysis.judge.metrics[0].distribution',
    message: 'set at most one of rate or distribution',
  },
  {
    name: 'built-in judged metric configured but switched off',
    change: (s) =>
      Object.assign(s.analysis, { judge: { builtins: ['errors'], metrics: [{ name: 'latency' }] } }),
    field: 'spec.analysis.judge.metrics',
    message: 'must be listed in spec.analysis.judge.builtins',
  },
  {
    name: 'judge with nothing to judge',
    change: (s) => Object.assign(s.analysis, { judge: { builtins: [] } }),
    field: 'spec.analysis.judge.builtins',
    message: 'spec.analysis.judge has nothing to judge',
  },
  {
    name: 'unknown webhook type',
    change: (s) => Object.assign(s.analysis.webhooks[0]!, { type: 'pre-deploy' }),
    field: 'spec.analysis.webhooks[0].type',
    message: 'Unsupported value: "pre-deploy"',
  },
  {
    name: 'webhook URL without a scheme',
    change: (s) => Object.assign(s.analysis.webhooks[0]!, { url: 'loadtester.test:80/' }),
    field: 'spec.analysis.webhooks[0].url',
    message: 'should match',
  },
  {
    name: 'webhook timeout that is not a duration',
    change: (s) => Object.assign(s.analysis.webhooks[0]!, { timeout: 'fast' }),
    field: 'spec.analysis.webhooks[0].timeout',
    message: 'should match',
  },
  {
    name: 'too many webhook retries',
    change: (s) => Object.assign(s.analysis.webhooks[0]!, { retries: 50 }),
    field: 'spec.analysis.webhooks[0].retries',
    message: 'less than or equal to 10',
  },
  {
    name: 'unknown alert severity',
    change: (s) => Object.assign(s.analysis.alerts[0]!, { severity: 'critical' }),
    field: 'spec.analysis.alerts[0].severity',
    message: 'Unsupported value: "critical"',
  },
  {
    name: 'threshold of zero',
    change: (s) => Object.assign(s.analysis, { threshold: 0 }),
    field: 'spec.analysis.threshold',
    message: 'greater than or equal to 1',
  },
  {
    name: 'readiness threshold above 100 percent',
    change: (s) => Object.assign(s.analysis, { canaryReadyThreshold: 120 }),
    field: 'spec.analysis.canaryReadyThreshold',
    message: 'less than or equal to 100',
  },
  {
    name: 'service port 0',
    change: (s) => Object.assign(s.service, { port: 0 }),
    field: 'spec.service.port',
    message: 'greater than or equal to 1',
  },
  {
    name: 'target of an unsupported kind',
    change: (s) => Object.assign(s, { targetRef: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'db' } }),
    field: 'spec.targetRef.kind',
    message: 'Unsupported value: "ReplicaSet"',
  },
  {
    name: 'StatefulSet with traffic weights',
    change: (s) =>
      Object.assign(s, { targetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' } }),
    field: 'spec.analysis.stepWeight',
    message: 'spec.analysis.stepWeight does not apply to a StatefulSet canary',
  },
  {
    name: 'stepReplicas on a Deployment',
    change: (s) => Object.assign(s.analysis, { stepReplicas: [1] }),
    field: 'spec.analysis.stepReplicas',
    message: 'spec.analysis.stepReplicas is for StatefulSet targets',
  },
  {
    name: 'no targetRef',
    change: (s) => delete s.targetRef,
    field: 'spec.targetRef',
    message: 'Required value',
  },
  {
    name: 'weight given as text',
    change: (s) => Object.assign(s.analysis, { stepWeight: '10' }),
    field: 'spec.analysis.stepWeight',
    message: 'must be of type integer',
  },
];

function canary(name: string, spec: Spec) {
  return { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', metadata: { name, namespace: ns.name }, spec };
}

const PLURALS: Record<string, string> = {
  Canary: 'canaries',
  MetricTemplate: 'metrictemplates',
  AlertProvider: 'alertproviders',
};

/** Creates an object (as kubectl create does) and returns the apiserver's rejection message. */
async function rejection(object: { kind: string; metadata: { name: string } }): Promise<string> {
  try {
    await ns.kube.custom.createNamespacedCustomObject({
      group: 'sluice.dev',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: PLURALS[object.kind]!,
      body: object,
    });
  } catch (error) {
    expect(statusCode(error), apiErrorMessage(error)).toBe(422);
    return apiErrorMessage(error);
  }
  throw new Error(`the apiserver accepted ${object.kind} ${object.metadata.name}`);
}

function paths(issues: ValidationIssue[]): string[] {
  return issues.map((issue) => issue.path);
}

describe('invalid Canaries', () => {
  it('has a valid baseline that both the apiserver and Sluice accept', async () => {
    const object = canary('baseline', validSpec());
    expect(parseCanary(object).ok).toBe(true);
    const stored = await apply(ns.kube, object);
    expect(stored.metadata?.name).toBe('baseline');
  });

  it('accepts a judge with built-ins, overrides and custom metrics, and fills in its defaults', async () => {
    const spec = validSpec();
    Object.assign(spec.analysis as Spec, {
      checkEvery: '5s',
      judge: {
        metrics: [
          { name: 'errors', maxIncrease: '0.5' },
          {
            name: 'queue-errors',
            rate: { events: { templateRef: { name: 'bad' } }, total: { templateRef: { name: 'all' } } },
            direction: 'either',
            critical: false,
          },
          {
            name: 'render-time',
            distribution: { templateRef: { name: 'render-buckets' } },
            maxIncrease: '10%',
          },
        ],
      },
    });
    const object = canary('judged', spec);
    expect(parseCanary(object).ok).toBe(true);
    const stored = (await apply(ns.kube, object)) as { spec?: { analysis?: { judge?: Spec } } };
    expect(stored.spec?.analysis?.judge).toMatchObject({
      confidence: 0.99,
      builtins: ['errors', 'latency'],
      metrics: [{ name: 'errors', direction: 'increase', critical: true }, { critical: false }, {}],
    });
  });

  it(`covers at least 12 distinct rules (${INVALID_CANARIES.length})`, () => {
    expect(new Set(INVALID_CANARIES.map((c) => `${c.field} ${c.message}`)).size).toBe(
      INVALID_CANARIES.length,
    );
    expect(INVALID_CANARIES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(INVALID_CANARIES)('$name: rejected naming $field', async ({ name, change, field, message }) => {
    const spec = validSpec();
    change(spec as Parameters<InvalidCase['change']>[0]);
    const object = canary(name.replace(/[^a-z0-9]+/gi, '-').toLowerCase(), spec);

    const apiserver = await rejection(object);
    expect(apiserver).toContain(`${field}: `);
    expect(apiserver).toContain(message);

    const parsed = parseCanary(object);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(paths(parsed.issues)).toContain(field);
    expect(formatIssues(object, parsed.issues)).toContain(
      `Canary ${ns.name}/${object.metadata.name} is invalid: ${field}`,
    );
  });

  it('a Canary the apiserver accepts but Sluice cannot run (malformed CEL) becomes Stalled naming the field', async () => {
    const spec = validSpec();
    (spec.analysis as { metrics: Spec[] }).metrics[0]!.successCondition = 'result >=';
    const object = canary('bad-cel', spec);
    const stored = await apply(ns.kube, object);

    const parsed = parseCanary(stored);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const conditions = stalledConditions(undefined, {
      issues: parsed.issues,
      generation: stored.metadata?.generation,
      now: new Date(),
    });
    const stalled = getCondition(conditions, 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec', observedGeneration: 1 });
    expect(stalled?.message).toMatch(
      /^spec\.analysis\.metrics\[0\]\.successCondition: not a valid CEL expression/,
    );

    // The conditions are valid status for the real CRD.
    const patched = await ns.kube.wire.mergePatchObject<
      KubernetesObject & { status?: { conditions?: unknown[] } }
    >(stored, { status: { conditions } }, { subresource: 'status' });
    expect(patched.status?.conditions).toEqual(conditions);
  });
});

describe('invalid MetricTemplates and AlertProviders', () => {
  const template = (name: string, spec: Spec) => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MetricTemplate',
    metadata: { name, namespace: ns.name },
    spec,
  });
  const provider = (name: string, spec: Spec) => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AlertProvider',
    metadata: { name, namespace: ns.name },
    spec,
  });

  it.each([
    [
      'no query',
      template('no-query', { provider: { type: 'prometheus' } }),
      'spec.query',
      'spec.query is required unless',
    ],
    [
      'web provider without spec.web',
      template('no-web', { provider: { type: 'web', address: 'http://metrics.test' } }),
      'spec.web',
      'spec.web is required when spec.provider.type is web',
    ],
    [
      'cloudwatch without a region',
      template('no-region', { provider: { type: 'cloudwatch' }, query: '[]' }),
      'spec.provider.region',
      'spec.provider.region is required for provider type cloudwatch',
    ],
    [
      'unknown provider',
      template('unknown', { provider: { type: 'appdynamics' }, query: 'x' }),
      'spec.provider.type',
      'Unsupported value',
    ],
    [
      'no URL source',
      provider('no-url', { type: 'slack' }),
      'spec.secretRef',
      'spec.secretRef (a Secret with an "address" key)',
    ],
    [
      'unknown type',
      provider('pager', { type: 'pagerduty', secretRef: { name: 'x' } }),
      'spec.type',
      'Unsupported value',
    ],
  ])('%s', async (_name, object, field, message) => {
    const apiserver = await rejection(object);
    expect(apiserver).toContain(`${field}: `);
    expect(apiserver).toContain(message);
    const parsed =
      object.kind === 'MetricTemplate' ? parseMetricTemplate(object) : parseAlertProvider(object);
    expect(parsed.ok ? [] : paths(parsed.issues)).toContain(field);
  });
});
