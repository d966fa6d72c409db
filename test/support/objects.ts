// Kubernetes objects as a team writes them beside its Deployment, for the integration
// tests: each test says what is particular (names, data, replica bounds), not the kind's
// boilerplate.

/** A ConfigMap `name` with `data`. */
export function configMap(namespace: string, name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** A Secret `name` written with `stringData` (the apiserver encodes it). */
export function secret(namespace: string, name: string, stringData: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData };
}

export interface HpaOptions {
  /** The Deployment it scales (default: the HPA's own name). */
  target?: string;
  minReplicas?: number;
  maxReplicas: number;
  /** Scales on the pods' CPU at this utilization (percent). */
  cpuUtilization?: number;
  labels?: Record<string, string>;
  behavior?: Record<string, unknown>;
}

/** An autoscaling/v2 HorizontalPodAutoscaler `name` scaling a Deployment. */
export function hpa(namespace: string, name: string, options: HpaOptions) {
  const { target = name, minReplicas, maxReplicas, cpuUtilization, labels, behavior } = options;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      ...(minReplicas !== undefined ? { minReplicas } : {}),
      maxReplicas,
      ...(cpuUtilization !== undefined
        ? {
            metrics: [
              {
                type: 'Resource',
                resource: {
                  name: 'cpu',
                  target: { type: 'Utilization', averageUtilization: cpuUtilization },
                },
              },
            ],
          }
        : {}),
      ...(behavior ? { behavior } : {}),
    },
  };
}
