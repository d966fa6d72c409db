// How the local traffic layer decides where a request goes, from the routing objects
// Sluice wrote: an Istio VirtualService (ordered http[] rules, first match wins) or Gateway
// API HTTPRoutes (most specific match wins across rules). Pure: the proxy in traffic.ts
// turns a decision into HTTP.

import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';
import { httpProxyApplies, routeHttpProxy, type HttpProxy } from './routing-contour.ts';
import { routeTraefikService, traefikServiceFor, type TraefikService } from './routing-traefik.ts';

export const CLUSTER_DOMAIN = 'svc.cluster.local';

/** The request as routing sees it; header names lower-case. */
export interface RouteRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  authority: string;
}

/** What a proxy stands for: requests to this Service (and these extra host names). */
export interface ProxyIdentity {
  namespace: string;
  service: string;
  /** Extra host names the proxy answers for, e.g. `podinfo.test` (Canary spec.service.hosts). */
  hosts: string[];
  /** Act as this Gateway: HTTPRoutes attached to it apply. */
  gateway?: { name: string; namespace: string };
}

export interface BackendRef {
  service: string;
  namespace: string;
  /** The Service port the route names (Contour's and Traefik's series carry it). */
  port?: number;
}

export interface HeaderOps {
  set: Record<string, string>;
  add: Record<string, string>;
  remove: string[];
}

export interface WeightedBackend {
  backend: BackendRef | undefined;
  weight: number;
  /** Why `backend` is undefined (an unsupported host or kind); the share of requests it gets fails. */
  invalid?: string;
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
}

export interface MirrorTarget {
  backend: BackendRef;
  /** 0–100. */
  percent: number;
}

export interface RouteSource {
  kind: 'VirtualService' | 'HTTPRoute' | 'HTTPProxy' | 'TraefikService' | 'Service';
  namespace: string;
  name: string;
  /** Index of the http[] rule / rules[] entry that matched. */
  rule: number;
}

export interface RouteDecision {
  source: RouteSource;
  backends: WeightedBackend[];
  mirrors: MirrorTarget[];
  /** The path to send upstream (after rewrite); undefined = unchanged. */
  path?: string;
  authority?: string;
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  timeoutMs?: number;
  /** The status when no backend can be chosen: Istio answers 503, Gateway API 500. */
  noBackendStatus: number;
}

export const emptyHeaderOps = (): HeaderOps => ({ set: {}, add: {}, remove: [] });

// ---------------------------------------------------------------------------------------
// Schemas: the parts of the objects routing reads. Loose, so fields it ignores pass.

const stringMatch = z.looseObject({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});
type StringMatch = z.infer<typeof stringMatch>;

const istioHeaderOps = z
  .looseObject({
    set: z.record(z.string(), z.string()).optional(),
    add: z.record(z.string(), z.string()).optional(),
    remove: z.array(z.string()).optional(),
  })
  .optional();
const istioHeaders = z.looseObject({ request: istioHeaderOps, response: istioHeaderOps }).optional();
const istioDestination = z.looseObject({
  host: z.string(),
  subset: z.string().optional(),
  port: z.looseObject({ number: z.number().optional() }).optional(),
});
const percentage = z.looseObject({ value: z.number().optional() }).optional();

/** What the traffic layer reads of a routing object's metadata (byAge orders objects by it). */
const routingObjectMetadata = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  creationTimestamp: z.string().optional(),
});

