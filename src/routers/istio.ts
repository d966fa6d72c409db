import { serviceNames, type Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef } from '../kube/meta.ts';
import { applyIfChanged, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { routesCapabilities } from './capabilities.ts';
import { istioMatchIssues, MatchNotSupportedError, mergeMatches } from './match.ts';
import { apexObjectMetadata, ownershipAnnotations, releaseObject } from './owned.ts';
import { checkRoutes, PRIMARY_ONLY, RouterConfigError } from './router.ts';
import type { Router, RouterCapabilities, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { finalizeServices, reconcileServices, serviceName } from './services.ts';
import { cookieRegex, sessionCookie, setCookie } from './session.ts';
import { readRoutes } from './single-object.ts';

// Istio: a VirtualService `<svc>` with weighted destinations `<svc>-primary` and
// `<svc>-canary`, and a DestinationRule for each (spec.service.trafficPolicy). Mirroring,
// A/B matches and session-affinity cookies are routes of the VirtualService. Routes other
// tools added to the VirtualService (any route Sluice did not name) are kept, ahead of
// Sluice's, and so are their labels and annotations (server-side apply).

export const ISTIO_API_VERSION = 'networking.istio.io/v1';

/** Names of the HTTP routes Sluice writes; any other route in the VirtualService is someone else's. */
export const ISTIO_ROUTES = {
  weighted: 'weighted',
  sticky: 'sticky',
  abMatch: 'ab-match',
  abDefault: 'ab-default',
} as const;
const SLUICE_ROUTE_NAMES = new Set<unknown>(Object.values(ISTIO_ROUTES));

export const ISTIO_CAPABILITIES: RouterCapabilities = routesCapabilities('istio');

function compact(object: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** The route settings every Sluice route shares: spec.service's match, rewrite, timeout, retries, CORS, headers. */
function baseRoute(canary: Canary): JsonObject {
  const service = canary.spec.service;
  let rewrite: JsonObject | undefined;
  if (service.rewrite) {
    // `type` is Gateway API's; Istio's rewrite has no such field.
    const { type: _type, ...istio } = service.rewrite;
    rewrite = Object.keys(istio).length ? istio : undefined;
  }
  return compact({
    match: service.match?.length ? structuredClone(service.match) : undefined,
    rewrite,
    timeout: service.timeout,
    retries: service.retries ? structuredClone(service.retries) : undefined,
    corsPolicy: service.corsPolicy ? structuredClone(service.corsPolicy) : undefined,
    headers: service.headers ? structuredClone(service.headers) : undefined,
  });
}

function destination(port: number, host: string, weight: number): JsonObject {
  return { destination: { host, port: { number: port } }, weight };
}

/**
 * The HTTP routes Sluice wants for these routes. With several Service ports (`ports`: the
 * others besides spec.service.port), each port gets the same routes first, matched on that
 * port and sent to it (named `<route>-<port>`), so every port is split with the same weights;
 * a route match that names a port itself keeps to it.
 */
export function istioHttpRoutes(
  canary: Canary,
  routes: SetRoutesOptions,
  ports: readonly number[] = [],
): JsonObject[] {
  const main = istioRoutesForPort(canary, routes, canary.spec.service.port);
  const explicit = (canary.spec.service.match ?? []).some((match) => match.port !== undefined);
  if (explicit) return main;
  const perPort = ports
    .filter((port) => port !== canary.spec.service.port)
    .flatMap((port) =>
      istioRoutesForPort(canary, routes, port).map((route) => ({
        ...route,
        name: `${String(route.name)}-${port}`,
        match: ((route.match as JsonObject[] | undefined) ?? [{}]).map((match) => ({ ...match, port })),
      })),
    );
  return [...perPort, ...main];
}

function istioRoutesForPort(canary: Canary, routes: SetRoutesOptions, port: number): JsonObject[] {
  const [issue] = [
    ...istioMatchIssues(canary.spec.service.match, 'spec.service.match'),
    ...(routes.match ? istioMatchIssues(canary.spec.analysis.match, 'spec.analysis.match') : []),
  ];
  if (issue) throw new MatchNotSupportedError(issue.path, issue.message);
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const base = baseRoute(canary);
  const mirrorWeight = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight;
  const mirror = routes.mirror
    ? compact({
        mirror: { host: canarySvc, port: { number: port } },
        mirrorPercentage: mirrorWeight !== undefined ? { value: mirrorWeight } : undefined,
      })
    : {};
  const split = [
    destination(port, primary, routes.primaryWeight),
    destination(port, canarySvc, routes.canaryWeight),
  ];

  if (routes.match) {
    // A/B: matching requests get the weights, everything else stays on the primary.
    return [
      {
        ...base,
        name: ISTIO_ROUTES.abMatch,
        match: mergeMatches(canary.spec.analysis.match ?? [], canary.spec.service.match),
        route: split,
        ...mirror,
      },
      { ...base, name: ISTIO_ROUTES.abDefault, route: [destination(port, primary, 100)] },
    ];
  }
  const weighted: JsonObject = { ...base, name: ISTIO_ROUTES.weighted, route: split, ...mirror };
  const cookie = sessionCookie(canary);
  if (!cookie) return [weighted];

  const cookieMatch = mergeMatches(
    [{ headers: { Cookie: { regex: cookieRegex(cookie) } } }],
    canary.spec.service.match,
  );
  if (routes.canaryWeight > 0) {
    // Responses from the canary set the cookie; requests that carry it stay on the canary.
    split[1]!.headers = { response: { add: { 'Set-Cookie': setCookie(cookie) } } };
    const sticky = {
      ...base,
      name: ISTIO_ROUTES.sticky,
      match: cookieMatch,
      route: [destination(port, primary, 0), destination(port, canarySvc, 100)],
    };
    return [sticky, weighted];
  }
  // No canary traffic: clients still holding the cookie go to the primary and lose it.
  const headers = structuredClone((base.headers as JsonObject | undefined) ?? {});
  const response = (headers.response as JsonObject | undefined) ?? {};
  headers.response = {
    ...response,
    add: { ...((response.add as JsonObject | undefined) ?? {}), 'Set-Cookie': setCookie(cookie, -1) },
  };
  const expire = {
    ...base,
    name: ISTIO_ROUTES.sticky,
    match: cookieMatch,
    headers,
    route: structuredClone(split),
  };
  return [expire, weighted];
}

function isSluiceRoute(route: JsonObject, hosts: ReadonlySet<string>): boolean {
  if (SLUICE_ROUTE_NAMES.has(route.name)) return true;
  // Routes for the other Service ports: `<route>-<port>`.
  if ([...SLUICE_ROUTE_NAMES].some((name) => new RegExp(`^${String(name)}-[0-9]+$`).test(String(route.name))))
    return true;
  const destinations = (route.route as { destination?: { host?: string } }[] | undefined) ?? [];
  return destinations.some((d) => hosts.has(d.destination?.host ?? ''));
}

/** Routes in the live VirtualService that another tool added (Sluice keeps them). */
export function foreignRoutes(canary: Canary, live: JsonObject | undefined): JsonObject[] {
  const hosts = new Set([serviceName(canary, 'primary'), serviceName(canary, 'canary')]);
  const http = (live?.spec as { http?: JsonObject[] } | undefined)?.http ?? [];
  return http.filter((route) => !isSluiceRoute(route, hosts));
}

export function virtualServiceObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
  ports: readonly number[] = [],
): DesiredObject {
  const service = canary.spec.service;
  const apex = serviceName(canary, 'apex');
  const ref = canaryRef(canary);
  let hosts: string[] | undefined;
  let gateways: string[] | undefined;
  if (service.delegation) {
    // A delegate VirtualService is included by another one: it has no hosts and no gateways.
    if (service.hosts?.length || service.gateways?.length) {
      throw new RouterConfigError(
        ref,
        'spec.service.delegation',
        'cannot be combined with spec.service.hosts or spec.service.gateways',
      );
    }
  } else {
    hosts = [...(service.hosts ?? [])];
    if (!hosts.includes(apex) && !hosts.includes('*')) hosts.push(apex);
    gateways = service.gateways?.length ? [...service.gateways] : ['mesh'];
  }
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: 'VirtualService',
    metadata: apexObjectMetadata(canary, apex, live),
    spec: compact({
      hosts,
      gateways,
      http: [...foreignRoutes(canary, live), ...istioHttpRoutes(canary, routes, ports)],
    }),
  };
}

export function destinationRuleObject(
  canary: Canary,
  role: 'primary' | 'canary',
  live: JsonObject | undefined,
): DesiredObject {
  const name = serviceName(canary, role);
  const trafficPolicy = canary.spec.service.trafficPolicy;
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: 'DestinationRule',
    metadata: {
      name,
      namespace: canaryNamespace(canary),
      annotations: ownershipAnnotations(canary.metadata.name, live),
    },
    spec: compact({ host: name, trafficPolicy: trafficPolicy ? structuredClone(trafficPolicy) : undefined }),
  };
}

