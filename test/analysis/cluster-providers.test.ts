import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/evaluate.ts';
import { createProvider } from '../../src/analysis/providers/factory.ts';
import type { MetricProvider } from '../../src/analysis/providers/provider.ts';
import { credentialsFromSecretData } from '../../src/analysis/providers/secret.ts';
import { apply } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { sendJson, serve, untrustedTls, type LocalServer, queryFailure, analysisDeps } from './servers.ts';
import { applyTemplate } from './servers.ts';

// The providers that read from the cluster, on the real apiserver:
// - externalmetrics: a small external metrics API served on loopback and registered as an
//   APIService, so the query goes through the aggregation layer exactly as in a cluster
//   (and, with `address`, straight to the server with the Secret's token, as Flagger);
// - keptn: KeptnMetric and Analysis objects. Keptn's CRDs cannot be had from the Go module
//   proxy, so a minimal stand-in CRD (no schema, status subresource) carries the objects,
//   and the test plays Keptn's operator.

const ns = useNamespace('analysis-cluster');

const failure = (provider: MetricProvider, query: string) => queryFailure(provider, query, 5000);

const deps = () => analysisDeps(ns, 5000);

const GROUP_VERSION = 'external.metrics.k8s.io/v1beta1';

describe('externalmetrics through an APIService of the local control plane', () => {
  let server: LocalServer;
  const apiService = `v1beta1.external.metrics.k8s.io`;

  beforeAll(async () => {
    server = await serve(
      (request, response) => {
        const path = request.url.pathname;
        if (path === `/apis/${GROUP_VERSION}`) {
          sendJson(response, 200, {
            kind: 'APIResourceList',
            apiVersion: 'v1',
            groupVersion: GROUP_VERSION,
            resources: [
              {
                name: '*',
                singularName: '',
                namespaced: true,
                kind: 'ExternalMetricValueList',
                verbs: ['get'],
              },
            ],
          });
          return;
        }
        const match = new RegExp(`^/apis/${GROUP_VERSION}/namespaces/([^/]+)/([^/]+)$`).exec(path);
        const direct = request.headers.authorization === 'Bearer metrics-token';
        if (!match || !(request.headers['x-remote-user'] || direct)) {
          sendJson(response, match ? 401 : 404, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: match ? 401 : 404,
            message: 'no',
          });
          return;
        }
        const [, namespace, metric] = match;
        const selector = request.url.searchParams.get('labelSelector') ?? '';
        const items =
          metric === 'queue-depth'
            ? selector === 'queue=orders'
              ? [{ value: '1500m' }]
              : [{ value: '1500m' }, { value: '2k' }]
            : metric === 'success-rate' && namespace === ns.name
              ? [{ value: '99' }]
              : [];
        sendJson(response, 200, {
          kind: 'ExternalMetricValueList',
          apiVersion: GROUP_VERSION,
          metadata: {},
          items: items.map((item) => ({
            metricName: metric,
            metricLabels: {},
            timestamp: new Date().toISOString(),
            ...item,
          })),
        });
      },
      await untrustedTls(testEnv().stateDir),
    );
    const port = Number(new URL(server.url).port);
    await apply(ns.kube, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'external-metrics', namespace: ns.name },
      spec: {
        type: 'ExternalName',
        externalName: '127.0.0.1',
        ports: [{ name: 'https', port, protocol: 'TCP' }],
      },
    });
    await apply(ns.kube, {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: apiService },
      spec: {
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        service: { name: 'external-metrics', namespace: ns.name, port },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    });
    await eventually(
      'the external metrics APIService to be Available',
      async () => {
        const object = (await ns.kube.wire.getObject({
          apiVersion: 'apiregistration.k8s.io/v1',
          kind: 'APIService',
          metadata: { name: apiService },
        })) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
        return object.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      },
      { timeoutMs: 30_000 },
    );
  }, 60_000);
  afterAll(async () => {
    await ns.kube.wire
      .deleteObject({
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: apiService },
      })
      .catch(() => undefined);
    await server?.close();
  });

  const provider = () =>
    createProvider({ provider: { type: 'externalmetrics' }, cluster: ns.kube.kc, intervalMs: 60_000 });

  it('reads values through the aggregation layer: quantities, selectors, several items, none', async () => {
    expect(await provider().runQuery('default/queue-depth?labelSelector=queue%3Dorders')).toBe(1.5);
    // The aggregator's own discovery calls come in between; the query is the last metric read.
    const read = server.received.findLast((request) => request.url.pathname.includes('/namespaces/'));
    expect(read?.headers['x-remote-user']).toBe('admin');
    expect(read?.url.searchParams.get('labelSelector')).toBe('queue=orders');
    expect(await provider().runQuery('queue-depth')).toEqual([1.5, 2000]);
    const none = await failure(provider(), 'default/nothing');
    expect(none.kind).toBe('noData');
    expect(none.message).toBe('no values from externalmetrics for query default/nothing');
    const bad = await failure(provider(), 'a/b/c');
    expect(bad.message).toMatch(/^externalmetrics: too many slashes; expected <namespace>\/<metric>/);
    expect(await provider().isOnline()).toEqual({ online: true });
  });

  it('goes straight to the metrics server with provider.address and the Secret token, as Flagger', async () => {
    const direct = createProvider({
      provider: { type: 'externalmetrics', address: server.url, insecureSkipVerify: true },
      credentials: credentialsFromSecretData({ token: 'metrics-token' }, 's'),
      cluster: ns.kube.kc,
      intervalMs: 60_000,
    });
    expect(await direct.runQuery('default/queue-depth?labelSelector=queue%3Dorders')).toBe(1.5);
    expect(server.received.at(-1)?.headers.authorization).toBe('Bearer metrics-token');
    const refused = createProvider({
      provider: { type: 'externalmetrics', address: server.url, insecureSkipVerify: true },
      credentials: credentialsFromSecretData({ token: 'other-token' }, 's'),
      cluster: ns.kube.kc,
      intervalMs: 60_000,
    });
    const error = await failure(refused, 'default/queue-depth');
    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain('other-token');
  });

  it("runs an externalmetrics MetricTemplate from Flagger's documented shape", async () => {
    await applyTemplate(ns, 'external-success', {
      provider: { type: 'externalmetrics' },
      query: '{{ namespace }}/success-rate?labelSelector=app%3D{{ target }}',
    });
    const result = await runAnalysis(
      [{ name: 'success', templateRef: { name: 'external-success' }, thresholdRange: { min: 95 } }],
      deps(),
    );
    expect(result.checks[0]).toMatchObject({ passed: true, value: 99 });
  });
});

