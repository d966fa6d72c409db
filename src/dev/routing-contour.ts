import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';
import {
  emptyHeaderOps,
  fullMatch,
  identityHosts,
  pathPrefixMatches,
  type HeaderOps,
  type ProxyIdentity,
  type RouteDecision,
  type RouteRequest,
} from './routing.ts';

// How the local traffic layer routes by a Contour HTTPProxy, as Contour's Envoy would:
// the routes whose conditions all hold, the most specific first (an exact path, then a
// regular expression, then the longest prefix; then the one with more header and query
// conditions), weighted services, a mirror service, the response timeout and the
// set/remove header policies. Pure, like routing.ts.

const headerValues = z.looseObject({ name: z.string(), value: z.string() });
const headersPolicy = z
  .looseObject({ set: z.array(headerValues).optional(), remove: z.array(z.string()).optional() })
  .optional();

/** What a header or a query parameter condition may ask of the named value. */
const valueMatch = {
  name: z.string(),
  exact: z.string().optional(),
  regex: z.string().optional(),
  contains: z.string().optional(),
  present: z.boolean().optional(),
};

const condition = z.looseObject({
  prefix: z.string().optional(),
  exact: z.string().optional(),
  regex: z.string().optional(),
  header: z
    .looseObject({
      ...valueMatch,
      notpresent: z.boolean().optional(),
      notexact: z.string().optional(),
      notcontains: z.string().optional(),
    })
    .optional(),
  queryParameter: z
    .looseObject({ ...valueMatch, prefix: z.string().optional(), suffix: z.string().optional() })
    .optional(),
});
type Condition = z.infer<typeof condition>;

export const httpProxySchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string() }),
  spec: z.looseObject({
    virtualhost: z.looseObject({ fqdn: z.string() }).optional(),
    routes: z
      .array(
        z.looseObject({
          conditions: z.array(condition).optional(),
          services: z
            .array(
              z.looseObject({
                name: z.string(),
                port: z.number(),
                weight: z.number().optional(),
                mirror: z.boolean().optional(),
                requestHeadersPolicy: headersPolicy,
                responseHeadersPolicy: headersPolicy,
              }),
            )
            .optional(),
          timeoutPolicy: z.looseObject({ response: z.string().optional() }).optional(),
          requestHeadersPolicy: headersPolicy,
          responseHeadersPolicy: headersPolicy,
        }),
      )
      .optional(),
  }),
});
export type HttpProxy = z.infer<typeof httpProxySchema>;

/** An HTTPProxy applies to the proxy whose Service it is named after, or whose host is its virtualhost. */
export function httpProxyApplies(proxy: HttpProxy, identity: ProxyIdentity): boolean {
  if (proxy.metadata.namespace !== identity.namespace) return false;
  const fqdn = proxy.spec.virtualhost?.fqdn;
  return (
    proxy.metadata.name === identity.service || (fqdn !== undefined && identityHosts(identity).includes(fqdn))
  );
}

function conditionHolds(c: Condition, request: RouteRequest): boolean {
  if (c.prefix !== undefined) return pathPrefixMatches(c.prefix, request.path);
  if (c.exact !== undefined) return request.path === c.exact;
  if (c.regex !== undefined) return fullMatch(c.regex, request.path);
  if (c.header) {
    const h = c.header;
    const value = request.headers[h.name.toLowerCase()];
    if (h.notpresent) return value === undefined;
    if (h.present) return value !== undefined;
    if (h.notexact !== undefined) return value !== h.notexact;
    if (h.notcontains !== undefined) return value === undefined || !value.includes(h.notcontains);
    if (value === undefined) return false;
    if (h.exact !== undefined) return value === h.exact;
    if (h.regex !== undefined) return fullMatch(h.regex, value);
    if (h.contains !== undefined) return value.includes(h.contains);
    return true;
  }
  if (c.queryParameter) {
    const q = c.queryParameter;
    const value = request.query.get(q.name) ?? undefined;
    if (q.present) return value !== undefined;
    if (value === undefined) return false;
    if (q.exact !== undefined) return value === q.exact;
    if (q.prefix !== undefined) return value.startsWith(q.prefix);
    if (q.suffix !== undefined) return value.endsWith(q.suffix);
    if (q.regex !== undefined) return fullMatch(q.regex, value);
    if (q.contains !== undefined) return value.includes(q.contains);
  }
  return true;
}

/** Contour's order: exact path, regex path, longest prefix; then more header/query conditions. */
function specificity(conditions: readonly Condition[]): number[] {
  const path = conditions.find((c) => c.exact ?? c.regex ?? c.prefix);
  const kind = path?.exact !== undefined ? 3 : path?.regex !== undefined ? 2 : 1;
  const length = (path?.exact ?? path?.regex ?? path?.prefix ?? '/').length;
  return [kind, length, conditions.filter((c) => c.header ?? c.queryParameter).length];
}

function policy(ops: z.infer<typeof headersPolicy>): HeaderOps {
  const result = emptyHeaderOps();
  for (const { name, value } of ops?.set ?? []) result.set[name] = value;
  result.remove.push(...(ops?.remove ?? []));
  return result;
}

export function routeHttpProxy(proxy: HttpProxy, request: RouteRequest): RouteDecision | undefined {
  const namespace = proxy.metadata.namespace;
  const candidates = (proxy.spec.routes ?? [])
    .map((route, index) => ({ route, index, order: specificity(route.conditions ?? []) }))
    .filter(({ route }) => (route.conditions ?? []).every((c) => conditionHolds(c, request)))
    .sort((a, b) => {
      for (let i = 0; i < a.order.length; i++)
        if (a.order[i] !== b.order[i]) return b.order[i]! - a.order[i]!;
      return a.index - b.index;
    });
  const chosen = candidates[0];
  if (!chosen) return undefined;
  const { route, index } = chosen;
  const services = route.services ?? [];
  const weighted = services.filter((service) => !service.mirror);
  // Contour: without any weight, services share equally; with some, the others get none.
  const anyWeight = weighted.some((service) => service.weight !== undefined);
  const timeoutMs = route.timeoutPolicy?.response ? parseDuration(route.timeoutPolicy.response) : undefined;
  return {
    source: { kind: 'HTTPProxy', namespace, name: proxy.metadata.name, rule: index },
    backends: weighted.map((service) => ({
      backend: { service: service.name, namespace, port: service.port },
      weight: anyWeight ? (service.weight ?? 0) : 1,
      requestHeaders: policy(service.requestHeadersPolicy),
      responseHeaders: policy(service.responseHeadersPolicy),
    })),
    mirrors: services
      .filter((service) => service.mirror)
      .map((service) => ({
        backend: { service: service.name, namespace, port: service.port },
        percent: service.weight ?? 100,
      })),
    requestHeaders: policy(route.requestHeadersPolicy),
    responseHeaders: policy(route.responseHeadersPolicy),
    ...(timeoutMs ? { timeoutMs } : {}),
    noBackendStatus: 503,
  };
}