type Destination = { destination?: { host?: string }; weight?: number };

/** The routes a live VirtualService holds, or undefined when Sluice's route is not there. */
export function routesFromVirtualService(canary: Canary, vs: JsonObject): Routes | undefined {
  const http = (vs.spec as { http?: JsonObject[] } | undefined)?.http ?? [];
  const abMatch = http.find((route) => route.name === ISTIO_ROUTES.abMatch);
  const weighted = abMatch ?? http.find((route) => route.name === ISTIO_ROUTES.weighted);
  if (!weighted) return undefined;
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const destinations = (weighted.route as Destination[] | undefined) ?? [];
  const weightOf = (host: string) => destinations.find((d) => d.destination?.host === host)?.weight ?? 0;
  const mirror = weighted.mirror as { host?: string } | undefined;
  const mirrors = (weighted.mirrors as { destination?: { host?: string } }[] | undefined) ?? [];
  return {
    primaryWeight: weightOf(primary),
    canaryWeight: weightOf(canarySvc),
    mirror: mirror?.host === canarySvc || mirrors.some((m) => m.destination?.host === canarySvc),
    match: abMatch !== undefined,
  };
}

/** Routes to keep when reconciling: what is live, made valid for the current spec. */
export function keptRoutes(canary: Canary, live: Routes | undefined): Routes {
  if (!live || live.primaryWeight + live.canaryWeight !== 100) return PRIMARY_ONLY;
  return { ...live, match: live.match && (canary.spec.analysis.match?.length ?? 0) > 0 };
}

