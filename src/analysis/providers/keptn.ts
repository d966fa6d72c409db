import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { WireObjectApi } from '../../kube/wire.ts';
import { z } from 'zod';
import { apiGroupOnline, kubeMetricError } from './cluster.ts';
import { DEFAULT_QUERY_TIMEOUT_MS, MetricError, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, QueryOptions } from './provider.ts';

// Keptn (metrics.keptn.sh/v1beta1), as Flagger reads it, from the cluster Sluice runs in:
// - `keptnmetric/<namespace>/<name>`: the KeptnMetric's status.value;
// - `analysis/<namespace>/<definition>/<timeframe>/<k=v;…>`: creates an Analysis of that
//   AnalysisDefinition over the timeframe (default 1m), waits until its status.state is
//   Completed, reads status.pass as 1 or 0, and deletes it.
// Unlike Flagger, only the kind is case-insensitive: argument values keep their case.

const GROUP = 'metrics.keptn.sh';
const VERSION = 'v1beta1';
const POLL_MS = 1000;

export type KeptnQuery =
  | { kind: 'keptnmetric'; namespace: string; name: string }
  | { kind: 'analysis'; namespace: string; name: string; timeframe: string; args: Record<string, string> };

export function parseKeptnQuery(query: string): KeptnQuery {
  const parts = query.trim().split('/');
  const fail = (why: string) =>
    new MetricError('query', {
      provider: 'keptn',
      query,
      message: `keptn: ${why}; expected keptnmetric/<namespace>/<name> or analysis/<namespace>/<definition>/<timeframe>/<k=v;…>: ${query}`,
    });
  if (parts.length < 3 || !parts[1] || !parts[2])
    throw fail('the query needs a kind, a namespace and a name');
  const kind = (parts[0] ?? '').toLowerCase();
  const namespace = parts[1];
  const name = parts[2];
  if (kind === 'keptnmetric' || kind === 'keptnmetrics') {
    if (parts.length > 4) throw fail('a keptnmetric query has no arguments');
    return { kind: 'keptnmetric', namespace, name };
  }
  if (kind === 'analysis' || kind === 'analyses') {
    const args: Record<string, string> = {};
    for (const pair of (parts.slice(4).join('/') || '').split(';')) {
      if (!pair) continue;
      const [key, value, ...rest] = pair.split('=');
      if (!key || value === undefined || rest.length) throw fail(`argument "${pair}" is not key=value`);
      args[key] = value;
    }
    return { kind: 'analysis', namespace, name, timeframe: parts[3] || '1m', args };
  }
  throw fail(`unknown kind "${parts[0]}"`);
}

const metricSchema = z.object({ status: z.object({ value: z.string().optional() }).optional() });
const analysisSchema = z.object({
  status: z.object({ state: z.string().optional(), pass: z.boolean().optional() }).optional(),
});

export interface KeptnConfig {
  cluster?: KubeConfig;
  /** How often to look at a running Analysis (tests make it faster). */
  pollMs?: number;
}

export function createKeptnProvider(config: KeptnConfig): MetricProvider {
  if (!config.cluster) throw new Error('keptn provider: no Kubernetes API to read Keptn objects from');
  // Plain JSON: the generated CustomObjectsApi would load all of client-node's generated APIs.
  const api = WireObjectApi.fromConfig(config.cluster);
  const pollMs = config.pollMs ?? POLL_MS;

  async function keptnMetric(
    query: Extract<KeptnQuery, { kind: 'keptnmetric' }>,
    text: string,
  ): Promise<MetricValue> {
    const what = `KeptnMetric ${query.namespace}/${query.name}`;
    let object: unknown;
    try {
      object = await api.readResource(
        { group: GROUP, version: VERSION, namespace: query.namespace, plural: 'keptnmetrics' },
        query.name,
      );
    } catch (error) {
      throw kubeMetricError(error, 'keptn', text, what);
    }
    const value = metricSchema.safeParse(object).data?.status?.value;
    if (value === undefined || value.trim() === '') {
      throw new MetricError('noData', {
        provider: 'keptn',
        query: text,
        message: `keptn: ${what} has no status.value yet: ${text}`,
      });
    }
    const number = Number(value);
    if (Number.isNaN(number)) {
      throw new MetricError('notANumber', {
        provider: 'keptn',
        query: text,
        message: `keptn: ${what} status.value "${value}" is not a number: ${text}`,
      });
    }
    return toMetricValue([number], { provider: 'keptn', query: text });
  }

  async function analysis(
    query: Extract<KeptnQuery, { kind: 'analysis' }>,
    text: string,
    options: QueryOptions | undefined,
  ): Promise<MetricValue> {
    const name = `${query.name}-${randomBytes(3).toString('hex')}`.slice(0, 63);
    const what = `Keptn Analysis ${query.namespace}/${name} (of ${query.name})`;
    const deadline = Date.now() + (options?.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS) - pollMs;
    const target = { group: GROUP, version: VERSION, namespace: query.namespace, plural: 'analyses' };
    try {
      await api.createResource(target, {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Analysis',
        metadata: {
          name,
          namespace: query.namespace,
          labels: { 'app.kubernetes.io/managed-by': 'sluice' },
        },
        spec: {
          analysisDefinition: { name: query.name },
          timeframe: { recent: query.timeframe },
          args: query.args,
        },
      });
    } catch (error) {
      throw kubeMetricError(error, 'keptn', text, what);
    }
    try {
      for (;;) {
        if (options?.signal?.aborted || Date.now() > deadline) {
          throw new MetricError('timeout', {
            provider: 'keptn',
            query: text,
            message: `keptn: ${what} did not complete in time: ${text}`,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        let object: unknown;
        try {
          object = await api.readResource(target, name);
        } catch (error) {
          throw kubeMetricError(error, 'keptn', text, what);
        }
        const status = analysisSchema.safeParse(object).data?.status;
        if (status?.state === 'Completed' && status.pass !== undefined) return status.pass ? 1 : 0;
      }
    } finally {
      await api.deleteResource(target, name).catch(() => undefined);
    }
  }

  return {
    type: 'keptn',
    async runQuery(rawQuery, options) {
      const text = rawQuery.trim();
      const query = parseKeptnQuery(text);
      return query.kind === 'keptnmetric' ? keptnMetric(query, text) : analysis(query, text, options);
    },
    // Keptn's API group must be served (Flagger answers "online" without looking).
    isOnline: () => apiGroupOnline(api, { group: GROUP, version: VERSION, provider: 'keptn' }),
  };
}
