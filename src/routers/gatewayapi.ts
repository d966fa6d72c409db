import { serviceNames, type Canary } from '../api/canary.ts';
import { parseDuration } from '../api/duration.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef } from '../kube/meta.ts';
import { applyIfChanged, getObject, isSubset, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { routesCapabilities } from './capabilities.ts';
import {
  gatewayMatches,
  grpcAbMatches,
  MATCH_EVERYTHING,
  mergeGatewayMatches,
  throwFirst,
  translateGrpcMatches,
} from './match.ts';
import { apexObjectMetadata, annotationsOf, releaseObject } from './owned.ts';
import { checkRoutes, PRIMARY_ONLY, RouterConfigError } from './router.ts';
import type { Router, RouterCapabilities, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { finalizeServices, reconcileServices, serviceName } from './services.ts';
import { cookieRegex, sessionCookie, setCookie } from './session.ts';
import { readRoutes } from './single-object.ts';

// Gateway API (gateway.networking.k8s.io/v1): an HTTPRoute `<svc>` attached to the
// Gateways in spec.service.gatewayRefs, with weighted backendRefs to `<svc>-primary` and
// `<svc>-canary`, header/query matches for A/B, a RequestMirror filter and timeouts.
//
// `rules` and each rule's `filters` are atomic lists in the Gateway API schema, so a
// server-side apply replaces them whole. Sluice therefore keeps, in every apply, what
// other tools put there: rules it did not write, and filters on its rules that it did not
// write (it records its own filters in an annotation to tell them apart).

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';
export const GATEWAY_CAPABILITIES: RouterCapabilities = routesCapabilities('gatewayapi');

/** Names of the rules Sluice writes. */
export const GATEWAY_RULES = {
  weighted: 'weighted',
  sticky: 'sticky',
  abMatch: 'ab-match',
  abDefault: 'ab-default',
} as const;
const SLUICE_RULE_NAMES = new Set<unknown>(Object.values(GATEWAY_RULES));

/** The rule filters Sluice wrote last, as JSON: a live filter not among them belongs to someone else. */
export const OWNED_FILTERS_ANNOTATION = 'sluice.dev/owned-filters';

/** A duration as Gateway API writes it (GEP-2257: `1h2m3s4ms`, no fractions). */
export function gatewayDuration(text: string, field: string, canary: string): string {
  const ms = parseDuration(text);
  if (ms === undefined) throw new RouterConfigError(canary, field, `"${text}" is not a duration`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.join('');
}

function headerList(map: Record<string, string> | undefined): JsonObject[] | undefined {
  const entries = Object.entries(map ?? {});
  return entries.length ? entries.map(([name, value]) => ({ name, value })) : undefined;
}

function headerModifier(
  ops: { add?: Record<string, string>; set?: Record<string, string>; remove?: string[] } | undefined,
  extraAdd: JsonObject[] = [],
): JsonObject | undefined {
  const add = [...(headerList(ops?.add) ?? []), ...extraAdd];
  const modifier: JsonObject = {};
  if (add.length) modifier.add = add;
  const set = headerList(ops?.set);
  if (set) modifier.set = set;
  if (ops?.remove?.length) modifier.remove = [...ops.remove];
  return Object.keys(modifier).length ? modifier : undefined;
}

/** The rule filters spec.service asks for, plus the mirror and a response header when given. */
export function specFilters(
  canary: Canary,
  options: { mirror?: JsonObject; responseAdd?: JsonObject[] } = {},
): JsonObject[] {
  const service = canary.spec.service;
  const filters: JsonObject[] = [];
  const request = headerModifier(service.headers?.request);
  if (request) filters.push({ type: 'RequestHeaderModifier', requestHeaderModifier: request });
  const response = headerModifier(service.headers?.response, options.responseAdd);
  if (response) filters.push({ type: 'ResponseHeaderModifier', responseHeaderModifier: response });
  if (service.rewrite && (service.rewrite.uri !== undefined || service.rewrite.authority !== undefined)) {
    const urlRewrite: JsonObject = {};
    if (service.rewrite.authority !== undefined) urlRewrite.hostname = service.rewrite.authority;
    if (service.rewrite.uri !== undefined) {
      const type = service.rewrite.type ?? 'ReplacePrefixMatch';
      if (type !== 'ReplacePrefixMatch' && type !== 'ReplaceFullPath') {
        throw new RouterConfigError(
          canaryRef(canary),
          'spec.service.rewrite.type',
          `expected ReplacePrefixMatch or ReplaceFullPath (got "${type}")`,
          ['ReplacePrefixMatch', 'ReplaceFullPath'],
        );
      }
      urlRewrite.path =
        type === 'ReplaceFullPath'
          ? { type, replaceFullPath: service.rewrite.uri }
          : { type: 'ReplacePrefixMatch', replacePrefixMatch: service.rewrite.uri };
    }
    filters.push({ type: 'URLRewrite', urlRewrite });
  }
  for (const mirror of service.mirror ?? []) {
    filters.push({ type: 'RequestMirror', requestMirror: structuredClone(mirror) });
  }
  if (options.mirror) filters.push(options.mirror);
  return filters;
}

function backendRef(canary: Canary, name: string, weight: number, filters?: JsonObject[]): JsonObject {
  return {
    group: '',
    kind: 'Service',
    name,
    port: canary.spec.service.port,
    weight,
    ...(filters?.length ? { filters } : {}),
  };
}

/** The primary and canary backends at the routes' weights (every weighted rule's pair). */
function weightedBackends(
  canary: Canary,
  routes: Pick<Routes, 'primaryWeight' | 'canaryWeight'>,
): JsonObject[] {
  return [
    backendRef(canary, serviceName(canary, 'primary'), routes.primaryWeight),
    backendRef(canary, serviceName(canary, 'canary'), routes.canaryWeight),
  ];
}

function parentRefs(canary: Canary): JsonObject[] {
  const refs = canary.spec.service.gatewayRefs ?? [];
  if (!refs.length) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.service.gatewayRefs',
      `is required by provider ${canary.spec.provider ?? 'gatewayapi'}: list the parents the HTTPRoute attaches to`,
    );
  }
  return refs.map((ref) => {
    const parent: JsonObject = { group: ref.group, kind: ref.kind, name: ref.name };
    if (ref.namespace !== undefined) parent.namespace = ref.namespace;
    if (ref.sectionName !== undefined) parent.sectionName = ref.sectionName;
    if (ref.port !== undefined) parent.port = ref.port;
    return parent;
  });
}

/** The rules Sluice wants for these routes, without other tools' filters. */
export function gatewayRules(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  const service = canary.spec.service;
  const ref = canaryRef(canary);
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const serviceMatches = gatewayMatches(service.match, 'spec.service.match');
  const matches = serviceMatches.length ? serviceMatches : [structuredClone(MATCH_EVERYTHING)];
  const timeouts = service.timeout
    ? { request: gatewayDuration(service.timeout, 'spec.service.timeout', ref) }
    : undefined;
  const mirrorWeight = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight;
  const mirror = routes.mirror
    ? {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: canarySvc, port: service.port },
          ...(mirrorWeight !== undefined ? { percent: mirrorWeight } : {}),
        },
      }
    : undefined;
  const rule = (
    name: string,
    ruleMatches: JsonObject[],
    backendRefs: JsonObject[],
    filters: JsonObject[],
  ): JsonObject => ({
    name,
    matches: ruleMatches,
    ...(filters.length ? { filters } : {}),
    backendRefs,
    ...(timeouts ? { timeouts } : {}),
  });
  /** The rule that splits by the routes' weights (and mirrors, when asked). */
  const weightedRule = (name: string, ruleMatches: JsonObject[]) =>
    rule(name, ruleMatches, weightedBackends(canary, routes), specFilters(canary, { mirror }));

  if (routes.match) {
    // Within the route's own matches (or match-everything), so every rule keeps a path.
    const abMatches = mergeGatewayMatches(
      gatewayMatches(canary.spec.analysis.match, 'spec.analysis.match'),
      matches,
    );
    return [
      weightedRule(GATEWAY_RULES.abMatch, abMatches),
      rule(GATEWAY_RULES.abDefault, matches, [backendRef(canary, primary, 100)], specFilters(canary)),
    ];
  }
  const cookie = sessionCookie(canary);
  if (!cookie) {
    return [weightedRule(GATEWAY_RULES.weighted, matches)];
  }
  const cookieMatch = [
    { headers: [{ type: 'RegularExpression', name: 'Cookie', value: cookieRegex(cookie) }] },
  ];
  const stickyMatches = mergeGatewayMatches(cookieMatch, matches);
  if (routes.canaryWeight > 0) {
    const setCanaryCookie = [
      {
        type: 'ResponseHeaderModifier',
        responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: setCookie(cookie) }] },
      },
    ];
    return [
      rule(
        GATEWAY_RULES.sticky,
        stickyMatches,
        [backendRef(canary, primary, 0), backendRef(canary, canarySvc, 100)],
        specFilters(canary),
      ),
      rule(
        GATEWAY_RULES.weighted,
        matches,
        [
          backendRef(canary, primary, routes.primaryWeight),
          backendRef(canary, canarySvc, routes.canaryWeight, setCanaryCookie),
        ],
        specFilters(canary, { mirror }),
      ),
    ];
  }
  const expire = [{ name: 'Set-Cookie', value: setCookie(cookie, -1) }];
  return [
    rule(
      GATEWAY_RULES.sticky,
      stickyMatches,
      [backendRef(canary, primary, routes.primaryWeight), backendRef(canary, canarySvc, routes.canaryWeight)],
      specFilters(canary, { responseAdd: expire }),
    ),
    rule(
      GATEWAY_RULES.weighted,
      matches,
      [backendRef(canary, primary, routes.primaryWeight), backendRef(canary, canarySvc, routes.canaryWeight)],
      specFilters(canary, { mirror }),
    ),
  ];
}

