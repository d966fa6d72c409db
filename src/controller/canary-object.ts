import { HttpMethod } from '../kube/library.ts';
import type { CanaryStatus } from '../api/status.ts';
import type { Kube } from '../kube/client.ts';

export const API_VERSION = 'sluice.dev/v1alpha1';

/**
 * A Canary as it comes from the informer: plain JSON, its spec not yet validated. Its status
 * was validated by the apiserver against the CRD, which is generated from CanaryStatus.
 */
export interface CanaryObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: unknown;
  status?: CanaryStatus;
}

export const canaryKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** What a write to this Canary addresses. */
export function canaryRef(object: CanaryObject) {
  return {
    apiVersion: API_VERSION,
    kind: 'Canary',
    metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
  };
}

/** Reads a Canary straight from the apiserver (the CLI and tests use it). */
export async function readCanary(kube: Kube, namespace: string, name: string): Promise<CanaryObject> {
  return kube.wire.request<CanaryObject>(
    HttpMethod.GET,
    `/apis/sluice.dev/v1alpha1/namespaces/${namespace}/canaries/${name}`,
  );
}
