import type { Canary } from '../api/canary.ts';
import type { RouterKind } from '../api/providers.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef } from '../kube/meta.ts';
import { applyIfChanged, describe, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { routesCapabilities } from './capabilities.ts';
import { releaseObject } from './owned.ts';
import { checkRoutes, PRIMARY_ONLY, RoutesNotFoundError } from './router.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { finalizeServices, reconcileServices, serviceName } from './services.ts';

// The shape most routers share: the three Services, then one routing object that holds
// the weights. A router of this shape says how to name the object, what to apply for
// some routes and how to read the routes back; the rest (keep the live weights on
// reconcile, check before writing, drift, revert) is here once.

export interface SingleObjectRouting {
  kind: RouterKind;
  /** The provider as the router reports it. */
  provider?: string;
  ref(canary: Canary): ObjectRef;
  /** The object for these routes, keeping what other tools put in `live`. */
  desired(
    canary: Canary,
    routes: SetRoutesOptions,
    live: JsonObject | undefined,
  ): DesiredObject | Promise<DesiredObject>;
  /** The routes `live` holds, or undefined when Sluice's part of it is gone. */
  read(canary: Canary, live: JsonObject): Routes | undefined;
  /** Whether the router routes through the apex, primary and canary Services (all but knative). */
  services?: boolean;
  /**
   * An object the routing object points at (Traefik's mirroring service), applied before
   * it whenever `desired` returns one, and released with it.
   */
  companion?: {
    ref(canary: Canary): ObjectRef;
    desired(
      canary: Canary,
      routes: SetRoutesOptions,
      live: JsonObject | undefined,
    ): DesiredObject | undefined;
  };
  /** revertOnDeletion for the object; default: deleted if Sluice created it, else its spec given back. */
  release?(canary: Canary): Promise<void>;
}

/** `ref` for a routing object named like the apex Service, in the Canary's namespace (most routers' object). */
export function apexRef(apiVersion: string, kind: string): (canary: Canary) => ObjectRef {
  return (canary) => ({
    apiVersion,
    kind,
    metadata: { name: serviceName(canary, 'apex'), namespace: canaryNamespace(canary) },
  });
}

/** The routes a router's object holds; RoutesNotFoundError names the object when it has none of Sluice's. */
export async function readRoutes(
  deps: Pick<RouterDeps, 'kube'>,
  canary: Canary,
  ref: ObjectRef,
  read: (live: JsonObject) => Routes | undefined,
  described = describe(ref),
): Promise<Routes> {
  const live = await getObject(deps.kube, ref);
  const routes = live ? read(live) : undefined;
  if (!routes) throw new RoutesNotFoundError(canaryRef(canary), described, live !== undefined);
  return routes;
}

/** Routes to keep when reconciling: what is live, made valid for the current spec. */
export function keptRoutes(canary: Canary, live: Routes | undefined): Routes {
  if (!live || live.primaryWeight + live.canaryWeight !== 100) return PRIMARY_ONLY;
  return { ...live, match: live.match && (canary.spec.analysis.match?.length ?? 0) > 0 };
}

export function singleObjectRouter(deps: RouterDeps, routing: SingleObjectRouting): Router {
  const provider = routing.provider ?? routing.kind;
  const capabilities = routesCapabilities(routing.kind);
  const services = routing.services ?? true;

  async function applyRoutes(canary: Canary, routes: SetRoutesOptions, live: JsonObject | undefined) {
    const companion = routing.companion;
    if (companion) {
      const current = await getObject(deps.kube, companion.ref(canary));
      const wanted = companion.desired(canary, routes, current);
      if (wanted) await applyIfChanged(deps.kube, wanted, current);
    }
    await applyIfChanged(deps.kube, await routing.desired(canary, routes, live), live);
  }

  return {
    provider,
    capabilities,

    async reconcile(canary) {
      if (services) await reconcileServices(deps, canary, await deps.targetPods(canary));
      const live = await getObject(deps.kube, routing.ref(canary));
      await applyRoutes(canary, keptRoutes(canary, live ? routing.read(canary, live) : undefined), live);
    },

    async setRoutes(canary, routes) {
      checkRoutes(canary, provider, capabilities, routes);
      await applyRoutes(canary, routes, await getObject(deps.kube, routing.ref(canary)));
    },

    getRoutes: (canary) =>
      readRoutes(deps, canary, routing.ref(canary), (live) => routing.read(canary, live)),

    async finalize(canary) {
      if (routing.release) await routing.release(canary);
      else await releaseObject(deps.kube, routing.ref(canary));
      if (routing.companion) await releaseObject(deps.kube, routing.companion.ref(canary));
      if (services) await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
