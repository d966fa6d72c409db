import { describe, expect, it } from 'vitest';
import {
  formatIssues,
  formatPath,
  objectRef,
  parseAlertProvider,
  parseCanary,
  parseMetricTemplate,
} from './validate.ts';
import { canaryObject } from '../../test/support/canaries.ts';

// Flagger's pkg/metrics/providers/factory.go, every case of its switch.
const FLAGGER_METRIC_PROVIDERS = [
  'prometheus',
  'datadog',
  'externalmetrics',
  'cloudwatch',
  'newrelic',
  'graphite',
  'stackdriver',
  'influxdb',
  'dynatrace',
  'keptn',
  'splunk',
] as const;

const metricTemplate = (spec: Record<string, unknown>) => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'MetricTemplate',
  metadata: { name: 'error-rate', namespace: 'istio-system' },
  spec,
});

const alertProvider = (spec: Record<string, unknown>) => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'AlertProvider',
  metadata: { name: 'slack', namespace: 'test' },
  spec,
});

describe('formatPath', () => {
  it.each([
    [['spec', 'analysis', 'metrics', 0, 'interval'], 'spec.analysis.metrics[0].interval'],
    [['spec', 'analysis', 'stepWeights', 2], 'spec.analysis.stepWeights[2]'],
    [
      ['spec', 'analysis', 'metrics', 0, 'templateVariables', 'a.b'],
      'spec.analysis.metrics[0].templateVariables["a.b"]',
    ],
    [[], ''],
  ])('%j → %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('formatIssues', () => {
  it('names the object, each field and what was expected on one line', () => {
    const obj = canaryObject('test', {
      service: { port: 0 },
      analysis: { stepWeight: 60, maxWeight: 50, interval: 'soon' },
    });
    const result = parseCanary(obj);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(obj, result.issues)).toBe(
      'Canary test/podinfo is invalid: spec.service.port: must be >= 1 (got 0); ' +
        'spec.analysis.interval: expected a duration such as 30s, 1m or 1h30m (got "soon"); ' +
        'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
    );
  });

  it('copes with objects that have no name or kind', () => {
    expect(formatIssues({}, [{ path: 'spec', message: 'is required' }])).toBe(
      'object <unnamed> is invalid: spec: is required',
    );
    expect(objectRef({ metadata: { name: 'cluster-wide' } })).toBe('cluster-wide');
    expect(objectRef('text')).toBe('<unnamed>');
  });

  it('rejects objects of another API version or kind', () => {
    const result = parseCanary({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'x' },
      spec: {},
    });
    expect(result.ok ? [] : result.issues[0]).toEqual({
      path: 'apiVersion',
      message: 'must be "sluice.dev/v1alpha1" (got "flagger.app/v1beta1")',
    });
  });
});

describe('parseMetricTemplate', () => {
  it('defaults the provider type to prometheus', () => {
    const result = parseMetricTemplate(metricTemplate({ provider: {}, query: 'up' }));
    expect(result.ok && result.metricTemplate.spec.provider.type).toBe('prometheus');
  });

  it('requires a query except for the web provider, which needs web.jsonPath and a URL', () => {
    const noQuery = parseMetricTemplate(metricTemplate({ provider: { type: 'prometheus' } }));
    expect(noQuery.ok ? [] : noQuery.issues).toEqual([
      { path: 'spec.query', message: 'spec.query is required unless spec.provider.type is web' },
    ]);
    const web = parseMetricTemplate(
      metricTemplate({
        provider: { type: 'web' },
        web: { url: 'http://metrics.test/{{ target }}', jsonPath: '$.value' },
      }),
    );
    expect(web.ok && web.metricTemplate.spec.web?.method).toBe('GET');
    const noUrl = parseMetricTemplate(
      metricTemplate({ provider: { type: 'web' }, web: { jsonPath: '$.value' } }),
    );
    expect(noUrl.ok ? [] : noUrl.issues).toEqual([
      { path: 'spec.web', message: 'spec.web.url or spec.provider.address is required for the web provider' },
    ]);
    const noWeb = parseMetricTemplate(metricTemplate({ provider: { type: 'web' } }));
    expect(noWeb.ok ? [] : noWeb.issues).toEqual([
      { path: 'spec.web', message: 'spec.web is required when spec.provider.type is web' },
    ]);
  });

  it('accepts every provider type Flagger has and rejects unknown ones', () => {
    for (const type of FLAGGER_METRIC_PROVIDERS) {
      const spec = type === 'cloudwatch' ? { type, region: 'eu-west-1' } : { type };
      expect(parseMetricTemplate(metricTemplate({ provider: spec, query: 'x' })).ok, type).toBe(true);
    }
    const unknown = parseMetricTemplate(metricTemplate({ provider: { type: 'appdynamics' }, query: 'x' }));
    expect(unknown.ok ? '' : unknown.issues[0]?.path).toBe('spec.provider.type');
    const noRegion = parseMetricTemplate(metricTemplate({ provider: { type: 'cloudwatch' }, query: '[]' }));
    expect(noRegion.ok ? [] : noRegion.issues).toEqual([
      {
        path: 'spec.provider.region',
        message: 'spec.provider.region is required for provider type cloudwatch (e.g. eu-west-1)',
      },
    ]);
  });

  it('checks the syntax of CEL conditions', () => {
    const result = parseMetricTemplate(
      metricTemplate({ provider: {}, query: 'up', successCondition: 'result > ' }),
    );
    expect(result.ok ? '' : result.issues[0]?.path).toBe('spec.successCondition');
  });
});

describe('parseAlertProvider', () => {
  it('accepts a Secret reference or a clear-text address', () => {
    expect(parseAlertProvider(alertProvider({ type: 'slack', secretRef: { name: 'slack-url' } })).ok).toBe(
      true,
    );
    expect(
      parseAlertProvider(alertProvider({ type: 'discord', address: 'https://discord.test/hook' })).ok,
    ).toBe(true);
  });

  it('needs one of them', () => {
    const result = parseAlertProvider(alertProvider({ type: 'msteams' }));
    expect(result.ok ? [] : result.issues).toEqual([
      {
        path: 'spec.secretRef',
        message: 'spec.secretRef (a Secret with an "address" key) or spec.address is required',
      },
    ]);
  });

  it('lists the provider types', () => {
    const result = parseAlertProvider(alertProvider({ type: 'pagerduty', secretRef: { name: 'x' } }));
    expect(result.ok ? [] : result.issues).toEqual([
      {
        path: 'spec.type',
        message:
          'expected one of slack, msteams, discord, googlechat, gchat, rocket, generic (got "pagerduty")',
      },
    ]);
  });
});
