import type { Canary } from '../api/canary.ts';
import type { SmiVersion } from '../api/providers.ts';
import { routesCapabilities } from './capabilities.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef, copiedMetadata } from '../kube/meta.ts';
import { applyIfChanged, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { ownershipAnnotations, releaseObject } from './owned.ts';
import {
  checkRoutes,
  PRIMARY_ONLY,
  RoutesNotFoundError,
  type Router,
  type RouterCapabilities,
  type RouterDeps,
  type Routes,
  type SetRoutesOptions,
} from './router.ts';
import { finalizeServices, reconcileServices, serviceName } from './services.ts';

// SMI (Linkerd, OSM and other meshes that read split.smi-spec.io): a TrafficSplit `<svc>`
// whose backends are `<svc>-primary` and `<svc>-canary`. The API version comes from the
// provider string (smi:v1alpha1, smi:v1alpha2, smi:v1alpha3); TrafficSplit has weights
// only, so SMI does canary and blue/green releases but no mirroring and no A/B matches.

export { SMI_VERSIONS, type SmiVersion } from '../api/providers.ts';

export const SMI_CAPABILITIES: RouterCapabilities = routesCapabilities('smi');

export function trafficSplitObject(
  canary: Canary,
  version: SmiVersion,
  routes: Routes,
  live: JsonObject | undefined,
): DesiredObject {
  const service = canary.spec.service;
  const apex = serviceName(canary, 'apex');
  return {
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: {
      name: apex,
      namespace: canaryNamespace(canary),
      labels: copiedMetadata(service.apex?.labels),
      annotations: {
        ...copiedMetadata(service.apex?.annotations),
        ...ownershipAnnotations(canary.metadata.name, live),
      },
    },
    spec: {
      // The root service clients address: the first host, else the apex Service.
      service: service.hosts?.[0] ?? apex,
      backends: [
        { service: serviceName(canary, 'canary'), weight: routes.canaryWeight },
        { service: serviceName(canary, 'primary'), weight: routes.primaryWeight },
      ],
    },
  };
}

/** A TrafficSplit weight: an integer, or (v1alpha1) a quantity such as "100" or "500m". */
export function splitWeight(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const milli = value.endsWith('m');
    const number = Number(milli ? value.slice(0, -1) : value);
    if (Number.isFinite(number)) return milli ? number / 1000 : number;
  }
  return 0;
}

export function routesFromTrafficSplit(canary: Canary, split: JsonObject): Routes | undefined {
  const backends =
    (split.spec as { backends?: { service?: string; weight?: unknown }[] } | undefined)?.backends ?? [];
  const weightOf = (name: string) => backends.find((backend) => backend.service === name);
  const primary = weightOf(serviceName(canary, 'primary'));
  const canarySvc = weightOf(serviceName(canary, 'canary'));
  if (!primary && !canarySvc) return undefined;
  return {
    primaryWeight: splitWeight(primary?.weight),
    canaryWeight: splitWeight(canarySvc?.weight),
    mirror: false,
    match: false,
  };
}

export function smiRouter(deps: RouterDeps, version: SmiVersion): Router {
  const provider = `smi:${version}`;
  const splitRef = (canary: Canary): ObjectRef => ({
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: { name: serviceName(canary, 'apex'), namespace: canaryNamespace(canary) },
  });

  async function applySplit(canary: Canary, routes: Routes, live: JsonObject | undefined): Promise<void> {
    await applyIfChanged(deps.kube, trafficSplitObject(canary, version, routes, live), live);
  }

  return {
    provider,
    capabilities: SMI_CAPABILITIES,

    async reconcile(canary) {
      await reconcileServices(deps, canary, await deps.targetPods(canary));
      const live = await getObject(deps.kube, splitRef(canary));
      const current = live ? routesFromTrafficSplit(canary, live) : undefined;
      const routes = current && current.primaryWeight + current.canaryWeight === 100 ? current : PRIMARY_ONLY;
      await applySplit(canary, routes, live);
    },

    async setRoutes(canary: Canary, routes: SetRoutesOptions) {
      checkRoutes(canary, provider, SMI_CAPABILITIES, routes);
      await applySplit(canary, routes, await getObject(deps.kube, splitRef(canary)));
    },

    async getRoutes(canary) {
      const live = await getObject(deps.kube, splitRef(canary));
      const routes = live ? routesFromTrafficSplit(canary, live) : undefined;
      if (!routes) {
        throw new RoutesNotFoundError(
          canaryRef(canary),
          `TrafficSplit ${canaryNamespace(canary)}/${serviceName(canary, 'apex')}`,
          live !== undefined,
        );
      }
      return routes;
    },

    async finalize(canary) {
      await releaseObject(deps.kube, splitRef(canary));
      await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