export const virtualServiceSchema = z.looseObject({
  metadata: routingObjectMetadata,
  spec: z.looseObject({
    hosts: z.array(z.string()).optional(),
    http: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          match: z
            .array(
              z.looseObject({
                uri: stringMatch.optional(),
                method: stringMatch.optional(),
                authority: stringMatch.optional(),
                scheme: stringMatch.optional(),
                headers: z.record(z.string(), stringMatch).optional(),
                withoutHeaders: z.record(z.string(), stringMatch).optional(),
                queryParams: z.record(z.string(), stringMatch).optional(),
                ignoreUriCase: z.boolean().optional(),
              }),
            )
            .optional(),
          route: z
            .array(
              z.looseObject({
                destination: istioDestination,
                weight: z.number().optional(),
                headers: istioHeaders,
              }),
            )
            .optional(),
          mirror: istioDestination.optional(),
          mirrorPercentage: percentage,
          mirrorPercent: z.number().optional(),
          mirrors: z.array(z.looseObject({ destination: istioDestination, percentage })).optional(),
          rewrite: z.looseObject({ uri: z.string().optional(), authority: z.string().optional() }).optional(),
          headers: istioHeaders,
          timeout: z.string().optional(),
        }),
      )
      .optional(),
  }),
});
export type VirtualService = z.infer<typeof virtualServiceSchema>;

const headerModifier = z
  .looseObject({
    set: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
    add: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
    remove: z.array(z.string()).optional(),
  })
  .optional();
