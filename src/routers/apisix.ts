import { serviceNames, type Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef, copiedMetadata } from '../kube/meta.ts';
import { describe, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { throwFirst, translateApisixMatches } from './match.ts';
import { annotationsOf, labelsOf, ownershipAnnotations } from './owned.ts';
import { RouterConfigError } from './router.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { serviceName } from './services.ts';
import { singleObjectRouter } from './single-object.ts';

// APISIX: a canary ApisixRoute `<route>-<svc>-canary`, a copy of the rule of the
// ApisixRoute in spec.routeRef that sends to `<svc>`, at the highest priority, with
// weighted backends `<svc>-primary` and `<svc>-canary` (as Flagger names and shapes it,
// so its metric queries keep working). A/B adds one rule per match with header/query
// expressions ahead of a default rule to the primary. The ApisixRoute in spec.routeRef is
// only read. APISIX's module is not served to this project's build, so the local control
// plane has no ApisixRoute schema: the shape follows the apisix.apache.org/v2 reference.

export const APISIX_API_VERSION = 'apisix.apache.org/v2';
/** Above any priority a team gives its own rules (Flagger uses the same). */
export const APISIX_PRIORITY = 10000;

type Http = {
  name?: string;
  backends?: { serviceName?: string; servicePort?: unknown; weight?: number }[];
  match?: JsonObject;
} & JsonObject;

function routeRefName(canary: Canary): string {
  const ref = canary.spec.routeRef;
  if (!ref) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.routeRef',
      'is required by provider apisix: name the ApisixRoute that routes to the Service',
    );
  }
  return ref.name;
}

export function canaryRouteName(canary: Canary): string {
  return `${routeRefName(canary)}-${serviceName(canary, 'apex')}-canary`;
}

export function apisixRouteObject(
  canary: Canary,
  source: JsonObject,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const apex = serviceName(canary, 'apex');
  const http = ((source.spec as { http?: Http[] } | undefined)?.http ?? []).find((rule) =>
    (rule.backends ?? []).some((backend) => backend.serviceName === apex),
  );
  if (!http || (http.backends ?? []).length !== 1) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.routeRef',
      `names ApisixRoute ${routeRefName(canary)}, which needs one http rule whose only backend is Service ${apex}`,
    );
  }
  const backend = http.backends![0]!;
  const backends = (primaryWeight: number, canaryWeight: number) => [
    { ...backend, serviceName: serviceName(canary, 'primary'), weight: primaryWeight },
    { ...backend, serviceName: serviceName(canary, 'canary'), weight: canaryWeight },
  ];
  const name = http.name ?? 'rule';
  const rule = (
    suffix: string,
    priority: number,
    extra: JsonObject[],
    weights: [number, number],
  ): JsonObject => {
    const match = structuredClone(http.match ?? {});
    if (extra.length) match.exprs = [...((match.exprs as JsonObject[] | undefined) ?? []), ...extra];
    return {
      ...structuredClone(http),
      name: `${name}${suffix}`,
      priority,
      match,
      backends: backends(...weights),
    };
  };
  let rules: JsonObject[];
  if (routes.match) {
    const { exprs } = throwFirst(translateApisixMatches(canary.spec.analysis.match, 'spec.analysis.match'));
    rules = [
      ...exprs.map((list, i) =>
        rule(`-ab-${i}`, APISIX_PRIORITY, list, [routes.primaryWeight, routes.canaryWeight]),
      ),
      rule('', APISIX_PRIORITY - 1, [], [100, 0]),
    ];
  } else {
    rules = [rule('', APISIX_PRIORITY, [], [routes.primaryWeight, routes.canaryWeight])];
  }
  return {
    apiVersion: APISIX_API_VERSION,
    kind: 'ApisixRoute',
    metadata: {
      name: canaryRouteName(canary),
      namespace: canaryNamespace(canary),
      labels: copiedMetadata(labelsOf(source)),
      annotations: {
        ...copiedMetadata(annotationsOf(source)),
        ...ownershipAnnotations(canary.metadata.name, live),
      },
    },
    spec: {
      ...structuredClone((source.spec as JsonObject | undefined) ?? {}),
      http: rules,
    },
  };
}

export function routesFromApisixRoute(canary: Canary, route: JsonObject): Routes | undefined {
  const rules = (route.spec as { http?: Http[] } | undefined)?.http ?? [];
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const first = rules.find((rule) => (rule.backends ?? []).some((b) => b.serviceName === canarySvc));
  if (!first) return undefined;
  const weightOf = (name: string) => first.backends?.find((b) => b.serviceName === name)?.weight ?? 0;
  return {
    primaryWeight: weightOf(primary),
    canaryWeight: weightOf(canarySvc),
    mirror: false,
    match: rules.some((rule) => rule.name?.includes('-ab-') ?? false),
  };
}

export function apisixRouter(deps: RouterDeps): Router {
  const ref = (canary: Canary): ObjectRef => ({
    apiVersion: APISIX_API_VERSION,
    kind: 'ApisixRoute',
    metadata: { name: canaryRouteName(canary), namespace: canaryNamespace(canary) },
  });
  const sourceRef = (canary: Canary): ObjectRef => ({
    apiVersion: APISIX_API_VERSION,
    kind: 'ApisixRoute',
    metadata: { name: routeRefName(canary), namespace: canaryNamespace(canary) },
  });
  return singleObjectRouter(deps, {
    kind: 'apisix',
    ref,
    async desired(canary, routes, live) {
      const source = await getObject(deps.kube, sourceRef(canary));
      if (!source)
        throw new RouterConfigError(
          canaryRef(canary),
          'spec.routeRef',
          `names ${describe(sourceRef(canary))}, which does not exist`,
        );
      return apisixRouteObject(canary, source, routes, live);
    },
    read: routesFromApisixRoute,
  });
}
