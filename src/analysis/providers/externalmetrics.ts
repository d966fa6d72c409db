import { KubeConfig } from '../../kube/library.ts';
import { WireObjectApi } from '../../kube/wire.ts';
import { z } from 'zod';
import { apiGroupOnline, kubeMetricError } from './cluster.ts';
import { parseAnswer } from './http.ts';
import { MetricError, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, ProviderCredentials } from './provider.ts';

// The Kubernetes external metrics API (external.metrics.k8s.io/v1beta1), as Flagger 1.43
// reads it: the query is `<namespace>/<metric>?labelSelector=<url-encoded selector>`
// (namespace default `default`), answered by
// GET /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=…
// through the Kubernetes API Sluice talks to — or, with `address`, straight at a metrics
// server, with the Secret's `token`. Each item's value (a Kubernetes quantity) is one value.

const GROUP = 'external.metrics.k8s.io';
const VERSION = 'v1beta1';

export interface ExternalMetricsQuery {
  namespace: string;
  metric: string;
  labelSelector?: string;
}

export function parseExternalMetricsQuery(query: string): ExternalMetricsQuery {
  const fail = (why: string) =>
    new MetricError('query', {
      provider: 'externalmetrics',
      query,
      message: `externalmetrics: ${why}; expected <namespace>/<metric>?labelSelector=<url-encoded selector>: ${query}`,
    });
  const text = query.trim();
  const [path = '', search = ''] = text.split(/\?(.*)/s, 2);
  const parts = path.replace(/^\//, '').split('/');
  if (parts.length > 2) throw fail('too many slashes');
  const metric = parts.length === 2 ? parts[1] : parts[0];
  const namespace = parts.length === 2 && parts[0] ? parts[0] : 'default';
  if (!metric) throw fail('the metric name is empty');
  const labelSelector = new URLSearchParams(search).get('labelSelector') || undefined;
  return { namespace, metric, ...(labelSelector ? { labelSelector } : {}) };
}

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("1500m", "2k", "1Gi", "1e3") as a number. */
export function parseQuantity(text: string): number {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$/.exec(
    text.trim(),
  );
  if (!match) return Number.NaN;
  return Number(match[1]) * (SUFFIXES[match[2] ?? ''] ?? Number.NaN);
}

const listSchema = z.object({
  items: z.array(z.object({ metricName: z.string().optional(), value: z.union([z.string(), z.number()]) })),
});

export function externalMetricsToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'externalmetrics', query };
  const answer = parseAnswer(listSchema, body, context, 'an ExternalMetricValueList');
  return toMetricValue(
    answer.items.map((item) => (typeof item.value === 'number' ? item.value : parseQuantity(item.value))),
    context,
  );
}

export interface ExternalMetricsConfig {
  /** The Kubernetes API Sluice talks to. */
  cluster?: KubeConfig;
  /** A metrics server to call instead, as Flagger's provider.address. */
  address?: string;
  credentials?: ProviderCredentials;
  insecureSkipVerify?: boolean;
}

/** The cluster's config, or one aimed at `address` with the Secret's token (Flagger's override). */
function clientConfig(config: ExternalMetricsConfig): KubeConfig {
  const base = config.cluster;
  if (!config.address) {
    if (!base)
      throw new Error('externalmetrics provider: no Kubernetes API to ask (and no spec.provider.address)');
    return base;
  }
  const current = base?.getCurrentCluster();
  const token = config.credentials?.bearerToken;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'metrics',
        server: config.address.replace(/\/+$/, ''),
        skipTLSVerify: config.insecureSkipVerify === true,
        ...(current?.caData ? { caData: current.caData } : {}),
        ...(current?.caFile ? { caFile: current.caFile } : {}),
      },
    ],
    users: [token ? { name: 'metrics', token } : { ...(base?.getCurrentUser() ?? {}), name: 'metrics' }],
    contexts: [{ name: 'metrics', cluster: 'metrics', user: 'metrics' }],
    currentContext: 'metrics',
  });
  return kc;
}

export function createExternalMetricsProvider(config: ExternalMetricsConfig): MetricProvider {
  // Plain JSON: the generated CustomObjectsApi would load all of client-node's generated APIs.
  const api = WireObjectApi.fromConfig(clientConfig(config));

  async function list(query: ExternalMetricsQuery, text: string): Promise<unknown> {
    try {
      return await api.listResource(
        { group: GROUP, version: VERSION, namespace: query.namespace, plural: query.metric },
        query.labelSelector ? { labelSelector: query.labelSelector } : {},
      );
    } catch (error) {
      throw kubeMetricError(
        error,
        'externalmetrics',
        text,
        `external metric ${query.namespace}/${query.metric}`,
      );
    }
  }

  return {
    type: 'externalmetrics',
    async runQuery(rawQuery) {
      const text = rawQuery.trim();
      return externalMetricsToValue(await list(parseExternalMetricsQuery(text), text), text);
    },
    // The API group must be served: its discovery document answers when it is.
    isOnline: () => apiGroupOnline(api, { group: GROUP, version: VERSION, provider: 'externalmetrics' }),
  };
}
