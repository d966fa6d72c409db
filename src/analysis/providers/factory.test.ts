import { describe, expect, it } from 'vitest';
import { METRIC_PROVIDER_TYPES } from '../../api/metric-providers.ts';
import { PROVIDER_CONSTRUCTORS, createProvider } from './factory.ts';
import { credentialsFromSecretData } from './secret.ts';

describe('createProvider', () => {
  it('picks the provider by type, prometheus when empty', () => {
    expect(createProvider({ provider: { address: 'http://prom:9090' }, intervalMs: 60_000 }).type).toBe(
      'prometheus',
    );
    expect(
      createProvider({
        provider: { type: 'datadog' },
        credentials: { datadog: { apiKey: 'k', applicationKey: 'a' } },
        intervalMs: 60_000,
      }).type,
    ).toBe('datadog');
    expect(
      createProvider({
        provider: { type: 'web' },
        web: { url: 'http://x/metrics', jsonPath: '$.v' },
        intervalMs: 60_000,
      }).type,
    ).toBe('web');
  });

  it("falls back to the Canary's metricsServer for prometheus", () => {
    expect(
      createProvider({ provider: { type: 'prometheus' }, intervalMs: 1, defaultAddress: 'http://p:9090' })
        .type,
    ).toBe('prometheus');
    expect(() => createProvider({ provider: { type: 'prometheus' }, intervalMs: 1 })).toThrowError(
      'prometheus provider: no address, and the Canary sets no spec.metricsServer',
    );
    expect(() => createProvider({ provider: { address: 'prometheus:9090' }, intervalMs: 1 })).toThrowError(
      /address "prometheus:9090" must be an http/,
    );
  });

  it('names what a provider is missing', () => {
    expect(() =>
      createProvider({
        provider: { type: 'datadog' },
        credentials: { datadog: { apiKey: 'k', applicationKey: '' } },
        intervalMs: 1,
      }),
    ).toThrowError('datadog provider: the secretRef Secret must hold datadog_application_key');
    expect(() => createProvider({ provider: { type: 'datadog' }, intervalMs: 1 })).toThrowError(
      /datadog_api_key/,
    );
    expect(() => createProvider({ provider: { type: 'web' }, intervalMs: 1 })).toThrowError(
      'web provider: spec.web.url or spec.provider.address (the URL to call) is required',
    );
    expect(() =>
      createProvider({
        provider: { type: 'web', address: 'http://x' },
        web: { method: 'PUT' as 'GET', jsonPath: '$' },
        intervalMs: 1,
      }),
    ).toThrowError('web provider: method "PUT" is not supported; expected GET or POST');
  });

  it('names an unknown type and every kind there is', () => {
    expect(() => createProvider({ provider: { type: 'promethues' }, intervalMs: 1 })).toThrowError(
      `provider type "promethues" is unknown; expected one of ${METRIC_PROVIDER_TYPES.join(', ')}`,
    );
  });

  it('has a constructor for every kind of the registry, and every one names what it lacks', () => {
    expect(Object.keys(PROVIDER_CONSTRUCTORS).sort()).toEqual([...METRIC_PROVIDER_TYPES].sort());
    const missing: Record<string, string> = {
      cloudwatch: 'cloudwatch provider: spec.provider.region is required (e.g. eu-west-1)',
      newrelic: 'newrelic provider: spec.provider.secretRef is required (a Secret with newrelic_account_id)',
      dynatrace: 'dynatrace provider: spec.provider.secretRef is required (a Secret with dynatrace_token)',
      graphite: 'graphite provider: spec.provider.address is required, e.g. http://graphite.monitoring',
      influxdb: 'influxdb provider: spec.provider.address is required, e.g. http://influxdb.monitoring:8086',
      stackdriver: 'stackdriver provider: spec.provider.secretRef is required (a Secret with project)',
      splunk: 'splunk provider: spec.provider.secretRef is required (a Secret with sf_token_key)',
      keptn: 'keptn provider: no Kubernetes API to read Keptn objects from',
      externalmetrics: 'externalmetrics provider: no Kubernetes API to ask (and no spec.provider.address)',
    };
    for (const [type, message] of Object.entries(missing)) {
      expect(() => createProvider({ provider: { type }, intervalMs: 60_000 }), type).toThrowError(message);
    }
  });

  it("reads each kind's keys from the Secret and names the Secret and the key it lacks", () => {
    const secret = (data: Record<string, string>) => credentialsFromSecretData(data, 'monitoring/creds');
    const made = (type: string, data: Record<string, string>, extra: object = {}) =>
      createProvider({ provider: { type, ...extra }, credentials: secret(data), intervalMs: 60_000 }).type;
    expect(made('newrelic', { newrelic_account_id: '123', newrelic_query_key: 'q' })).toBe('newrelic');
    expect(made('newrelic', { newrelic_account_id: '123', newrelic_api_key: 'k' })).toBe('newrelic');
    expect(() => made('newrelic', { newrelic_account_id: '123' })).toThrowError(
      'newrelic provider: the secretRef Secret monitoring/creds must hold newrelic_query_key (Insights) or newrelic_api_key (NerdGraph)',
    );
    expect(made('dynatrace', { dynatrace_token: 't' }, { address: 'https://x.live.dynatrace.com' })).toBe(
      'dynatrace',
    );
    expect(() => made('dynatrace', { token: 't' }, { address: 'https://x' })).toThrowError(
      'dynatrace provider: the secretRef Secret monitoring/creds must hold the key dynatrace_token',
    );
    expect(
      made('cloudwatch', { aws_access_key_id: 'a', aws_secret_access_key: 's' }, { region: 'eu-west-1' }),
    ).toBe('cloudwatch');
    expect(() => made('cloudwatch', { aws_access_key_id: 'a' }, { region: 'eu-west-1' })).toThrowError(
      'cloudwatch provider: the secretRef Secret monitoring/creds must hold the key aws_secret_access_key',
    );
    expect(made('stackdriver', { project: 'my-project' })).toBe('stackdriver');
    expect(() => made('stackdriver', { project: 'p', serviceAccountKey: '{"type":"user"}' })).toThrowError(
      /serviceAccountKey is not a service-account key file/,
    );
    expect(made('splunk', { sf_token_key: 't' }, { address: 'https://api.us1.signalfx.com' })).toBe('splunk');
    expect(made('influxdb', { token: 't', org: 'o' }, { address: 'http://influx:8086' })).toBe('influxdb');
    expect(made('graphite', { username: 'u', password: 'p' }, { address: 'http://graphite' })).toBe(
      'graphite',
    );
  });
});