type Rule = { name?: string; filters?: JsonObject[]; backendRefs?: { name?: string; weight?: number }[] };

function rulesOf(object: JsonObject | undefined): Rule[] {
  return (object?.spec as { rules?: Rule[] } | undefined)?.rules ?? [];
}

function isSluiceRule(rule: Rule, services: ReadonlySet<string>): boolean {
  return (
    SLUICE_RULE_NAMES.has(rule.name) || (rule.backendRefs ?? []).some((ref) => services.has(ref.name ?? ''))
  );
}

function ownedFilters(live: JsonObject | undefined): JsonObject[] {
  const recorded = annotationsOf(live)[OWNED_FILTERS_ANNOTATION];
  if (!recorded) return [];
  try {
    const parsed: unknown = JSON.parse(recorded);
    return Array.isArray(parsed) ? (parsed as JsonObject[]) : [];
  } catch {
    return [];
  }
}

/**
 * What other tools added to the live HTTPRoute: rules Sluice did not write, and filters
 * on Sluice's rules that Sluice did not write (neither recorded as written nor wanted now).
 */
export function foreignItems(
  canary: Canary,
  live: JsonObject | undefined,
  wanted: readonly JsonObject[],
): { rules: JsonObject[]; filters: JsonObject[] } {
  const services = new Set([serviceName(canary, 'primary'), serviceName(canary, 'canary')]);
  const mine = [...ownedFilters(live), ...wanted];
  const rules: JsonObject[] = [];
  const filters: JsonObject[] = [];
  for (const rule of rulesOf(live)) {
    if (!isSluiceRule(rule, services)) {
      rules.push(rule as JsonObject);
      continue;
    }
    for (const filter of rule.filters ?? []) {
      if (mine.some((own) => isSubset(own, filter))) continue;
      if (filters.some((kept) => isSubset(kept, filter) && isSubset(filter, kept))) continue;
      filters.push(filter);
    }
  }
  return { rules, filters };
}

