import type { Canary } from '../api/canary.ts';
import { partitionFor, podsForWeight, weightForPartition } from '../targets/partition.ts';
import { applyPartition, partitionOf, readStatefulSet, replicasOf } from '../targets/statefulset.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';

// A StatefulSet canary's "routes" are its partition: one Service spans every pod, so the
// traffic the new revision gets is the share of pods on it, whatever mesh (if any) sits in
// front. This router stands in for the provider's: it writes no Service and no routing
// object, and a weight is the pod fraction (src/targets/partition.ts). The provider still
// names the built-in metric queries.

/** The phases in which the partition belongs to the promotion (0), not to a step's weight. */
const PROMOTION_PHASES = new Set(['Promoting', 'Finalising']);

export function partitionRouter(deps: Pick<RouterDeps, 'kube'>, provider: string): Router {
  return {
    provider,
    capabilities: { weights: true, mirror: false, match: false },

    async reconcile() {
      // Nothing to create: the StatefulSet's own Service routes to every pod.
    },

    async setRoutes(canary: Canary, routes: SetRoutesOptions) {
      const sts = await readStatefulSet(deps, canary);
      const replicas = replicasOf(sts);
      const live = partitionOf(sts);
      if (routes.canaryWeight === 0) {
        await applyPartition(deps, sts, replicas);
        return;
      }
      const wanted = partitionFor(podsForWeight(routes.canaryWeight, replicas), replicas);
      // A pod past the partition stays on the new revision when it goes up again, so a step
      // never raises it: the promotion's 0 holds until the hold (weight 0) after it.
      if (wanted < live) await applyPartition(deps, sts, wanted);
    },

    async getRoutes(canary: Canary): Promise<Routes> {
      let weight = canary.status?.canaryWeight ?? 0;
      if (!PROMOTION_PHASES.has(canary.status?.phase ?? '')) {
        const sts = await readStatefulSet(deps, canary);
        weight = weightForPartition(partitionOf(sts), replicasOf(sts));
      }
      return { primaryWeight: 100 - weight, canaryWeight: weight, mirror: false, match: false };
    },

    async finalize() {
      // The target's restore released the partition; nothing else was written.
    },
  };
}
