import type { Canary } from '../api/canary.ts';
import { canaryNamespace, canaryRef } from '../kube/meta.ts';
import { routesCapabilities } from './capabilities.ts';
import { checkRoutes, RoutesNotFoundError } from './router.ts';
import type { Router, RouterCapabilities, RouterDeps, SetRoutesOptions } from './router.ts';
import {
  finalizeServices,
  intendedApexSide,
  liveApexSide,
  reconcileServices,
  serviceName,
  setApexSide,
} from './services.ts';

// Blue/green without a mesh: the apex Service selects the primary's pods, and switching
// traffic to the canary points its selector at the target's own pods. All or nothing:
// no weights in between, no mirroring, no header matches.

export const KUBERNETES_CAPABILITIES: RouterCapabilities = routesCapabilities('kubernetes');

export function kubernetesRouter(deps: RouterDeps): Router {
  const describeApex = (canary: Canary) =>
    `Service ${canaryNamespace(canary)}/${serviceName(canary, 'apex')}`;

  return {
    provider: 'kubernetes',
    capabilities: KUBERNETES_CAPABILITIES,

    async reconcile(canary) {
      const pods = await deps.targetPods(canary);
      // Keep the side Sluice switched to: reconciling must not switch traffic. The selector
      // itself is not the intent: a GitOps sync may have pointed it elsewhere (drift).
      await reconcileServices(deps, canary, pods, (await intendedApexSide(deps.kube, canary)) ?? 'primary');
    },

    async setRoutes(canary: Canary, routes: SetRoutesOptions) {
      checkRoutes(canary, 'kubernetes', KUBERNETES_CAPABILITIES, routes);
      const pods = await deps.targetPods(canary);
      await setApexSide(deps.kube, canary, pods, routes.canaryWeight === 100 ? 'canary' : 'primary');
    },

    async getRoutes(canary) {
      const side = await liveApexSide(deps.kube, canary, await deps.targetPods(canary));
      if (!side) throw new RoutesNotFoundError(canaryRef(canary), describeApex(canary), true);
      return side === 'canary'
        ? { primaryWeight: 0, canaryWeight: 100, mirror: false, match: false }
        : { primaryWeight: 100, canaryWeight: 0, mirror: false, match: false };
    },

    async finalize(canary) {
      await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
