// `sluice demo --target statefulset`: the demo's story for a StatefulSet. Sluice releases a
// StatefulSet in place by partition and writes no Service or route for it (decision 0024),
// so the demo brings the Service a team would have — one over every pod, selected by the
// app label — and the traffic layer balances over its endpoints: traffic follows the pods.
// The metrics tell the revisions apart by pod name ({{ canaryPods }}) in the demo app's own
// series, which the local runtime registers with Prometheus labelled by `pod`.

import { applyManifest, type AppStack } from './stack.ts';

const NAMESPACE = 'demo';
const APP = 'podinfo';
export const STS_REPLICAS = 4;
/** Pods on the new revision at each step: 1 of 4 (25 %), then 2 of 4 (50 %). */
export const STS_STEP_REPLICAS = [1, 2] as const;

/** The demo app as a StatefulSet; a release changes the image tag and, for a bad one, the env. */
export function demoStatefulSet(version: string, env: Record<string, string> = {}) {
  // Kept in Git: the partition counts pods (docs/routing.md#statefulset-targets).
  return demoWorkload('StatefulSet', version, env, {
    replicas: STS_REPLICAS,
    serviceName: APP,
    podManagementPolicy: 'Parallel',
  });
}

/** The demo app as a `kind` of apps/v1 in the demo namespace, its pods from demoPodTemplate. */
export function demoWorkload(
  kind: 'Deployment' | 'StatefulSet',
  version: string,
  env: Record<string, string>,
  spec: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: APP, namespace: NAMESPACE, labels: { app: APP } },
    spec: { ...spec, selector: { matchLabels: { app: APP } }, template: demoPodTemplate(version, env) },
  };
}

/** The demo app's pod (Deployment or StatefulSet): a release changes the tag and, for a bad one, the env. */
export function demoPodTemplate(version: string, env: Record<string, string> = {}) {
  return {
    metadata: { labels: { app: APP, 'demo.sluice.dev/app': 'true' } },
    spec: {
      containers: [
        {
          name: APP,
          image: `ghcr.io/sluice-dev/demo-app:${version}`,
          ports: [{ name: 'http', containerPort: 9898 }],
          env: Object.entries({ MESSAGE: 'hello from the demo', ...env }).map(([name, value]) => ({
            name,
            value,
          })),
        },
      ],
    },
  };
}

/** The team's own Service over every pod of the StatefulSet (Sluice creates none for one). */
export function demoStatefulSetService() {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: APP, namespace: NAMESPACE, labels: { app: APP } },
    spec: { selector: { app: APP }, ports: [{ name: 'http', port: 9898, targetPort: 'http' }] },
  };
}

/** The demo app's request series for the pods `{{ canaryPods }}` names, from the local runtime. */
const canaryRequests = (extra = '') =>
  `http_request_duration_seconds_count{namespace="{{ namespace }}", pod=~"{{ canaryPods }}"${extra}}[{{ interval }}]`;

/**
 * Success rate and p99 latency of the canary's pods only: `{{ canaryPods }}` is the regex of
 * the pods on the new ControllerRevision (`podinfo-(3)`, then `podinfo-(3|2)`).
 */
export function demoStatefulSetTemplates(prometheusUrl: string) {
  const provider = { type: 'prometheus', address: prometheusUrl };
  return [
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name: 'success-rate-by-pod', namespace: NAMESPACE },
      spec: {
        provider,
        query: `(sum(rate(${canaryRequests(', status!~"5.*"')})) or vector(0)) / sum(rate(${canaryRequests()})) * 100`,
      },
    },
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name: 'latency-by-pod', namespace: NAMESPACE },
      spec: {
        provider,
        query:
          'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{' +
          'namespace="{{ namespace }}", pod=~"{{ canaryPods }}"}[{{ interval }}]))) * 1000',
      },
    },
  ];
}

/** Both demos' load-test webhook (through the traffic proxy) and Slack alert. */
export function demoHooks(loadtesterUrl: string, proxyUrl: string) {
  return {
    webhooks: [
      {
        name: 'load-test',
        type: 'rollout',
        url: `${loadtesterUrl}/`,
        metadata: { type: 'load', url: `${proxyUrl}/`, rps: '10', duration: '30s' },
      },
    ],
    alerts: [{ name: 'demo-slack', severity: 'info', providerRef: { name: 'slack' } }],
  };
}

/** The StatefulSet Canary: per-pod metrics, the same load-test webhook and Slack alert. */
export function demoStatefulSetCanary(loadtesterUrl: string, proxyUrl: string) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: APP, namespace: NAMESPACE },
    spec: {
      // Sluice writes no routing object for a StatefulSet, whatever the provider says.
      provider: 'kubernetes',
      targetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: APP },
      progressDeadlineSeconds: 60,
      service: { port: 9898 },
      analysis: {
        interval: '10s',
        threshold: 2,
        stepReplicas: [...STS_STEP_REPLICAS],
        metrics: [
          {
            name: 'request-success-rate',
            templateRef: { name: 'success-rate-by-pod' },
            interval: '30s',
            thresholdRange: { min: 99 },
          },
          {
            name: 'request-duration',
            templateRef: { name: 'latency-by-pod' },
            interval: '30s',
            thresholdRange: { max: 500 },
          },
        ],
        ...demoHooks(loadtesterUrl, proxyUrl),
      },
    },
  };
}

/** Every pod of the StatefulSet ready on one revision, as the StatefulSet controller reports. */
async function settled(stack: AppStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sts = await stack.kube.apps.readNamespacedStatefulSet({ name: APP, namespace: NAMESPACE });
    const status = sts.status;
    if (
      status?.observedGeneration === sts.metadata?.generation &&
      status?.readyReplicas === STS_REPLICAS &&
      status.currentRevision === status.updateRevision
    )
      return;
    if (Date.now() > deadline)
      throw new Error(
        `demo: StatefulSet ${NAMESPACE}/${APP}: ${status?.readyReplicas ?? 0} of ${STS_REPLICAS} pods ready after ${timeoutMs / 1000}s`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The StatefulSet at 1.0.0, its Service and the per-pod MetricTemplates; once its pods are
 * ready, the Canary, as the StatefulSet integration test does: it starts from a settled
 * StatefulSet, every pod serving the first version.
 */
export async function deployDemoStatefulSet(stack: AppStack, prometheusUrl: string): Promise<void> {
  const { kube } = stack;
  await applyManifest(kube, demoStatefulSetService());
  for (const template of demoStatefulSetTemplates(prometheusUrl)) await applyManifest(kube, template);
  await applyManifest(kube, demoStatefulSet('1.0.0'));
  await settled(stack, 90_000);
  await applyManifest(kube, demoStatefulSetCanary(stack.loadtesterUrl!, stack.runtime.proxies[0]!.url));
}