// A stand-in for Keptn's CRDs (not to be had from the Go module proxy): the same group,
// version, kinds and status subresource, no schema.
function standInCrd(kind: string, plural: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.metrics.keptn.sh` },
    spec: {
      group: 'metrics.keptn.sh',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** The Analysis objects in the test namespace. */
const analyses = async () =>
  (await ns.kube.custom.listNamespacedCustomObject({
    group: 'metrics.keptn.sh',
    version: 'v1beta1',
    namespace: ns.name,
    plural: 'analyses',
  })) as { items: unknown[] };

describe('keptn against KeptnMetric and Analysis objects on the apiserver', () => {
  beforeAll(async () => {
    for (const crd of [standInCrd('KeptnMetric', 'keptnmetrics'), standInCrd('Analysis', 'analyses')]) {
      await apply(ns.kube, crd);
    }
    await eventually(
      'the Keptn API group to be served',
      async () => {
        await ns.kube.custom.listNamespacedCustomObject({
          group: 'metrics.keptn.sh',
          version: 'v1beta1',
          namespace: ns.name,
          plural: 'analyses',
        });
        return true;
      },
      { timeoutMs: 30_000 },
    );
    await apply(ns.kube, {
      apiVersion: 'metrics.keptn.sh/v1beta1',
      kind: 'KeptnMetric',
      metadata: { name: 'response-time', namespace: ns.name },
      spec: {
        provider: { name: 'prometheus' },
        query: 'histogram_quantile(0.8, …)',
        fetchIntervalSeconds: 10,
      },
    });
  }, 60_000);

  const provider = () =>
    createProvider({ provider: { type: 'keptn' }, cluster: ns.kube.kc, intervalMs: 60_000 });

  it('reads a KeptnMetric status.value; no value yet is no data; a missing one is named', async () => {
    const pending = await failure(provider(), `keptnmetric/${ns.name}/response-time`);
    expect(pending.kind).toBe('noData');
    expect(pending.message).toBe(
      `keptn: KeptnMetric ${ns.name}/response-time has no status.value yet: keptnmetric/${ns.name}/response-time`,
    );
    // Keptn's operator writes the value it fetched into the status (a JSON patch: the client's default).
    await ns.kube.custom.patchNamespacedCustomObjectStatus({
      group: 'metrics.keptn.sh',
      version: 'v1beta1',
      namespace: ns.name,
      plural: 'keptnmetrics',
      name: 'response-time',
      body: [{ op: 'add', path: '/status', value: { value: '0.231' } }],
    });
    expect(await provider().runQuery(`KeptnMetric/${ns.name}/response-time`)).toBe(0.231);
    const missing = await failure(provider(), `keptnmetric/${ns.name}/nothing`);
    expect(missing.kind).toBe('noData');
    expect(missing.message).toMatch(/^keptn: KeptnMetric .*\/nothing not found/);
    expect(await provider().isOnline()).toEqual({ online: true });
  });

  it('creates an Analysis, waits for Keptn to complete it, reads pass as 1 or 0, and deletes it', async () => {
    const answered: string[] = [];
    let stop = false;
    // Plays Keptn's operator: completes every Analysis it sees, passing those with args app=podinfo.
    const operator = (async () => {
      while (!stop) {
        const list = (await analyses()) as {
          items: {
            metadata: { name: string };
            spec: { args?: Record<string, string>; timeframe?: { recent?: string } };
            status?: unknown;
          }[];
        };
        for (const item of list.items) {
          if (item.status || answered.includes(item.metadata.name)) continue;
          answered.push(item.metadata.name);
          await ns.kube.custom.patchNamespacedCustomObjectStatus({
            group: 'metrics.keptn.sh',
            version: 'v1beta1',
            namespace: ns.name,
            plural: 'analyses',
            name: item.metadata.name,
            body: [
              {
                op: 'add',
                path: '/status',
                value: {
                  state: 'Completed',
                  pass: item.spec.args?.app === 'PodInfo' && item.spec.timeframe?.recent === '5m',
                },
              },
            ],
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      expect(
        await provider().runQuery(`analysis/${ns.name}/slo/5m/app=PodInfo;tier=web`, { timeoutMs: 8000 }),
      ).toBe(1);
      expect(await provider().runQuery(`analysis/${ns.name}/slo/1m/app=other`, { timeoutMs: 8000 })).toBe(0);
    } finally {
      stop = true;
      await operator;
    }
    expect(answered).toHaveLength(2);
    expect((await analyses()).items).toHaveLength(0);
  });

  it('times out on an Analysis nobody completes, and deletes it', async () => {
    const late = await failure(provider(), `analysis/${ns.name}/never/1m`);
    expect(late.kind).toBe('timeout');
    expect(late.message).toMatch(/^keptn: Keptn Analysis .* \(of never\) did not complete in time/);
    expect((await analyses()).items).toHaveLength(0);
  });
});
