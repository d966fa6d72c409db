import { serviceNames, type Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryRef } from '../kube/meta.ts';
import type { DesiredObject } from '../kube/objects.ts';
import { apexObjectMetadata } from './owned.ts';
import { RouterConfigError } from './router.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { serviceName } from './services.ts';
import { apexRef, singleObjectRouter } from './single-object.ts';

// Traefik: a TraefikService `<svc>` that the team's IngressRoute routes to (kind:
// TraefikService), splitting by weight between `<svc>-primary` and `<svc>-canary`. To
// mirror, it sends the primary's share to a second TraefikService `<svc>-mirror`, which sends
// everything to the primary and a copy to the canary: `<svc>` always stays a weighted
// service (Traefik takes one kind per TraefikService, and a field another tool co-owns
// could not be dropped by switching kinds). The services lists are atomic: fields another
// tool set on Sluice's entries (passHostHeader, a strategy …) are carried over.

export const TRAEFIK_API_VERSION = 'traefik.io/v1alpha1';

type Entry = { name?: string } & JsonObject;

function liveEntries(live: JsonObject | undefined): Entry[] {
  const spec = (live?.spec ?? {}) as {
    weighted?: { services?: Entry[] };
    mirroring?: Entry & { mirrors?: Entry[] };
  };
  const mirroring = spec.mirroring;
  return [
    ...(spec.weighted?.services ?? []),
    ...(mirroring ? [mirroring, ...(mirroring.mirrors ?? [])] : []),
  ];
}

/** What another tool set on the live entry for this Service (anything Sluice does not write). */
function foreignFields(live: JsonObject | undefined, name: string): JsonObject {
  const entry = liveEntries(live).find((candidate) => candidate.name === name);
  if (!entry) return {};
  return Object.fromEntries(
    Object.entries(entry).filter(
      ([key]) => !['name', 'port', 'weight', 'percent', 'kind', 'mirrors', 'namespace'].includes(key),
    ),
  );
}

export function mirrorName(canary: Canary): string {
  return `${serviceName(canary, 'apex')}-mirror`;
}

function entry(canary: Canary, live: JsonObject | undefined, name: string, extra: JsonObject): JsonObject {
  return { ...foreignFields(live, name), name, port: canary.spec.service.port, ...extra };
}

export function traefikServiceObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  if (routes.mirror && routes.canaryWeight > 0) {
    throw new RouterConfigError(
      canaryRef(canary),
      'routes',
      `Traefik mirrors with all traffic on the primary (got ${routes.primaryWeight}/${routes.canaryWeight} with mirror)`,
    );
  }
  // While mirroring, the primary's own entry stays at weight 0 (keeping what others set on it).
  const services = [
    entry(canary, live, primary, { weight: routes.mirror ? 0 : routes.primaryWeight }),
    entry(canary, live, canarySvc, { weight: routes.canaryWeight }),
  ];
  if (routes.mirror) {
    services.push({
      ...foreignFields(live, mirrorName(canary)),
      name: mirrorName(canary),
      kind: 'TraefikService',
      weight: routes.primaryWeight,
    });
  }
  return {
    apiVersion: TRAEFIK_API_VERSION,
    kind: 'TraefikService',
    metadata: apexObjectMetadata(canary, serviceName(canary, 'apex'), live),
    spec: { weighted: { services } },
  };
}

/** The mirroring service `<svc>-mirror`, written while Sluice mirrors (and left as it is after). */
export function traefikMirrorObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject | undefined {
  if (!routes.mirror) return undefined;
  const percent = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight ?? 100;
  return {
    apiVersion: TRAEFIK_API_VERSION,
    kind: 'TraefikService',
    metadata: apexObjectMetadata(canary, mirrorName(canary), live),
    spec: {
      mirroring: {
        ...entry(canary, live, serviceName(canary, 'primary'), {}),
        mirrors: [entry(canary, live, serviceName(canary, 'canary'), { percent })],
      },
    },
  };
}

export function routesFromTraefikService(canary: Canary, object: JsonObject): Routes | undefined {
  const services =
    (object.spec as { weighted?: { services?: { name?: string; weight?: number }[] } } | undefined)?.weighted
      ?.services ?? [];
  const find = (name: string) => services.find((candidate) => candidate.name === name);
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const mirror = find(mirrorName(canary));
  if (!find(primary) && !find(canarySvc) && !mirror) return undefined;
  // Traefik's default weight is 1.
  const weightOf = (found: { weight?: number } | undefined) => (found ? (found.weight ?? 1) : 0);
  return {
    primaryWeight: weightOf(find(primary)) + weightOf(mirror),
    canaryWeight: weightOf(find(canarySvc)),
    mirror: mirror !== undefined && weightOf(mirror) > 0,
    match: false,
  };
}

export function traefikRouter(deps: RouterDeps): Router {
  const ref = apexRef(TRAEFIK_API_VERSION, 'TraefikService');
  return singleObjectRouter(deps, {
    kind: 'traefik',
    ref,
    companion: {
      ref: (canary) => ({ ...ref(canary), metadata: { ...ref(canary).metadata, name: mirrorName(canary) } }),
      desired: traefikMirrorObject,
    },
    desired: traefikServiceObject,
    read: routesFromTraefikService,
  });
}
