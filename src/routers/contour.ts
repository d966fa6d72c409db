import { serviceNames, type Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryRef } from '../kube/meta.ts';
import type { DesiredObject } from '../kube/objects.ts';
import { contourAbConditions, throwFirst, translateContourMatches } from './match.ts';
import { apexObjectMetadata } from './owned.ts';
import { RouterConfigError } from './router.ts';
import type { RouterDeps, Router, Routes, SetRoutesOptions } from './router.ts';
import { serviceName } from './services.ts';
import { apexRef, singleObjectRouter } from './single-object.ts';

// Contour: an HTTPProxy `<svc>` whose routes send traffic to `<svc>-primary` and
// `<svc>-canary` by weight, with a mirror service for mirroring and one route per
// request match for A/B (Contour tries routes with more conditions first). With
// spec.service.hosts the HTTPProxy is a root (virtualhost.fqdn = the first host);
// without, a root HTTPProxy the team owns includes it.
//
// HTTPProxy's `routes` is an atomic list, so every apply replaces it whole: Sluice keeps
// the routes other tools wrote (any route not sending to its two Services, after its
// own) and the fields they added to Sluice's routes (copied onto each of Sluice's routes).

export const CONTOUR_API_VERSION = 'projectcontour.io/v1';

/** The route fields Sluice writes; any other field on one of its routes belongs to another tool. */
const SLUICE_ROUTE_FIELDS = new Set([
  'conditions',
  'services',
  'timeoutPolicy',
  'retryPolicy',
  'requestHeadersPolicy',
  'responseHeadersPolicy',
]);

type Service = { name?: string; weight?: number; mirror?: boolean };
type Route = { conditions?: JsonObject[]; services?: Service[] } & JsonObject;

function headersPolicy(
  ops: { set?: Record<string, string>; remove?: string[]; add?: Record<string, string> } | undefined,
  canary: Canary,
  field: string,
): JsonObject | undefined {
  if (!ops) return undefined;
  if (ops.add && Object.keys(ops.add).length) {
    throw new RouterConfigError(canaryRef(canary), `${field}.add`, 'Contour sets and removes headers only');
  }
  const policy: JsonObject = {};
  const set = Object.entries(ops.set ?? {}).map(([name, value]) => ({ name, value }));
  if (set.length) policy.set = set;
  if (ops.remove?.length) policy.remove = [...ops.remove];
  return Object.keys(policy).length ? policy : undefined;
}

/** What every route Sluice writes carries besides its conditions and services. */
function routeSettings(canary: Canary): JsonObject {
  const { timeout, retries, headers } = canary.spec.service;
  const settings: JsonObject = {};
  if (timeout) settings.timeoutPolicy = { response: timeout };
  if (retries) {
    settings.retryPolicy = {
      ...(retries.attempts !== undefined ? { count: retries.attempts } : {}),
      ...(retries.perTryTimeout ? { perTryTimeout: retries.perTryTimeout } : {}),
      ...(retries.retryOn ? { retryOn: retries.retryOn.split(',').map((on) => on.trim()) } : {}),
    };
  }
  const request = headersPolicy(headers?.request, canary, 'spec.service.headers.request');
  if (request) settings.requestHeadersPolicy = request;
  const response = headersPolicy(headers?.response, canary, 'spec.service.headers.response');
  if (response) settings.responseHeadersPolicy = response;
  return settings;
}

function services(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  const port = canary.spec.service.port;
  const list: JsonObject[] = [{ name: serviceName(canary, 'primary'), port, weight: routes.primaryWeight }];
  const canarySvc = serviceName(canary, 'canary');
  if (!routes.mirror || routes.canaryWeight > 0)
    list.push({ name: canarySvc, port, weight: routes.canaryWeight });
  if (routes.mirror) {
    const percent = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight;
    list.push({ name: canarySvc, port, mirror: true, ...(percent !== undefined ? { weight: percent } : {}) });
  }
  return list;
}

/** The routes Sluice wants: weighted (one per route match), or A/B then the default to the primary. */
export function contourRoutes(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  const service = canary.spec.service;
  const settings = routeSettings(canary);
  const route = (conditions: JsonObject[], backends: JsonObject[]): JsonObject => ({
    ...(conditions.length ? { conditions } : {}),
    services: backends,
    ...structuredClone(settings),
  });
  if (!routes.match) {
    const own = throwFirst(translateContourMatches(service.match, 'spec.service.match')).conditions;
    return (own.length ? own : [[]]).map((conditions) => route(conditions, services(canary, routes)));
  }
  const { ab, defaults } = throwFirst(contourAbConditions(canary.spec.analysis.match, service.match));
  const primaryOnly = [{ name: serviceName(canary, 'primary'), port: service.port, weight: 100 }];
  return [
    ...ab.map((conditions) => route(conditions, services(canary, routes))),
    ...defaults.map((conditions) => route(conditions, primaryOnly)),
  ];
}

function routesOf(object: JsonObject | undefined): Route[] {
  return ((object?.spec as { routes?: Route[] } | undefined)?.routes ?? []) as Route[];
}

function isSluiceRoute(route: Route, names: ReadonlySet<string>): boolean {
  return (route.services ?? []).some((service) => names.has(service.name ?? ''));
}

export function httpProxyObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const service = canary.spec.service;
  const names = new Set([serviceName(canary, 'primary'), serviceName(canary, 'canary')]);
  const foreignRoutes: JsonObject[] = [];
  const foreignFields: JsonObject = {};
  for (const route of routesOf(live)) {
    if (!isSluiceRoute(route, names)) {
      foreignRoutes.push(route);
      continue;
    }
    for (const [key, value] of Object.entries(route)) {
      if (!SLUICE_ROUTE_FIELDS.has(key) && !(key in foreignFields)) foreignFields[key] = value;
    }
  }
  const own = contourRoutes(canary, routes).map((route) => ({ ...structuredClone(foreignFields), ...route }));
  return {
    apiVersion: CONTOUR_API_VERSION,
    kind: 'HTTPProxy',
    metadata: apexObjectMetadata(canary, serviceName(canary, 'apex'), live),
    spec: {
      ...(service.hosts?.length ? { virtualhost: { fqdn: service.hosts[0] } } : {}),
      routes: [...own, ...foreignRoutes],
    },
  };
}

/** The routes a live HTTPProxy holds, or undefined when none of its routes sends to Sluice's Services. */
export function routesFromHttpProxy(canary: Canary, proxy: JsonObject): Routes | undefined {
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const own = routesOf(proxy).filter((route) => isSluiceRoute(route, new Set([primary, canarySvc])));
  if (!own.length) return undefined;
  const weighted = own.find((route) => (route.services ?? []).some((s) => s.name === canarySvc)) ?? own[0]!;
  const backends = weighted.services ?? [];
  const weightOf = (name: string) => backends.find((s) => s.name === name && !s.mirror)?.weight ?? 0;
  return {
    primaryWeight: weightOf(primary),
    canaryWeight: weightOf(canarySvc),
    mirror: backends.some((s) => s.name === canarySvc && s.mirror === true),
    // A/B: some of Sluice's routes (the defaults) send to the primary alone.
    match: own.length > 1 && own.some((route) => !(route.services ?? []).some((s) => s.name === canarySvc)),
  };
}

export function contourRouter(deps: RouterDeps): Router {
  return singleObjectRouter(deps, {
    kind: 'contour',
    ref: apexRef(CONTOUR_API_VERSION, 'HTTPProxy'),
    desired: httpProxyObject,
    read: routesFromHttpProxy,
  });
}
