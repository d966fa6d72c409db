import type { KubeConfig } from '@kubernetes/client-node';
import { METRIC_PROVIDERS, isMetricProviderType, metricProviderList } from '../../api/metric-providers.ts';
import type { MetricProviderType } from '../../api/metric-providers.ts';
import type { MetricTemplateProvider, WebQuery } from '../types.ts';
import { createCloudWatchProvider } from './cloudwatch.ts';
import { createDatadogProvider } from './datadog.ts';
import { createDynatraceProvider } from './dynatrace.ts';
import { createExternalMetricsProvider } from './externalmetrics.ts';
import { createGraphiteProvider } from './graphite.ts';
import { createInfluxProvider } from './influxdb.ts';
import { createKeptnProvider } from './keptn.ts';
import { createNewRelicProvider } from './newrelic.ts';
import { createPrometheusProvider } from './prometheus.ts';
import { requireSecret, type MetricProvider, type ProviderCredentials } from './provider.ts';
import { createSplunkProvider } from './splunk.ts';
import { createStackdriverProvider } from './stackdriver.ts';
import { createWebProvider } from './web.ts';

// Picks the provider for a MetricTemplate's `spec.provider.type`, as Flagger's
// providers.Factory does: one constructor per kind of src/api/metric-providers.ts, in a map
// the compiler checks against that list. An empty type means prometheus (Flagger's default).

export interface ProviderRequest {
  /** The template's provider. */
  provider: MetricTemplateProvider;
  /** The template's `spec.web`, its templates already rendered (web provider only). */
  web?: WebQuery;
  credentials?: ProviderCredentials;
  /** The metric interval in milliseconds (the lookback of datadog, cloudwatch, …). */
  intervalMs: number;
  /** Used when a prometheus provider has no address: the Canary's metricsServer. */
  defaultAddress?: string;
  /** The Kubernetes API Sluice talks to (keptn, externalmetrics). */
  cluster?: KubeConfig;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

type Constructor = (request: ProviderRequest) => MetricProvider;

const secretOf = (request: ProviderRequest, type: MetricProviderType) =>
  requireSecret(
    request.credentials,
    type,
    METRIC_PROVIDERS[type].keys
      .filter((key) => key.required)
      .map((key) => key.key)
      .join(', ') || 'its keys',
  );

export const PROVIDER_CONSTRUCTORS = {
  prometheus: ({ provider, credentials, defaultAddress }) => {
    const address = provider.address || defaultAddress;
    if (!address) {
      throw new Error('prometheus provider: no address, and the Canary sets no spec.metricsServer');
    }
    return createPrometheusProvider({
      address,
      credentials,
      insecureSkipVerify: provider.insecureSkipVerify,
    });
  },
  datadog: ({ provider, credentials, intervalMs, now }) => {
    const keys = credentials?.datadog;
    if (!keys?.apiKey || !keys.applicationKey) {
      const missing = !keys?.apiKey ? 'datadog_api_key' : 'datadog_application_key';
      throw new Error(`datadog provider: the secretRef Secret must hold ${missing}`);
    }
    return createDatadogProvider({
      address: provider.address,
      apiKey: keys.apiKey,
      applicationKey: keys.applicationKey,
      intervalMs,
      insecureSkipVerify: provider.insecureSkipVerify,
      now,
    });
  },
  web: ({ provider, web, credentials }) => {
    const url = web?.url || provider.address;
    if (!url)
      throw new Error('web provider: spec.web.url or spec.provider.address (the URL to call) is required');
    const method = (web?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      throw new Error(`web provider: method "${web?.method}" is not supported; expected GET or POST`);
    }
    return createWebProvider({
      url,
      method,
      body: web?.body,
      headers: web?.headers,
      credentials,
      insecureSkipVerify: provider.insecureSkipVerify,
    });
  },
  cloudwatch: ({ provider, credentials, intervalMs, now }) => {
    if (!provider.region)
      throw new Error('cloudwatch provider: spec.provider.region is required (e.g. eu-west-1)');
    const secret = credentials?.secret;
    return createCloudWatchProvider({
      region: provider.region,
      address: provider.address,
      intervalMs,
      insecureSkipVerify: provider.insecureSkipVerify,
      now,
      ...(secret
        ? {
            credentials: {
              accessKeyId: secret.required('aws_access_key_id', 'cloudwatch'),
              secretAccessKey: secret.required('aws_secret_access_key', 'cloudwatch'),
              ...(secret.optional('aws_session_token')
                ? { sessionToken: secret.optional('aws_session_token') }
                : {}),
            },
          }
        : {}),
    });
  },
  newrelic: (request) => {
    const secret = secretOf(request, 'newrelic');
    const queryKey = secret.optional('newrelic_query_key');
    const apiKey = secret.optional('newrelic_api_key');
    if (!queryKey && !apiKey) {
      throw new Error(
        `newrelic provider: the secretRef Secret ${secret.name} must hold newrelic_query_key (Insights) or newrelic_api_key (NerdGraph)`,
      );
    }
    return createNewRelicProvider({
      address: request.provider.address,
      accountId: secret.required('newrelic_account_id', 'newrelic'),
      ...(apiKey ? { apiKey } : { queryKey }),
      intervalMs: request.intervalMs,
      insecureSkipVerify: request.provider.insecureSkipVerify,
    });
  },
  dynatrace: (request) =>
    createDynatraceProvider({
      address: request.provider.address,
      token: secretOf(request, 'dynatrace').required('dynatrace_token', 'dynatrace'),
      intervalMs: request.intervalMs,
      insecureSkipVerify: request.provider.insecureSkipVerify,
      now: request.now,
    }),
  graphite: ({ provider, credentials }) =>
    createGraphiteProvider({
      address: provider.address,
      credentials,
      insecureSkipVerify: provider.insecureSkipVerify,
    }),
  influxdb: ({ provider, credentials }) =>
    createInfluxProvider({
      address: provider.address,
      credentials,
      org: credentials?.secret?.optional('org'),
      db: credentials?.secret?.optional('db'),
      insecureSkipVerify: provider.insecureSkipVerify,
    }),
  stackdriver: (request) => {
    const secret = secretOf(request, 'stackdriver');
    return createStackdriverProvider({
      address: request.provider.address,
      project: secret.required('project', 'stackdriver'),
      serviceAccountKey: secret.optional('serviceAccountKey'),
      insecureSkipVerify: request.provider.insecureSkipVerify,
      now: request.now,
    });
  },
  splunk: (request) =>
    createSplunkProvider({
      address: request.provider.address,
      token: secretOf(request, 'splunk').required('sf_token_key', 'splunk'),
      intervalMs: request.intervalMs,
      insecureSkipVerify: request.provider.insecureSkipVerify,
      now: request.now,
    }),
  keptn: ({ cluster }) => createKeptnProvider({ cluster }),
  externalmetrics: ({ provider, credentials, cluster }) =>
    createExternalMetricsProvider({
      cluster,
      address: provider.address,
      credentials,
      insecureSkipVerify: provider.insecureSkipVerify,
    }),
} satisfies Record<MetricProviderType, Constructor>;

export function createProvider(request: ProviderRequest): MetricProvider {
  const type = request.provider.type || 'prometheus';
  if (!isMetricProviderType(type)) {
    throw new Error(`provider type "${type}" is unknown; expected one of ${metricProviderList()}`);
  }
  const construct: Constructor = PROVIDER_CONSTRUCTORS[type];
  return construct(request);
}
