import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * What a canary can act on in its target or primary: the spec (generation, replicas),
 * deletion, the annotations, and whether the workload is fully rolled out and ready, with
 * its conditions. Status updates that only move counters on the way there (a pod created,
 * scheduled, started) leave it unchanged, so they wake no canary; readiness is observed
 * again at the next tick anyway.
 */
export function workloadFingerprint(object: KubernetesObject): string {
  const { metadata } = object;
  const spec = (object as { spec?: { replicas?: number } }).spec ?? {};
  const status =
    (
      object as {
        status?: {
          observedGeneration?: number;
          replicas?: number;
          updatedReplicas?: number;
          readyReplicas?: number;
          availableReplicas?: number;
          desiredNumberScheduled?: number;
          updatedNumberScheduled?: number;
          numberReady?: number;
          numberAvailable?: number;
          conditions?: { type?: string; status?: string }[];
          currentRevision?: string;
          updateRevision?: string;
        };
      }
    ).status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (metadata?.generation ?? 0);
  // Deployments count replicas; DaemonSets count scheduled nodes.
  const want = status.desiredNumberScheduled ?? spec.replicas ?? 1;
  const counts =
    status.desiredNumberScheduled !== undefined
      ? [status.updatedNumberScheduled, status.numberReady, status.numberAvailable]
      : [status.replicas, status.updatedReplicas, status.readyReplicas, status.availableReplicas];
  const settled = observed && counts.every((count) => (count ?? 0) === want);
  return JSON.stringify([
    metadata?.generation,
    metadata?.deletionTimestamp ?? '',
    metadata?.annotations ?? {},
    spec.replicas,
    want,
    settled,
    (status.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort(),
    // A StatefulSet canary's steps are pods turning ready on a revision: each one counts.
    ...(status.updateRevision !== undefined
      ? [status.currentRevision, status.updateRevision, status.updatedReplicas, status.readyReplicas]
      : []),
  ]);
}