export function istioRouter(deps: RouterDeps): Router {
  const vsRef = (canary: Canary): ObjectRef => ({
    apiVersion: ISTIO_API_VERSION,
    kind: 'VirtualService',
    metadata: { name: serviceName(canary, 'apex'), namespace: canaryNamespace(canary) },
  });
  const drRef = (canary: Canary, role: 'primary' | 'canary'): ObjectRef => ({
    apiVersion: ISTIO_API_VERSION,
    kind: 'DestinationRule',
    metadata: { name: serviceName(canary, role), namespace: canaryNamespace(canary) },
  });

  async function applyVirtualService(
    canary: Canary,
    routes: SetRoutesOptions,
    live: JsonObject | undefined,
  ): Promise<void> {
    const ports = Object.values((await deps.targetPods(canary)).ports);
    await applyIfChanged(deps.kube, virtualServiceObject(canary, routes, live, ports), live);
  }

  return {
    provider: 'istio',
    capabilities: ISTIO_CAPABILITIES,

    async reconcile(canary) {
      await reconcileServices(deps, canary, await deps.targetPods(canary));
      for (const role of ['primary', 'canary'] as const) {
        const live = await getObject(deps.kube, drRef(canary, role));
        await applyIfChanged(deps.kube, destinationRuleObject(canary, role, live), live);
      }
      const live = await getObject(deps.kube, vsRef(canary));
      const routes = keptRoutes(canary, live ? routesFromVirtualService(canary, live) : undefined);
      await applyVirtualService(canary, routes, live);
    },

    async setRoutes(canary, routes) {
      checkRoutes(canary, 'istio', ISTIO_CAPABILITIES, routes);
      await applyVirtualService(canary, routes, await getObject(deps.kube, vsRef(canary)));
    },

    getRoutes: (canary) =>
      readRoutes(deps, canary, vsRef(canary), (live) => routesFromVirtualService(canary, live)),

    async finalize(canary) {
      await releaseObject(deps.kube, vsRef(canary));
      for (const role of ['primary', 'canary'] as const) await releaseObject(deps.kube, drRef(canary, role));
      await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
