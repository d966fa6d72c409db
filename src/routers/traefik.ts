import type { Canary } from '../api/canary.ts';
import type { JsonObject } from '../targets/kinds.ts';
import { canaryNamespace, canaryRef, copiedMetadata } from '../targets/meta.ts';
import type { DesiredObject, ObjectRef } from '../targets/objects.ts';
import { ownershipAnnotations } from './owned.ts';
import {
  RouterConfigError,
  type Router,
  type RouterDeps,
  type Routes,
  type SetRoutesOptions,
} from './router.ts';
import { serviceName } from './services.ts';
import { singleObjectRouter } from './single-object.ts';

// Traefik: a TraefikService `<svc>` that the team's IngressRoute routes to (kind:
// TraefikService). Weighted, it splits between `<svc>-primary` and `<svc>-canary`;
// mirroring, it sends everything to the primary and a copy to the canary. The two are
// one of a kind each in Traefik's schema, so a mirrored step replaces the weights (Sluice
// mirrors with all traffic on the primary). The services lists are atomic: fields another
// tool set on Sluice's two entries (passHostHeader, a strategy …) are carried over.

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

export function traefikServiceObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const service = canary.spec.service;
  const primary = serviceName(canary, 'primary');
  const canarySvc = serviceName(canary, 'canary');
  const entry = (name: string, extra: JsonObject): JsonObject => ({
    ...foreignFields(live, name),
    name,
    port: service.port,
    ...extra,
  });
  let spec: JsonObject;
  if (routes.mirror) {
    if (routes.canaryWeight > 0) {
      throw new RouterConfigError(
        canaryRef(canary),
        'routes',
        `Traefik mirrors with all traffic on the primary (got ${routes.primaryWeight}/${routes.canaryWeight} with mirror)`,
      );
    }
    const percent = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight ?? 100;
    spec = { mirroring: { ...entry(primary, {}), mirrors: [entry(canarySvc, { percent })] } };
  } else {
    spec = {
      weighted: {
        services: [
          entry(primary, { weight: routes.primaryWeight }),
          entry(canarySvc, { weight: routes.canaryWeight }),
        ],
      },
    };
  }
  return {
    apiVersion: TRAEFIK_API_VERSION,
    kind: 'TraefikService',
    metadata: {
      name: serviceName(canary, 'apex'),
      namespace: canaryNamespace(canary),
      labels: copiedMetadata(service.apex?.labels),
      annotations: {
        ...copiedMetadata(service.apex?.annotations),
        ...ownershipAnnotations(canary.metadata.name, live),
      },
    },
    spec,
  };
}

export function routesFromTraefikService(canary: Canary, object: JsonObject): Routes | undefined {
  const primary = serviceName(canary, 'primary');
  const canarySvc = serviceName(canary, 'canary');
  const spec = (object.spec ?? {}) as {
    weighted?: { services?: { name?: string; weight?: number }[] };
    mirroring?: { name?: string; mirrors?: { name?: string }[] };
  };
  if (spec.mirroring?.name === primary) {
    return {
      primaryWeight: 100,
      canaryWeight: 0,
      mirror: (spec.mirroring.mirrors ?? []).some((mirror) => mirror.name === canarySvc),
      match: false,
    };
  }
  const services = spec.weighted?.services ?? [];
  const find = (name: string) => services.find((entry) => entry.name === name);
  if (!find(primary) && !find(canarySvc)) return undefined;
  // Traefik's default weight is 1.
  const weightOf = (name: string) => {
    const entry = find(name);
    return entry ? (entry.weight ?? 1) : 0;
  };
  return { primaryWeight: weightOf(primary), canaryWeight: weightOf(canarySvc), mirror: false, match: false };
}

export function traefikRouter(deps: RouterDeps): Router {
  const ref = (canary: Canary): ObjectRef => ({
    apiVersion: TRAEFIK_API_VERSION,
    kind: 'TraefikService',
    metadata: { name: serviceName(canary, 'apex'), namespace: canaryNamespace(canary) },
  });
  return singleObjectRouter(deps, {
    kind: 'traefik',
    ref,
    desired: traefikServiceObject,
    read: routesFromTraefikService,
  });
}