const gatewayBackendRef = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
  port: z.number().optional(),
});
const gatewayFilter = z.looseObject({
  type: z.string(),
  requestHeaderModifier: headerModifier,
  responseHeaderModifier: headerModifier,
  requestMirror: z
    .looseObject({
      backendRef: gatewayBackendRef,
      percent: z.number().optional(),
      fraction: z.looseObject({ numerator: z.number(), denominator: z.number().optional() }).optional(),
    })
    .optional(),
  urlRewrite: z
    .looseObject({
      hostname: z.string().optional(),
      path: z
        .looseObject({
          type: z.string(),
          replaceFullPath: z.string().optional(),
          replacePrefixMatch: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
});
const gatewayValueMatch = z.looseObject({ type: z.string().optional(), name: z.string(), value: z.string() });
export const httpRouteMatchSchema = z.looseObject({
  path: z.looseObject({ type: z.string().optional(), value: z.string().optional() }).optional(),
  headers: z.array(gatewayValueMatch).optional(),
  queryParams: z.array(gatewayValueMatch).optional(),
  method: z.string().optional(),
});
type HttpRouteMatch = z.infer<typeof httpRouteMatchSchema>;

export const httpRouteSchema = z.looseObject({
  metadata: routingObjectMetadata,
  spec: z.looseObject({
    parentRefs: z
      .array(
        z.looseObject({
          group: z.string().optional(),
          kind: z.string().optional(),
          name: z.string(),
          namespace: z.string().optional(),
        }),
      )
      .optional(),
    hostnames: z.array(z.string()).optional(),
    rules: z
      .array(
        z.looseObject({
          matches: z.array(httpRouteMatchSchema).optional(),
          filters: z.array(gatewayFilter).optional(),
          backendRefs: z
            .array(
              gatewayBackendRef.extend({
                weight: z.number().optional(),
                filters: z.array(gatewayFilter).optional(),
              }),
            )
            .optional(),
          timeouts: z.looseObject({ request: z.string().optional() }).optional(),
        }),
      )
      .optional(),
  }),
});
export type HttpRoute = z.infer<typeof httpRouteSchema>;

// ---------------------------------------------------------------------------------------
// Shared helpers

const regexCache = new Map<string, RegExp | null>();

/** RE2-style full match (Envoy's safe_regex); an invalid pattern never matches. */
export function fullMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? 'i' : ''}:${pattern}`;
  let regex = regexCache.get(key);
  if (regex === undefined) {
    try {
      regex = new RegExp(`^(?:${pattern})$`, ignoreCase ? 'iu' : 'u');
    } catch {
      regex = null;
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, regex);
  }
  return regex?.test(value) ?? false;
}

/** Istio StringMatch; an empty match object only asks for presence. */
function stringMatches(match: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const norm = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  if (match.exact !== undefined) return norm(value) === norm(match.exact);
  if (match.prefix !== undefined) return norm(value).startsWith(norm(match.prefix));
  if (match.regex !== undefined) return fullMatch(match.regex, value, ignoreCase);
  return true;
}

/** `*.example.com` matches `a.example.com` (one or more labels); `*` matches anything. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return p === h;
}

function hostsIntersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

export function serviceFqdn(backend: BackendRef): string {
  return `${backend.service}.${backend.namespace}.${CLUSTER_DOMAIN}`;
}

/** The names a proxy's identity answers to, fully qualified. */
export function identityHosts(identity: ProxyIdentity): string[] {
  return [serviceFqdn({ service: identity.service, namespace: identity.namespace }), ...identity.hosts];
}

/** Picks one entry by weight (relative weights; zero-weight entries never). */
export function pickWeighted<T extends { weight: number }>(
  entries: readonly T[],
  random: () => number,
): T | undefined {
  const total = entries.reduce((sum, e) => sum + Math.max(0, e.weight), 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const entry of entries) {
    if (entry.weight <= 0) continue;
    point -= entry.weight;
    if (point < 0) return entry;
  }
  return entries.findLast((e) => e.weight > 0);
}

/** Applies header operations the way Envoy orders them: set, then add, then remove. */
export function applyHeaderOps(
  headers: Record<string, string>,
  ops: HeaderOps | undefined,
): Record<string, string> {
  if (!ops) return headers;
  const out = { ...headers };
  for (const [name, value] of Object.entries(ops.set)) out[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(ops.add)) {
    const key = name.toLowerCase();
    out[key] = out[key] !== undefined ? `${out[key]},${value}` : value;
  }
  for (const name of ops.remove) delete out[name.toLowerCase()];
  return out;
}

export function mergeHeaderOps(...all: (HeaderOps | undefined)[]): HeaderOps {
  const merged = emptyHeaderOps();
  for (const ops of all) {
    if (!ops) continue;
    Object.assign(merged.set, ops.set);
    Object.assign(merged.add, ops.add);
    merged.remove.push(...ops.remove);
  }
  return merged;
}

function byAge<T extends { metadata: { name: string; namespace: string; creationTimestamp?: string } }>(
  a: T,
  b: T,
): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Istio VirtualService

/**
 * A VirtualService destination host as a Kubernetes Service: short names are relative to
 * the VirtualService's namespace, `<svc>.<ns>.svc.cluster.local` is explicit; anything else
 * (ServiceEntry hosts) the local runtime cannot reach.
 */
export function parseIstioHost(host: string, namespace: string): BackendRef | undefined {
  if (!host.includes('.')) return { service: host, namespace };
  const suffix = `.${CLUSTER_DOMAIN}`;
  if (host.endsWith(suffix)) {
    const [service, ns, ...rest] = host.slice(0, -suffix.length).split('.');
    if (service && ns && rest.length === 0) return { service, namespace: ns };
  }
  return undefined;
}

function normaliseIstioHost(host: string, namespace: string): string {
  return host.includes('.') || host === '*' ? host : `${host}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** Does this VirtualService's `hosts` name the proxy's Service or one of its host names? */
export function virtualServiceApplies(vs: VirtualService, identity: ProxyIdentity): boolean {
  const wanted = identityHosts(identity);
  return (vs.spec.hosts ?? []).some((host) => {
    const normalised = normaliseIstioHost(host, vs.metadata.namespace);
    return wanted.some((name) => hostMatches(normalised, name));
  });
}

function istioHeaderOpsOf(ops: z.infer<typeof istioHeaderOps>): HeaderOps | undefined {
  if (!ops) return undefined;
  return { set: { ...ops.set }, add: { ...ops.add }, remove: [...(ops.remove ?? [])] };
}

type IstioMatch = NonNullable<NonNullable<VirtualService['spec']['http']>[number]['match']>[number];

function istioMatches(match: IstioMatch, request: RouteRequest): boolean {
  if (match.uri && !stringMatches(match.uri, request.path, match.ignoreUriCase)) return false;
  if (match.method && !stringMatches(match.method, request.method)) return false;
  if (match.authority && !stringMatches(match.authority, request.authority)) return false;
  if (match.scheme && !stringMatches(match.scheme, 'http')) return false;
  for (const [name, m] of Object.entries(match.headers ?? {})) {
    if (!stringMatches(m, request.headers[name.toLowerCase()])) return false;
  }
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    if (stringMatches(m, request.headers[name.toLowerCase()])) return false;
  }
  for (const [name, m] of Object.entries(match.queryParams ?? {})) {
    const value = request.query.get(name);
    if (!stringMatches(m, value ?? undefined)) return false;
  }
  return true;
}

function istioRewritePath(rewrite: string, match: IstioMatch | undefined, path: string): string {
  const prefix = match?.uri?.prefix;
  if (prefix !== undefined && path.startsWith(prefix)) {
    const rest = path.slice(prefix.length);
    // Istio joins the replacement and the rest without doubling the slash.
    return rewrite.endsWith('/') && rest.startsWith('/') ? rewrite + rest.slice(1) : rewrite + rest || '/';
  }
  return rewrite;
}

/**
 * Routes a request through a VirtualService the way Envoy does: the first http[] rule
 * whose match list is empty or has a matching entry wins; undefined when none matches
 * (Envoy answers 404 NR).
 */
export function routeVirtualService(vs: VirtualService, request: RouteRequest): RouteDecision | undefined {
  const ns = vs.metadata.namespace;
  for (const [index, rule] of (vs.spec.http ?? []).entries()) {
    const matches = rule.match ?? [];
    const matched = matches.length === 0 ? undefined : matches.find((m) => istioMatches(m, request));
    if (matches.length > 0 && !matched) continue;

    const destinations = rule.route ?? [];
    const backends: WeightedBackend[] = destinations.map((entry) => {
      const backend = parseIstioHost(entry.destination.host, ns);
      return {
        backend,
        // A lone destination takes all traffic whatever its weight says.
        weight: destinations.length === 1 ? 100 : (entry.weight ?? 0),
        ...(backend ? {} : { invalid: `host ${entry.destination.host} is not a Service of this cluster` }),
        requestHeaders: istioHeaderOpsOf(entry.headers?.request),
        responseHeaders: istioHeaderOpsOf(entry.headers?.response),
      };
    });

    const mirrors: MirrorTarget[] = [];
    if (rule.mirror) {
      const backend = parseIstioHost(rule.mirror.host, ns);
      const percent = rule.mirrorPercentage?.value ?? rule.mirrorPercent ?? 100;
      if (backend) mirrors.push({ backend, percent });
    }
    for (const mirror of rule.mirrors ?? []) {
      const backend = parseIstioHost(mirror.destination.host, ns);
      if (backend) mirrors.push({ backend, percent: mirror.percentage?.value ?? 100 });
    }

    const timeoutMs = rule.timeout ? parseDuration(rule.timeout) : undefined;
    return {
      source: { kind: 'VirtualService', namespace: ns, name: vs.metadata.name, rule: index },
      backends,
      mirrors,
      ...(rule.rewrite?.uri !== undefined
        ? { path: istioRewritePath(rule.rewrite.uri, matched, request.path) }
        : {}),
      ...(rule.rewrite?.authority ? { authority: rule.rewrite.authority } : {}),
      requestHeaders: istioHeaderOpsOf(rule.headers?.request) ?? emptyHeaderOps(),
      responseHeaders: istioHeaderOpsOf(rule.headers?.response) ?? emptyHeaderOps(),
      ...(timeoutMs ? { timeoutMs } : {}),
      noBackendStatus: 503,
    };
  }
  return undefined;
}

/** The VirtualService that governs the proxy's Service: the oldest one naming it, as Istio resolves conflicts. */
export function virtualServiceFor(
  all: readonly VirtualService[],
  identity: ProxyIdentity,
): VirtualService | undefined {
  return all.filter((vs) => virtualServiceApplies(vs, identity)).sort(byAge)[0];
}

// ---------------------------------------------------------------------------------------
// Gateway API HTTPRoute

const CORE_GROUPS = new Set(['', 'core']);
const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/**
 * Whether an HTTPRoute attaches to the proxy: a parentRef to the proxy's Service (GAMMA
 * mesh routing), or a parentRef to a Gateway where the route's hostnames name the proxy
 * (or, with no hostnames, its backends are the Service or its -primary/-canary). With an
 * explicit `identity.gateway`, routes attached to that Gateway apply.
 */
export function httpRouteApplies(route: HttpRoute, identity: ProxyIdentity): boolean {
  const routeNs = route.metadata.namespace;
  const hostnames = route.spec.hostnames ?? [];
  const wanted = identityHosts(identity);
  const hostnameMatch = hostnames.some((h) => wanted.some((w) => hostsIntersect(h, w)));
  const family = new Set([identity.service, `${identity.service}-primary`, `${identity.service}-canary`]);
  const referencesFamily = (route.spec.rules ?? []).some((rule) =>
    (rule.backendRefs ?? []).some(
      (ref) =>
        CORE_GROUPS.has(ref.group ?? '') &&
        (ref.kind ?? 'Service') === 'Service' &&
        (ref.namespace ?? routeNs) === identity.namespace &&
        family.has(ref.name),
    ),
  );
  return (route.spec.parentRefs ?? []).some((parent) => {
    const kind = parent.kind ?? 'Gateway';
    const group = parent.group ?? GATEWAY_GROUP;
    const parentNs = parent.namespace ?? routeNs;
    if (kind === 'Service' && CORE_GROUPS.has(group)) {
      return parent.name === identity.service && parentNs === identity.namespace;
    }
    if (kind !== 'Gateway' || group !== GATEWAY_GROUP) return false;
    if (identity.gateway) {
      const sameGateway = parent.name === identity.gateway.name && parentNs === identity.gateway.namespace;
      return sameGateway && (hostnames.length === 0 || hostnameMatch);
    }
    return hostnames.length > 0 ? hostnameMatch : referencesFamily;
  });
}

/** A path prefix compared by whole path elements: /foo matches /foo and /foo/bar, not /foobar. */
export function pathPrefixMatches(value: string, path: string): boolean {
  const prefix = value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value;
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

function gatewayPathMatches(match: HttpRouteMatch, path: string): boolean {
  const type = match.path?.type ?? 'PathPrefix';
  const value = match.path?.value ?? '/';
  if (type === 'Exact') return path === value;
  if (type === 'RegularExpression') return fullMatch(value, path);
  return pathPrefixMatches(value, path);
}

function gatewayValueMatches(
  type: string | undefined,
  expected: string,
  actual: string | null | undefined,
): boolean {
  if (actual === undefined || actual === null) return false;
  return (type ?? 'Exact') === 'RegularExpression' ? fullMatch(expected, actual) : actual === expected;
}

function httpRouteMatches(match: HttpRouteMatch, request: RouteRequest): boolean {
  if (!gatewayPathMatches(match, request.path)) return false;
  if (match.method && match.method.toUpperCase() !== request.method.toUpperCase()) return false;
  for (const header of match.headers ?? []) {
    if (!gatewayValueMatches(header.type, header.value, request.headers[header.name.toLowerCase()]))
      return false;
  }
  for (const param of match.queryParams ?? []) {
    if (!gatewayValueMatches(param.type, param.value, request.query.get(param.name))) return false;
  }
  return true;
}

/** Gateway API match precedence, highest first: exact path, longest prefix, method, most headers, most query params. */
function precedence(match: HttpRouteMatch): number[] {
  const type = match.path?.type ?? 'PathPrefix';
  const length = (match.path?.value ?? '/').length;
  return [
    type === 'Exact' ? 2 : type === 'PathPrefix' ? 1 : 0,
    type === 'PathPrefix' ? length : 0,
    match.method ? 1 : 0,
    match.headers?.length ?? 0,
    match.queryParams?.length ?? 0,
  ];
}

type GatewayFilter = z.infer<typeof gatewayFilter>;

function gatewayHeaderOps(
  filters: readonly GatewayFilter[] | undefined,
  type: string,
): HeaderOps | undefined {
  const ops = emptyHeaderOps();
  let any = false;
  for (const filter of filters ?? []) {
    if (filter.type !== type) continue;
    const modifier =
      type === 'RequestHeaderModifier' ? filter.requestHeaderModifier : filter.responseHeaderModifier;
    if (!modifier) continue;
    any = true;
    for (const h of modifier.set ?? []) ops.set[h.name] = h.value;
    for (const h of modifier.add ?? []) ops.add[h.name] = h.value;
    ops.remove.push(...(modifier.remove ?? []));
  }
  return any ? ops : undefined;
}

function gatewayBackend(ref: z.infer<typeof gatewayBackendRef>, routeNs: string): BackendRef | string {
  if (!CORE_GROUPS.has(ref.group ?? '') || (ref.kind ?? 'Service') !== 'Service') {
    return `backendRef ${ref.group ?? ''}/${ref.kind}/${ref.name} is not a Service`;
  }
  return { service: ref.name, namespace: ref.namespace ?? routeNs };
}

function gatewayRewritePath(
  filters: readonly GatewayFilter[] | undefined,
  match: HttpRouteMatch,
  path: string,
) {
  const rewrite = filters?.find((f) => f.type === 'URLRewrite')?.urlRewrite;
  if (!rewrite?.path) return { authority: rewrite?.hostname };
  if (rewrite.path.type === 'ReplaceFullPath')
    return { path: rewrite.path.replaceFullPath ?? '/', authority: rewrite.hostname };
  const prefix = (match.path?.value ?? '/').replace(/\/$/, '');
  const replacement = (rewrite.path.replacePrefixMatch ?? '/').replace(/\/$/, '');
  const rest = path.slice(prefix.length);
  return { path: `${replacement}${rest}` || '/', authority: rewrite.hostname };
}

/**
 * Routes a request through the HTTPRoutes attached to the proxy: among every rule match
 * of every route, the most specific one that matches wins (ties: oldest route, then rule
 * order); undefined when none matches (404).
 */
export function routeHttpRoutes(
  routes: readonly HttpRoute[],
  request: RouteRequest,
): RouteDecision | undefined {
  type Candidate = { route: HttpRoute; ruleIndex: number; match: HttpRouteMatch; order: number };
  const candidates: Candidate[] = [];
  let order = 0;
  for (const route of [...routes].sort(byAge)) {
    for (const [ruleIndex, rule] of (route.spec.rules ?? []).entries()) {
      const matches = rule.matches?.length ? rule.matches : [{ path: { type: 'PathPrefix', value: '/' } }];
      for (const match of matches) candidates.push({ route, ruleIndex, match, order: order++ });
    }
  }
  candidates.sort((a, b) => {
    const pa = precedence(a.match);
    const pb = precedence(b.match);
    for (let i = 0; i < pa.length; i += 1) {
      const diff = (pb[i] ?? 0) - (pa[i] ?? 0);
      if (diff !== 0) return diff;
    }
    return a.order - b.order;
  });
  const winner = candidates.find((c) => httpRouteMatches(c.match, request));
  if (!winner) return undefined;

  const { route, ruleIndex, match } = winner;
  const routeNs = route.metadata.namespace;
  const rule = route.spec.rules?.[ruleIndex];
  const filters = rule?.filters;
  const backends: WeightedBackend[] = (rule?.backendRefs ?? []).map((ref) => {
    const resolved = gatewayBackend(ref, routeNs);
    return {
      backend: typeof resolved === 'string' ? undefined : resolved,
      weight: ref.weight ?? 1,
      ...(typeof resolved === 'string' ? { invalid: resolved } : {}),
      requestHeaders: gatewayHeaderOps(ref.filters, 'RequestHeaderModifier'),
      responseHeaders: gatewayHeaderOps(ref.filters, 'ResponseHeaderModifier'),
    };
  });
  const mirrors: MirrorTarget[] = [];
  for (const filter of filters ?? []) {
    if (filter.type !== 'RequestMirror' || !filter.requestMirror) continue;
    const resolved = gatewayBackend(filter.requestMirror.backendRef, routeNs);
    if (typeof resolved === 'string') continue;
    const { percent, fraction } = filter.requestMirror;
    const share = fraction ? (fraction.numerator / (fraction.denominator ?? 100)) * 100 : (percent ?? 100);
    mirrors.push({ backend: resolved, percent: share });
  }
  const rewrite = gatewayRewritePath(filters, match, request.path);
  const timeoutMs = rule?.timeouts?.request ? parseDuration(rule.timeouts.request) : undefined;
  return {
    source: { kind: 'HTTPRoute', namespace: routeNs, name: route.metadata.name, rule: ruleIndex },
    backends,
    mirrors,
    ...(rewrite.path !== undefined ? { path: rewrite.path } : {}),
    ...(rewrite.authority ? { authority: rewrite.authority } : {}),
    requestHeaders: mergeHeaderOps(gatewayHeaderOps(filters, 'RequestHeaderModifier')),
    responseHeaders: mergeHeaderOps(gatewayHeaderOps(filters, 'ResponseHeaderModifier')),
    ...(timeoutMs ? { timeoutMs } : {}),
    // Spec: a rule whose backends are all invalid (or weigh 0) answers 500.
    noBackendStatus: 500,
  };
}

// ---------------------------------------------------------------------------------------

export interface RoutingObjects {
  virtualServices: readonly VirtualService[];
  httpRoutes: readonly HttpRoute[];
  httpProxies?: readonly HttpProxy[];
  traefikServices?: readonly TraefikService[];
}

export type RoutingResult =
  | { decision: RouteDecision }
  | { noRoute: { kind: 'VirtualService' | 'HTTPRoute' | 'HTTPProxy' | 'TraefikService'; name: string } };

/**
 * Decides a request for a proxy: its VirtualService if one names it, else the HTTPRoutes
 * attached to it, else plain Kubernetes Service load balancing (what a mesh does with no
 * routing rules).
 */
export function decide(
  identity: ProxyIdentity,
  objects: RoutingObjects,
  request: RouteRequest,
): RoutingResult {
  const vs = virtualServiceFor(objects.virtualServices, identity);
  if (vs) {
    const decision = routeVirtualService(vs, request);
    return decision ? { decision } : { noRoute: { kind: 'VirtualService', name: vs.metadata.name } };
  }
  const proxy = (objects.httpProxies ?? []).find((candidate) => httpProxyApplies(candidate, identity));
  if (proxy) {
    const decision = routeHttpProxy(proxy, request);
    return decision ? { decision } : { noRoute: { kind: 'HTTPProxy', name: proxy.metadata.name } };
  }
  const traefik = traefikServiceFor(objects.traefikServices ?? [], identity);
  if (traefik) return { decision: routeTraefikService(traefik, objects.traefikServices ?? []) };
  const routes = objects.httpRoutes.filter((route) => httpRouteApplies(route, identity));
  if (routes.length > 0) {
    const decision = routeHttpRoutes(routes, request);
    return decision
      ? { decision }
      : { noRoute: { kind: 'HTTPRoute', name: routes.map((r) => r.metadata.name).join(',') } };
  }
  const backend = { service: identity.service, namespace: identity.namespace };
  return {
    decision: {
      source: { kind: 'Service', namespace: identity.namespace, name: identity.service, rule: 0 },
      backends: [{ backend, weight: 1 }],
      mirrors: [],
      requestHeaders: emptyHeaderOps(),
      responseHeaders: emptyHeaderOps(),
      noBackendStatus: 503,
    },
  };
}