export function httpRouteObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const service = canary.spec.service;
  const kind = gatewayRouteKind(canary);
  const rules =
    kind === 'GRPCRoute'
      ? grpcRules(canary, routes)
      : kind === 'TCPRoute'
        ? tcpRules(canary, routes)
        : gatewayRules(canary, routes);
  const sluiceFilters = rules.flatMap((rule) => (rule.filters as JsonObject[] | undefined) ?? []);
  const foreign = foreignItems(canary, live, sluiceFilters);
  for (const rule of rules) {
    if (foreign.filters.length)
      rule.filters = [
        ...((rule.filters as JsonObject[] | undefined) ?? []),
        ...structuredClone(foreign.filters),
      ];
  }
  const unique = sluiceFilters.filter(
    (filter, i) =>
      sluiceFilters.findIndex((other) => isSubset(other, filter) && isSubset(filter, other)) === i,
  );
  return {
    apiVersion: GATEWAY_API_VERSION,
    kind,
    metadata: apexObjectMetadata(canary, serviceName(canary, 'apex'), live, {
      annotations: { [OWNED_FILTERS_ANNOTATION]: JSON.stringify(unique) },
    }),
    spec: {
      parentRefs: parentRefs(canary),
      ...(service.hosts?.length && kind !== 'TCPRoute' ? { hostnames: [...service.hosts] } : {}),
      rules: [...rules, ...foreign.rules],
    },
  };
}

