// The benchmarked workloads: a podinfo-like Deployment per canary (kwok runs its pods) and
// the same Canary spec for both controllers — Sluice's sluice.dev/v1alpha1 and Flagger's
// flagger.app/v1beta1 differ only in apiVersion, because Sluice's API keeps Flagger's
// field names and meanings.

export type ControllerKind = 'sluice' | 'flagger';

export const CANARY_API: Record<ControllerKind, { group: string; version: string }> = {
  sluice: { group: 'sluice.dev', version: 'v1alpha1' },
  flagger: { group: 'flagger.app', version: 'v1beta1' },
};

export interface AnalysisOptions {
  /** spec.analysis.interval, e.g. `10s`. */
  interval: string;
  threshold: number;
  stepWeight: number;
  maxWeight: number;
  /** Lowest passing success rate (percent) of request-success-rate. */
  minSuccessRate?: number;
  /** Query window of both built-in metrics. */
  metricInterval?: string;
}

const REVISION_ANNOTATION = 'bench.sluice.dev/revision';

/** A Deployment as a team commits it: no replicas (GitOps-friendly), one container serving http on 9898. */
export function appDeployment(
  namespace: string,
  name: string,
  pod: {
    annotations: Record<string, string>;
    container: { name: string; image: string; envFrom?: object[] };
  },
) {
  const { name: container, image, envFrom } = pod.container;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: pod.annotations },
        spec: {
          containers: [
            {
              name: container,
              image,
              ports: [{ name: 'http', containerPort: 9898 }],
              ...(envFrom ? { envFrom } : {}),
            },
          ],
        },
      },
    },
  };
}

/** The benchmarks' podinfo Deployment; a new `revision` is a new release. */
export function deployment(namespace: string, name: string, revision = 0) {
  return appDeployment(namespace, name, {
    annotations: { [REVISION_ANNOTATION]: String(revision) },
    container: { name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.0.0' },
  });
}

/** The Canary spec both controllers get: Istio routing, built-in metrics from Prometheus. */
export function canarySpec(name: string, analysis: AnalysisOptions) {
  const metricInterval = analysis.metricInterval ?? '1m';
  return {
    provider: 'istio',
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
    progressDeadlineSeconds: 600,
    service: { port: 9898, targetPort: 9898 },
    analysis: {
      interval: analysis.interval,
      threshold: analysis.threshold,
      maxWeight: analysis.maxWeight,
      stepWeight: analysis.stepWeight,
      metrics: [
        {
          name: 'request-success-rate',
          thresholdRange: { min: analysis.minSuccessRate ?? 99 },
          interval: metricInterval,
        },
        { name: 'request-duration', thresholdRange: { max: 500 }, interval: metricInterval },
      ],
    },
  };
}

export function canary(kind: ControllerKind, namespace: string, name: string, analysis: AnalysisOptions) {
  const { group, version } = CANARY_API[kind];
  return {
    apiVersion: `${group}/${version}`,
    kind: 'Canary',
    metadata: { name, namespace },
    spec: canarySpec(name, analysis),
  };
}

/** The canary's share of traffic in an Istio VirtualService: weights of routes to `<name>-canary`. */
export function virtualServiceCanaryWeight(virtualService: unknown, name: string): number | undefined {
  const spec = (virtualService as { spec?: { http?: unknown[] } }).spec;
  const http = spec?.http;
  if (!Array.isArray(http) || http.length === 0) return undefined;
  // The last http route is the default one (A/B match routes come first); weighted routing lives there.
  const route = (http.at(-1) as { route?: { destination?: { host?: string }; weight?: number }[] }).route;
  if (!Array.isArray(route)) return undefined;
  const canaryHost = `${name}-canary`;
  let weight = 0;
  for (const destination of route) {
    const host = destination.destination?.host ?? '';
    if (host === canaryHost || host.startsWith(`${canaryHost}.`)) {
      weight += destination.weight ?? (route.length === 1 ? 100 : 0);
    }
  }
  return weight;
}

/** Names of the benchmark's workloads: app-0000 … */
export function workloadNames(count: number, prefix = 'app'): string[] {
  const width = Math.max(4, String(count - 1).length);
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}
