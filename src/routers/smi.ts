import type { Canary } from '../api/canary.ts';
import type { SmiVersion } from '../api/providers.ts';
import { routesCapabilities } from './capabilities.ts';
import type { JsonObject } from '../kube/kinds.ts';
import type { DesiredObject } from '../kube/objects.ts';
import { apexObjectMetadata } from './owned.ts';
import type { Router, RouterCapabilities, RouterDeps, Routes } from './router.ts';
import { serviceName } from './services.ts';
import { apexRef, singleObjectRouter } from './single-object.ts';

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
    metadata: apexObjectMetadata(canary, apex, live),
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
  return singleObjectRouter(deps, {
    kind: 'smi',
    provider: `smi:${version}`,
    ref: apexRef(`split.smi-spec.io/${version}`, 'TrafficSplit'),
    desired: (canary, routes, live) => trafficSplitObject(canary, version, routes, live),
    read: routesFromTrafficSplit,
  });
}