/** The route kind spec.service.protocol asks for. */
export function gatewayRouteKind(canary: Canary): 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' {
  const protocol = canary.spec.service.protocol ?? 'http';
  return protocol === 'grpc' ? 'GRPCRoute' : protocol === 'tcp' ? 'TCPRoute' : 'HTTPRoute';
}

/** GRPCRoute rules: as the HTTPRoute's, with gRPC matches and without timeouts or rewrites. */
export function grpcRules(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  const service = canary.spec.service;
  const mirrorWeight = routes.mirrorWeight ?? canary.spec.analysis.mirrorWeight;
  const mirror = routes.mirror
    ? {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: serviceName(canary, 'canary'), port: service.port },
          ...(mirrorWeight !== undefined ? { percent: mirrorWeight } : {}),
        },
      }
    : undefined;
  const rule = (name: string, matches: JsonObject[], backendRefs: JsonObject[], filters: JsonObject[]) => ({
    name,
    ...(matches.length ? { matches } : {}),
    ...(filters.length ? { filters } : {}),
    backendRefs,
  });
  if (!routes.match) {
    const own = throwFirst(translateGrpcMatches(service.match, 'spec.service.match')).matches;
    return [
      rule(GATEWAY_RULES.weighted, own, weightedBackends(canary, routes), specFilters(canary, { mirror })),
    ];
  }
  const { ab, defaults } = throwFirst(grpcAbMatches(canary.spec.analysis.match, service.match));
  return [
    rule(GATEWAY_RULES.abMatch, ab, weightedBackends(canary, routes), specFilters(canary, { mirror })),
    rule(
      GATEWAY_RULES.abDefault,
      defaults,
      [backendRef(canary, serviceName(canary, 'primary'), 100)],
      specFilters(canary),
    ),
  ];
}

/** The TCPRoute's one rule: weights, nothing else. */
export function tcpRules(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  return [
    {
      name: GATEWAY_RULES.weighted,
      backendRefs: weightedBackends(canary, routes),
    },
  ];
}

/** The routes a live HTTPRoute holds, or undefined when Sluice's rule is not there. */
export function routesFromHttpRoute(canary: Canary, route: JsonObject): Routes | undefined {
  const rules = rulesOf(route);
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  const abMatch = rules.find((rule) => rule.name === GATEWAY_RULES.abMatch);
  const weighted = abMatch ?? rules.find((rule) => rule.name === GATEWAY_RULES.weighted);
  if (!weighted) return undefined;
  const refs = weighted.backendRefs ?? [];
  // An absent weight is 1 in Gateway API.
  const weightOf = (name: string) => {
    const ref = refs.find((candidate) => candidate.name === name);
    return ref ? (ref.weight ?? 1) : 0;
  };
  const mirror = (weighted.filters ?? []).some((filter) => {
    const mirrorRef = (filter.requestMirror as { backendRef?: { name?: string } } | undefined)?.backendRef;
    return filter.type === 'RequestMirror' && mirrorRef?.name === canarySvc;
  });
  return {
    primaryWeight: weightOf(primary),
    canaryWeight: weightOf(canarySvc),
    mirror,
    match: abMatch !== undefined,
  };
}

/** Which provider writes the HTTPRoute: plain Gateway API, or Gloo Gateway and Linkerd through it. */
export type GatewayApiKind = 'gatewayapi' | 'gloo' | 'linkerd';

