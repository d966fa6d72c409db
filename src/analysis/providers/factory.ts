import type { MetricTemplateProvider, WebQuery } from '../types.ts';
import { createDatadogProvider } from './datadog.ts';
import { createPrometheusProvider } from './prometheus.ts';
import type { MetricProvider, ProviderCredentials } from './provider.ts';
import { createWebProvider } from './web.ts';

// Picks the provider for a MetricTemplate's `spec.provider.type`, as Flagger's
// providers.Factory does. An empty type means prometheus (Flagger's default).

export const SUPPORTED_PROVIDER_TYPES = ['prometheus', 'datadog', 'web'] as const;

/** Flagger provider types Sluice accepts in a MetricTemplate but cannot query yet. */
export const UNSUPPORTED_FLAGGER_PROVIDER_TYPES = [
  'cloudwatch',
  'newrelic',
  'graphite',
  'stackdriver',
  'influxdb',
  'dynatrace',
  'splunk',
  'keptn',
] as const;

export interface ProviderRequest {
  /** The template's provider. */
  provider: MetricTemplateProvider;
  /** The template's `spec.web`, its templates already rendered (web provider only). */
  web?: WebQuery;
  credentials?: ProviderCredentials;
  /** The metric interval in milliseconds (Datadog's lookback). */
  intervalMs: number;
  /** Used when a prometheus provider has no address: the Canary's metricsServer. */
  defaultAddress?: string;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

export function createProvider(request: ProviderRequest): MetricProvider {
  const { provider, credentials } = request;
  const type = provider.type || 'prometheus';
  switch (type) {
    case 'prometheus': {
      const address = provider.address || request.defaultAddress;
      if (!address) {
        throw new Error('prometheus provider: no address, and the Canary sets no spec.metricsServer');
      }
      return createPrometheusProvider({
        address,
        credentials,
        insecureSkipVerify: provider.insecureSkipVerify,
      });
    }
    case 'datadog': {
      const keys = credentials?.datadog;
      if (!keys?.apiKey || !keys.applicationKey) {
        const missing = !keys?.apiKey ? 'datadog_api_key' : 'datadog_application_key';
        throw new Error(`datadog provider: the secretRef Secret must hold ${missing}`);
      }
      return createDatadogProvider({
        address: provider.address,
        apiKey: keys.apiKey,
        applicationKey: keys.applicationKey,
        intervalMs: request.intervalMs,
        insecureSkipVerify: provider.insecureSkipVerify,
        now: request.now,
      });
    }
    case 'web': {
      const url = request.web?.url || provider.address;
      if (!url)
        throw new Error('web provider: spec.web.url or spec.provider.address (the URL to call) is required');
      const method = (request.web?.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'POST') {
        throw new Error(
          `web provider: method "${request.web?.method}" is not supported; expected GET or POST`,
        );
      }
      return createWebProvider({
        url,
        method,
        body: request.web?.body,
        headers: request.web?.headers,
        credentials,
        insecureSkipVerify: provider.insecureSkipVerify,
      });
    }
    default: {
      const known = (UNSUPPORTED_FLAGGER_PROVIDER_TYPES as readonly string[]).includes(type);
      throw new Error(
        `provider type "${type}" is ${known ? 'not supported by Sluice yet' : 'unknown'}; supported: ${SUPPORTED_PROVIDER_TYPES.join(', ')}`,
      );
    }
  }
}
