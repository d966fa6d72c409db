import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions, VersionApi } from '@kubernetes/client-node';
import { apiErrorMessage, apply } from '../../src/kube/client.ts';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { query, scrape, waitForSeries } from '../support/prometheus.ts';

const ns = useNamespace('harness');
/** Pod conditions merge by type, as the node lifecycle controller patches them. */
const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** Object `web` of this kind in the test namespace. */
const web = (apiVersion: string, kind: string) => ({
  apiVersion,
  kind,
  metadata: { name: 'web', namespace: ns.name },
});

/** The apiserver's message refusing the object ('accepted' if it took it). */
const refusal = (object: Parameters<typeof apply>[1]) =>
  apply(ns.kube, object).then(
    () => 'accepted',
    (error: unknown) => apiErrorMessage(error),
  );

describe('the local control plane', () => {
  it('reports a valid semantic version', async () => {
    const version = await loadKubeConfig(testEnv().kubeconfig).makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(Number(version.minor)).toBeGreaterThanOrEqual(35);
  });

  it('runs a Deployment to Available with Running, Ready pods on kwok nodes', async () => {
    await ns.kube.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'example.com/web:1.0.0' }] },
          },
        },
      },
    });
    const deployment = await eventually('Deployment web Available', async () => {
      const d = await ns.kube.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
      const available = d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      return available && d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(deployment.status?.availableReplicas).toBe(2);
    const pods = await ns.kube.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('reports a running pod Ready again after its node was away, as a kubelet does', async () => {
    // kube-controller-manager marks a pod NotReady when its node's lease lapses (an apiserver gap
    // longer than the lease); its containers are still ready, and the node reports in again.
    const pods = await ns.kube.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
    const name = pods.items[0]!.metadata!.name!;
    await ns.kube.core.patchNamespacedPodStatus(
      {
        name,
        namespace: ns.name,
        body: { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'NodeNotReady' }] } },
      },
      strategicMergePatch,
    );
    const marked = await ns.kube.core.readNamespacedPod({ name, namespace: ns.name });
    const condition = (type: string) => marked.status?.conditions?.find((c) => c.type === type)?.status;
    expect([condition('Ready'), condition('ContainersReady')]).toEqual(['False', 'True']);
    const ready = await eventually(`pod ${name} Ready again`, async () => {
      const pod = await ns.kube.core.readNamespacedPod({ name, namespace: ns.name });
      return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? pod : undefined;
    });
    expect(ready.status?.phase).toBe('Running');
  });

  it('validates an Istio VirtualService with the upstream CRD schema', async () => {
    const virtualService = (weight: unknown) => ({
      ...web('networking.istio.io/v1', 'VirtualService'),
      spec: {
        hosts: ['web'],
        http: [
          {
            route: [
              { destination: { host: 'web-primary' }, weight },
              { destination: { host: 'web-canary' }, weight: 10 },
            ],
          },
        ],
      },
    });
    const accepted = await apply(ns.kube, virtualService(90));
    expect(accepted.metadata?.managedFields?.some((f) => f.manager === 'sluice')).toBe(true);
    const rejected = await refusal(virtualService('ninety'));
    expect(rejected).toMatch(/spec\.http\[0\]\.route\[0\]\.weight/);
  });

  it('validates a Gateway API HTTPRoute with the upstream CRD schema', async () => {
    const route = (weight: number) => ({
      ...web('gateway.networking.k8s.io/v1', 'HTTPRoute'),
      spec: {
        parentRefs: [{ name: 'gateway', namespace: 'gateways' }],
        rules: [
          {
            backendRefs: [
              { name: 'web-primary', port: 80, weight },
              { name: 'web-canary', port: 80, weight: 100 - weight },
            ],
          },
        ],
      },
    });
    await apply(ns.kube, route(90));
    const stored = await ns.kube.objects.read(web('gateway.networking.k8s.io/v1', 'HTTPRoute'));
    expect(JSON.stringify(stored)).toContain('web-canary');
    const rejected = await refusal(route(-5));
    expect(rejected).toMatch(/spec\.rules\[0\]\.backendRefs\[0\]\.weight/);
  });

  it('has the SMI TrafficSplit CRD', async () => {
    const split = await apply(ns.kube, {
      ...web('split.smi-spec.io/v1alpha2', 'TrafficSplit'),
      spec: { service: 'web', backends: [{ service: 'web-primary', weight: 100 }] },
    });
    expect(split.metadata?.uid).toBeTruthy();
  });

  describe('Prometheus', () => {
    let server: Server;
    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    it('scrapes a real endpoint on loopback', async () => {
      let hits = 0;
      server = createServer((_req, res) => {
        hits += 1;
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        res.end(`# TYPE harness_probe_total counter\nharness_probe_total{namespace="${ns.name}"} ${hits}\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const remove = await scrape(`127.0.0.1:${port}`, { job: 'harness-probe' });
      try {
        const samples = await waitForSeries(`harness_probe_total{namespace="${ns.name}"}`);
        expect(samples[0]?.metric.job).toBe('harness-probe');
        await eventually('a second scrape', async () => {
          const [sample] = await query(`harness_probe_total{namespace="${ns.name}"}`);
          return sample && Number(sample.value[1]) >= 2;
        });
      } finally {
        await remove();
      }
    });
  });
});
