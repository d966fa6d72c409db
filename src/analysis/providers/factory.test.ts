import { describe, expect, it } from 'vitest';
import { createProvider } from './factory.ts';

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

  it('tells a Flagger provider Sluice lacks from an unknown one', () => {
    expect(() => createProvider({ provider: { type: 'newrelic' }, intervalMs: 1 })).toThrowError(
      'provider type "newrelic" is not supported by Sluice yet; supported: prometheus, datadog, web',
    );
    expect(() => createProvider({ provider: { type: 'promethues' }, intervalMs: 1 })).toThrowError(
      'provider type "promethues" is unknown; supported: prometheus, datadog, web',
    );
  });
});
