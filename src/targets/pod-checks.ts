// Which workloads' pods were last read and found healthy while the workload's own status
// said ready, by resourceVersion. A workload that reports ready is still checked against its
// pods (a crash-looping release can look available between restarts), but a pod that stops
// being ready or fails changes the ReplicaSet's and so the workload's status, hence its
// resourceVersion. While the resourceVersion stands, the pods need not be listed again on
// every reconcile; the list is still repeated at least every `maxAgeMs`.
//
// The controller keeps one for all canaries; without one every readiness check lists pods.

export interface PodCheckKey {
  kind: string;
  namespace: string;
  name: string;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

export class PodChecks {
  private readonly healthy = new Map<string, { resourceVersion: string; at: number }>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;

  constructor(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  private static id(key: PodCheckKey): string {
    return `${key.kind}/${key.namespace}/${key.name}/${key.uid ?? ''}`;
  }

  /** Whether the pods were found healthy at this very resourceVersion, recently enough. */
  fresh(key: PodCheckKey, now: number): boolean {
    if (!key.resourceVersion) return false;
    const seen = this.healthy.get(PodChecks.id(key));
    return seen?.resourceVersion === key.resourceVersion && now - seen.at < this.maxAgeMs;
  }

  /** Records the outcome of a check that read the pods. */
  record(key: PodCheckKey, healthy: boolean, now: number): void {
    const id = PodChecks.id(key);
    if (!healthy || !key.resourceVersion) {
      this.healthy.delete(id);
      return;
    }
    // Entries of deleted workloads are never read again: a bound instead of bookkeeping.
    if (this.healthy.size >= this.maxEntries && !this.healthy.has(id)) this.healthy.clear();
    this.healthy.set(id, { resourceVersion: key.resourceVersion, at: now });
  }
}
