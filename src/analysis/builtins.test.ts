import { describe, expect, it } from 'vitest';
import {
  BUILTIN_METRICS,
  BUILTIN_QUERY_SETS,
  builtinProviders,
  builtinQuery,
  builtinQuerySet,
  isBuiltinMetric,
} from './builtins.ts';
import { parseProvider } from '../api/providers.ts';
import { checkTemplate, renderTemplate, templateModel } from './template.ts';

describe('builtinQuerySet', () => {
  it.each([
    [undefined, 'istio'],
    ['', 'istio'],
    ['istio', 'istio'],
    ['linkerd', 'linkerd'],
    ['smi', 'linkerd'],
    ['smi:v1alpha1', 'linkerd'],
    ['smi:v1alpha2', 'linkerd'],
    ['smi:v1alpha3', 'linkerd'],
    ['nginx', 'nginx'],
    ['gatewayapi', 'app'],
    ['gatewayapi:v1', 'app'],
    ['gatewayapi:v1beta1', undefined],
    ['kubernetes', 'app'],
    ['contour', 'contour'],
    ['traefik', 'traefik'],
    ['skipper', 'skipper'],
    ['knative', undefined],
  ])('maps provider %j to %j', (provider, set) => {
    expect(builtinQuerySet(provider)).toBe(set);
  });
});

describe('built-in query sets', () => {
  it('are for providers Sluice routes, in their spellings', () => {
    for (const provider of builtinProviders()) expect(parseProvider(provider), provider).toBeDefined();
  });
});

describe('builtinQuery', () => {
  it('names the provider and the alternatives when there is no built-in', () => {
    expect(() => builtinQuery('knative', 'request-duration')).toThrowError(
      `provider "knative" has no built-in request-duration metric; use one of ${builtinProviders().join(', ')}, or a MetricTemplate`,
    );
  });

  it('recognises the built-in metric names only', () => {
    expect(BUILTIN_METRICS.every(isBuiltinMetric)).toBe(true);
    expect(isBuiltinMetric('error-rate')).toBe(false);
  });

  const model = templateModel(
    { name: 'podinfo', namespace: 'test', target: 'podinfo', ingress: 'podinfo-ing' },
    '30s',
    {},
  );

  for (const [set, { providers, queries }] of Object.entries(BUILTIN_QUERY_SETS)) {
    for (const metric of BUILTIN_METRICS) {
      it(`${set} ${metric} is a valid template that selects the canary over the interval`, () => {
        const text = builtinQuery(providers[0], metric);
        expect(text).toBe(queries[metric].trim());
        expect(checkTemplate(text)).toBeUndefined();
        const query = renderTemplate(text, model, set);
        expect(query).not.toContain('{{');
        expect(query).toContain('[30s]');
        // The namespace, as a label value or as part of the provider's own names for the canary.
        expect(query).toMatch(set === 'nginx' ? /ingress="podinfo-ing"/ : /[_"(]test[_"()-]/);
        if (query.includes('-canary') || query.includes('_canary'))
          expect(query).toMatch(/podinfo[-_]canary/);
        if (metric === 'request-duration') expect(query).toMatch(/^histogram_quantile\(0\.99,/);
        else expect(query).toMatch(/\* 100$/);
      });
    }
  }

  it('selects Istio series by workload with reporter="destination"', () => {
    const query = builtinQuery('istio', 'request-success-rate');
    expect(query).toContain('reporter="destination"');
    expect(query).toContain('destination_workload=~"{{ target }}"');
    expect(query).toContain('response_code!~"5.*"');
    expect(builtinQuery('istio', 'request-duration')).toContain('istio_request_duration_milliseconds_bucket');
  });

  it('converts seconds histograms to milliseconds', () => {
    expect(builtinQuery('nginx', 'request-duration')).toMatch(/_seconds_bucket[\s\S]*\* 1000$/);
    expect(builtinQuery('kubernetes', 'request-duration')).toMatch(/_seconds_bucket[\s\S]*\* 1000$/);
    expect(builtinQuery('linkerd', 'request-duration')).not.toContain('* 1000');
  });
});

describe('built-in gRPC success rate (spec.service.protocol: grpc)', () => {
  it('counts calls by gRPC status: server failures as 5xx are for HTTP, the rest as answers', () => {
    const istio = builtinQuery('istio', 'request-success-rate', 'grpc');
    expect(istio).toContain('grpc_response_status!~"2|4|12|13|14|15"');
    expect(istio).toContain('request_protocol="grpc"');
    const app = builtinQuery('gatewayapi', 'request-success-rate', 'grpc');
    expect(app).toContain('grpc_server_handled_total');
    expect(app).toContain(
      'grpc_code!~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"',
    );
    expect(checkTemplate(app)).toBeUndefined();
    // Latency is the same histogram either way; HTTP stays the default.
    expect(builtinQuery('gatewayapi', 'request-duration', 'grpc')).toBe(
      builtinQuery('gatewayapi', 'request-duration'),
    );
    expect(builtinQuery('istio', 'request-success-rate')).not.toContain('grpc');
  });

  it('names the provider and the protocol where there is no gRPC built-in', () => {
    expect(() => builtinQuery('nginx', 'request-success-rate', 'grpc')).toThrowError(
      'provider "nginx" has no built-in gRPC request-success-rate metric (spec.service.protocol: grpc); use a MetricTemplate',
    );
  });
});