/**
 * A route attached to Services (Gateway API's mesh binding) applies to the port its
 * parentRef names, so each other port of the Service gets a route of its own, `<svc>-<port>`,
 * with the same rules and weights. (A Gateway's listeners decide its ports: one route.)
 */
export function perPortRoutes(
  canary: Canary,
  routes: SetRoutesOptions,
  ports: readonly number[],
  live: (name: string) => JsonObject | undefined,
): DesiredObject[] {
  const refs = canary.spec.service.gatewayRefs ?? [];
  const services =
    refs.length > 0 &&
    refs.every((ref) => ref.kind === 'Service' && (ref.group === '' || ref.group === 'core'));
  if (!services) return [];
  return ports
    .filter((port) => port !== canary.spec.service.port)
    .map((port) => {
      const name = `${serviceName(canary, 'apex')}-${port}`;
      const forPort: Canary = {
        ...canary,
        spec: {
          ...canary.spec,
          service: { ...canary.spec.service, port, gatewayRefs: refs.map((ref) => ({ ...ref, port })) },
        },
      };
      const object = httpRouteObject(forPort, routes, live(name));
      return { ...object, metadata: { ...object.metadata, name } };
    });
}

export function gatewayApiRouter(deps: RouterDeps, kind: GatewayApiKind = 'gatewayapi'): Router {
  const capabilities = kind === 'gatewayapi' ? GATEWAY_CAPABILITIES : routesCapabilities(kind);
  const routeRef = (canary: Canary): ObjectRef => ({
    apiVersion: GATEWAY_API_VERSION,
    kind: gatewayRouteKind(canary),
    metadata: { name: serviceName(canary, 'apex'), namespace: canaryNamespace(canary) },
  });
  const describeRoute = (canary: Canary) =>
    `${gatewayRouteKind(canary)} ${canaryNamespace(canary)}/${serviceName(canary, 'apex')}`;

  async function applyRoute(
    canary: Canary,
    routes: SetRoutesOptions,
    live: JsonObject | undefined,
  ): Promise<void> {
    await applyIfChanged(deps.kube, httpRouteObject(canary, routes, live), live);
    const current = new Map<string, JsonObject | undefined>();
    for (const ref of await portRefs(canary)) current.set(ref.metadata.name, await getObject(deps.kube, ref));
    const ports = Object.values((await deps.targetPods(canary)).ports);
    for (const object of perPortRoutes(canary, routes, ports, (name) => current.get(name))) {
      await applyIfChanged(deps.kube, object, current.get(object.metadata.name));
    }
  }

  /** The per-port routes this Canary has (see perPortRoutes), as references. */
  async function portRefs(canary: Canary): Promise<ObjectRef[]> {
    const ports = Object.values((await deps.targetPods(canary)).ports);
    return perPortRoutes(canary, PRIMARY_ONLY, ports, () => undefined).map((object) => ({
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: { name: object.metadata.name, namespace: canaryNamespace(canary) },
    }));
  }

  return {
    provider: kind,
    capabilities,

    async reconcile(canary) {
      await reconcileServices(deps, canary, await deps.targetPods(canary));
      const live = await getObject(deps.kube, routeRef(canary));
      const current = live ? routesFromHttpRoute(canary, live) : undefined;
      const routes =
        current && current.primaryWeight + current.canaryWeight === 100
          ? { ...current, match: current.match && (canary.spec.analysis.match?.length ?? 0) > 0 }
          : PRIMARY_ONLY;
      await applyRoute(canary, routes, live);
    },

    async setRoutes(canary, routes) {
      checkRoutes(canary, kind, capabilities, routes);
      await applyRoute(canary, routes, await getObject(deps.kube, routeRef(canary)));
    },

    getRoutes: (canary) =>
      readRoutes(
        deps,
        canary,
        routeRef(canary),
        (live) => routesFromHttpRoute(canary, live),
        describeRoute(canary),
      ),

    async finalize(canary) {
      await releaseObject(deps.kube, routeRef(canary));
      for (const ref of await portRefs(canary)) await releaseObject(deps.kube, ref);
      await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
