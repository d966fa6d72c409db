import type { Canary, CanarySpec } from '../api/canary.ts';
import { parseDuration } from '../api/duration.ts';
import {
  DEFAULT_PROVIDER,
  parseProvider,
  providerContext,
  providerName,
  unsupportedProviderMessage,
  type RouterKind,
} from '../api/providers.ts';
import type { ValidationIssue } from '../api/validate.ts';
import {
  combineGatewayMatches,
  combineMatches,
  contourAbConditions,
  istioMatchIssues,
  MATCH_EVERYTHING,
  translateGatewayMatches,
  grpcAbMatches,
  translateApisixMatches,
  translateGrpcMatches,
  translateContourMatches,
  translateNginxMatches,
  type MatchIssue,
} from './match.ts';
import type { RouterCapabilities } from './router.ts';

// What each provider can route, as one table: every routing feature a Canary's service
// and analysis blocks can ask for, against every router. checkCapabilities reads a spec
// against it before anything is written; the routers' runtime capabilities, the support
// matrix in docs/routing.md (scripts/gen-docs.ts) and the unit tests all come from it.

/** The condition reason for a spec its provider cannot route (Stalled=True). */
export const UNSUPPORTED_BY_PROVIDER = 'UnsupportedByProvider';

/** A routing feature a Canary can ask for, and the fields that ask for it. */
export interface RoutingFeature {
  /** Column title in the docs. */
  title: string;
  /** What the provider would have to do: "cannot <verb>". */
  verb: string;
  /** The fields that ask for it, as the docs name them. */
  fields: readonly string[];
  /** The fields of this Canary that ask for it (none: the spec does not). */
  asked(canary: Canary): string[];
}

/** A field of the spec, as the docs and the issues name it. */
type SpecField =
  | `spec.${keyof CanarySpec & string}`
  | `spec.service.${keyof CanarySpec['service'] & string}`
  | `spec.analysis.${keyof CanarySpec['analysis'] & string}`;

function valueAt(canary: Canary, field: SpecField): unknown {
  let at: unknown = canary;
  for (const key of field.split('.'))
    at = at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  return at;
}

/** The fields of `canary` that are set (an empty list is not). */
const present = (canary: Canary, fields: readonly SpecField[]): string[] =>
  fields.filter((field) => {
    const value = valueAt(canary, field);
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
  });

/** A feature that any of `fields` asks for by being set. */
const askedBySetting = (title: string, verb: string, ...fields: SpecField[]): RoutingFeature => ({
  title,
  verb,
  fields,
  asked: (canary) => present(canary, fields),
});

export const ROUTING_FEATURES = {
  weights: askedBySetting(
    'Weights',
    'split traffic by weight',
    'spec.analysis.stepWeight',
    'spec.analysis.stepWeights',
    'spec.analysis.maxWeight',
    'spec.analysis.stepWeightPromotion',
  ),
  steps: askedBySetting('Steps', 'follow explicit steps', 'spec.analysis.steps'),
  abMatch: askedBySetting('A/B match', 'route by request match (A/B testing)', 'spec.analysis.match'),
  mirror: {
    title: 'Mirror',
    verb: 'mirror traffic to the canary',
    fields: ['spec.analysis.mirror', 'spec.analysis.mirrorWeight'],
    asked: (canary) =>
      canary.spec.analysis.mirror
        ? present(canary, ['spec.analysis.mirror', 'spec.analysis.mirrorWeight'])
        : [],
  },
  sessionAffinity: askedBySetting(
    'Session affinity',
    'keep users on the canary by cookie',
    'spec.analysis.sessionAffinity',
  ),
  routeMatch: askedBySetting('Route match', 'limit the route to matching requests', 'spec.service.match'),
  cors: askedBySetting('CORS', 'apply a CORS policy', 'spec.service.corsPolicy'),
  retries: askedBySetting('Retries', 'retry requests', 'spec.service.retries'),
  timeout: askedBySetting('Timeout', 'time requests out', 'spec.service.timeout'),
  rewrite: askedBySetting('Rewrite', 'rewrite the path or host', 'spec.service.rewrite'),
  headers: askedBySetting('Headers', 'change request or response headers', 'spec.service.headers'),
  requestMirrors: askedBySetting(
    'Request mirrors',
    'mirror requests to other Services',
    'spec.service.mirror',
  ),
  hosts: askedBySetting('Hosts', 'route by host name', 'spec.service.hosts'),
  gateways: askedBySetting('Istio gateways', 'bind the route to Istio gateways', 'spec.service.gateways'),
  gatewayRefs: askedBySetting(
    'Gateway API parents',
    'attach the route to Gateway API Gateways',
    'spec.service.gatewayRefs',
  ),
  delegation: {
    title: 'Delegation',
    verb: 'write a delegate VirtualService',
    fields: ['spec.service.delegation'],
    asked: ({ spec }) => (spec.service.delegation ? ['spec.service.delegation'] : []),
  },
  trafficPolicy: askedBySetting(
    'Traffic policy',
    'apply a DestinationRule traffic policy',
    'spec.service.trafficPolicy',
  ),
  ingressRef: askedBySetting('Ingress', 'route through an Ingress', 'spec.ingressRef'),
  protocol: {
    title: 'gRPC / TCP routes',
    verb: 'write a gRPC or TCP route',
    fields: ['spec.service.protocol'],
    asked: ({ spec }) =>
      spec.service.protocol !== undefined && spec.service.protocol !== 'http'
        ? ['spec.service.protocol']
        : [],
  },
  routeRef: askedBySetting('APISIX route', 'route through an ApisixRoute', 'spec.routeRef'),
} as const satisfies Record<string, RoutingFeature>;

export type RoutingFeatureName = keyof typeof ROUTING_FEATURES;
export const ROUTING_FEATURE_NAMES = Object.keys(ROUTING_FEATURES) as RoutingFeatureName[];

/** A check of what a provider takes of a feature it has; returns what it cannot express. */
type SupportCheck = (canary: Canary) => MatchIssue[];

export type Support =
  /** The provider expresses the feature (a check, when present, refuses what it cannot). */
  | { level: 'yes'; note?: string; check?: SupportCheck }
  /** The provider expresses part of it: `note` says which part, `check` refuses the rest. */
  | { level: 'partial'; note: string; check: SupportCheck }
  /** The provider cannot route without it. */
  | { level: 'required'; why: string; check?: SupportCheck }
  | { level: 'no'; why?: string };

const yes = (check?: SupportCheck, note?: string): Support => ({
  level: 'yes',
  ...(check ? { check } : {}),
  ...(note ? { note } : {}),
});
const no = (why?: string): Support => (why ? { level: 'no', why } : { level: 'no' });

// ---- the checks the table refers to --------------------------------------------------

function durationCheck(canary: Canary): MatchIssue[] {
  const timeout = canary.spec.service.timeout;
  if (timeout === undefined || parseDuration(timeout) !== undefined) return [];
  return [{ path: 'spec.service.timeout', message: `"${timeout}" is not a duration such as 30s or 1m30s` }];
}

function istioMatchCheck(canary: Canary): MatchIssue[] {
  const { analysis, service } = canary.spec;
  return [
    ...istioMatchIssues(analysis.match, 'spec.analysis.match'),
    ...combineMatches(analysis.match ?? [], service.match).issues,
  ];
}

function istioRouteMatchCheck(canary: Canary): MatchIssue[] {
  return istioMatchIssues(canary.spec.service.match, 'spec.service.match');
}

/** Session affinity puts a Cookie condition within each route condition: it must not conflict. */
function cookieWithinRouteCheck(canary: Canary): MatchIssue[] {
  const cookie = [{ headers: { Cookie: { regex: '.*' } } }];
  return combineMatches(cookie, canary.spec.service.match).issues.map((issue) => ({
    path: 'spec.analysis.sessionAffinity',
    message: `adds a Cookie condition to each of spec.service.match, which ${issue.message.replace(/^conflicts with \S+: /, 'already has one: ')}`,
  }));
}

function istioRewriteCheck(canary: Canary): MatchIssue[] {
  const type = canary.spec.service.rewrite?.type;
  if (type === undefined) return [];
  return [
    {
      path: 'spec.service.rewrite.type',
      message: `is Gateway API's; Istio replaces the matched prefix (or the whole path of an exact match) and takes no type (got "${type}")`,
    },
  ];
}

function delegationCheck(canary: Canary): MatchIssue[] {
  const { delegation, hosts, gateways } = canary.spec.service;
  if (!delegation || !(hosts?.length || gateways?.length)) return [];
  return [
    {
      path: 'spec.service.delegation',
      message:
        'a delegate VirtualService has no hosts and no gateways: remove spec.service.hosts and spec.service.gateways',
    },
  ];
}

/** The matches of each rule Sluice may write to the HTTPRoute: weighted, A/B, sticky. */
function gatewayRuleMatches(canary: Canary): {
  issues: MatchIssue[];
  rules: { name: string; matches: unknown[] }[];
} {
  const { analysis, service } = canary.spec;
  const route = translateGatewayMatches(service.match, 'spec.service.match');
  const routeMatches = route.matches.length ? route.matches : [MATCH_EVERYTHING];
  const issues = [...route.issues];
  const rules = [{ name: 'weighted', matches: routeMatches as unknown[] }];
  if (analysis.match?.length) {
    const ab = translateGatewayMatches(analysis.match, 'spec.analysis.match');
    const combined = combineGatewayMatches(ab.matches, routeMatches);
    issues.push(...ab.issues, ...combined.issues);
    rules.push({ name: 'ab-match', matches: combined.matches });
  }
  if (analysis.sessionAffinity) {
    const cookie = [{ headers: [{ name: 'Cookie', type: 'RegularExpression', value: '.*' }] }];
    rules.push({ name: 'sticky', matches: combineGatewayMatches(cookie, routeMatches).matches });
  }
  return { issues, rules };
}

function gatewayAbMatchCheck(canary: Canary): MatchIssue[] {
  return gatewayRuleMatches(canary).issues.filter((issue) => !issue.path.startsWith('spec.service.match'));
}

function gatewayRouteMatchCheck(canary: Canary): MatchIssue[] {
  return translateGatewayMatches(canary.spec.service.match, 'spec.service.match').issues;
}

/** What a router's header modifier takes: the sides and the operations it knows. */
function headersCheck(router: string, operations: readonly string[], takes: string): SupportCheck {
  return (canary) => {
    const issues: MatchIssue[] = [];
    const headers = (canary.spec.service.headers ?? {}) as Record<string, unknown>;
    for (const [side, asked] of Object.entries(headers)) {
      if (side !== 'request' && side !== 'response') {
        issues.push({
          path: `spec.service.headers.${side}`,
          message: `${router} changes request and response headers only`,
        });
        continue;
      }
      for (const key of Object.keys((asked ?? {}) as object)) {
        if (!operations.includes(key))
          issues.push({ path: `spec.service.headers.${side}.${key}`, message: takes });
      }
    }
    return issues;
  };
}

const gatewayHeadersCheck = headersCheck(
  'Gateway API',
  ['add', 'set', 'remove'],
  "Gateway API's header modifier takes add, set, remove only",
);

function gatewayRewriteCheck(canary: Canary): MatchIssue[] {
  const rewrite = canary.spec.service.rewrite;
  if (!rewrite) return [];
  const issues: MatchIssue[] = [];
  for (const key of Object.keys(rewrite)) {
    if (!['uri', 'authority', 'type'].includes(key))
      issues.push({
        path: `spec.service.rewrite.${key}`,
        message: "Gateway API's URLRewrite takes uri, authority and type only",
      });
  }
  const type = rewrite.type ?? 'ReplacePrefixMatch';
  if (type !== 'ReplacePrefixMatch' && type !== 'ReplaceFullPath') {
    issues.push({
      path: 'spec.service.rewrite.type',
      message: `expected ReplacePrefixMatch or ReplaceFullPath (got "${type}")`,
    });
  } else if (rewrite.uri !== undefined && type === 'ReplacePrefixMatch') {
    // Gateway API's own rule: a prefix is replaced only in a rule with exactly one PathPrefix match.
    for (const rule of gatewayRuleMatches(canary).rules) {
      const [first] = rule.matches as { path?: { type?: string } }[];
      if (rule.matches.length !== 1 || first?.path?.type !== 'PathPrefix') {
        issues.push({
          path: 'spec.service.rewrite.uri',
          message: `replaces a matched prefix, which Gateway API allows only in a rule with exactly one PathPrefix match; the ${rule.name} rule would have ${rule.matches.length} (use type ReplaceFullPath, or one spec.service.match with uri.prefix)`,
        });
        break;
      }
    }
  }
  return issues;
}

function smiHostsCheck(canary: Canary): MatchIssue[] {
  const hosts = canary.spec.service.hosts ?? [];
  if (hosts.length <= 1) return [];
  return [
    {
      path: 'spec.service.hosts[1]',
      message: 'a TrafficSplit has one root service (spec.service.hosts[0]); list one host only',
    },
  ];
}

function nginxMatchCheck(canary: Canary): MatchIssue[] {
  return translateNginxMatches(canary.spec.analysis.match, 'spec.analysis.match', 'nginx').issues;
}

/** Contour: each A/B match becomes a route of its own, which must differ from the default routes. */
function contourMatchCheck(canary: Canary): MatchIssue[] {
  return contourAbConditions(canary.spec.analysis.match, canary.spec.service.match).issues;
}

function contourRouteMatchCheck(canary: Canary): MatchIssue[] {
  return translateContourMatches(canary.spec.service.match, 'spec.service.match').issues;
}

function contourMirrorCheck(canary: Canary): MatchIssue[] {
  if (canary.spec.analysis.mirrorWeight !== 0) return [];
  return [
    {
      path: 'spec.analysis.mirrorWeight',
      message: 'Contour reads a mirror weight of 0 as 100 %: give 1–100, or leave mirroring off',
    },
  ];
}

/** Contour's headers policies set and remove; they do not add. */
const contourHeadersCheck = headersCheck(
  'Contour',
  ['set', 'remove'],
  'Contour’s headers policy takes set and remove only',
);

/** Envoy's retry conditions, as the HTTPProxy schema lists them. */
const CONTOUR_RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

function contourRetriesCheck(canary: Canary): MatchIssue[] {
  const retries = canary.spec.service.retries;
  if (!retries) return [];
  const issues: MatchIssue[] = Object.keys(retries)
    .filter((key) => !['attempts', 'perTryTimeout', 'retryOn'].includes(key))
    .map((key) => ({
      path: `spec.service.retries.${key}`,
      message: 'Contour’s retry policy takes attempts, perTryTimeout and retryOn only',
    }));
  for (const on of (retries.retryOn ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)) {
    if (!CONTOUR_RETRY_ON.has(on))
      issues.push({
        path: 'spec.service.retries.retryOn',
        message: `"${on}" is not a retry condition Contour takes; expected some of ${[...CONTOUR_RETRY_ON].join(', ')}`,
      });
  }
  return issues;
}

function apisixMatchCheck(canary: Canary): MatchIssue[] {
  return translateApisixMatches(canary.spec.analysis.match, 'spec.analysis.match').issues;
}

/** What a GRPCRoute or a TCPRoute cannot carry of the spec, and the gRPC matches it cannot express. */
function gatewayProtocolCheck(canary: Canary): MatchIssue[] {
  const { service, analysis } = canary.spec;
  const protocol = service.protocol ?? 'http';
  if (protocol === 'http') return [];
  const grpcLacks: [string, unknown][] = [
    ['spec.service.timeout', service.timeout],
    ['spec.service.rewrite', service.rewrite],
    ['spec.service.retries', service.retries],
    ['spec.service.corsPolicy', service.corsPolicy],
    ['spec.analysis.sessionAffinity', analysis.sessionAffinity],
  ];
  const tcpLacks: [string, unknown][] = [
    ...grpcLacks,
    ['spec.service.match', service.match?.length ? service.match : undefined],
    ['spec.analysis.match', analysis.match?.length ? analysis.match : undefined],
    ['spec.analysis.mirror', analysis.mirror ? true : undefined],
    ['spec.service.headers', service.headers],
    ['spec.service.mirror', service.mirror?.length ? service.mirror : undefined],
    ['spec.service.hosts', service.hosts?.length ? service.hosts : undefined],
  ];
  const kind = protocol === 'grpc' ? 'a GRPCRoute' : 'a TCPRoute';
  const issues: MatchIssue[] = (protocol === 'grpc' ? grpcLacks : tcpLacks)
    .filter(([, value]) => value !== undefined)
    .map(([path]) => ({
      path,
      message: `${kind} (spec.service.protocol: ${protocol}) cannot carry it${protocol === 'tcp' ? ': a TCPRoute has weights only' : ''}`,
    }));
  if (protocol === 'grpc') {
    issues.push(...translateGrpcMatches(service.match, 'spec.service.match').issues);
    if (analysis.match?.length) issues.push(...grpcAbMatches(analysis.match, service.match).issues);
  }
  return issues;
}

/** A router that takes one host. */
function oneHostCheck(what: string): SupportCheck {
  return (canary) =>
    (canary.spec.service.hosts?.length ?? 0) <= 1
      ? []
      : [{ path: 'spec.service.hosts[1]', message: `${what}; list one host only` }];
}

/** Linkerd attaches an HTTPRoute to Services (Gateway API's mesh binding), not to Gateways. */
function serviceParentsCheck(canary: Canary): MatchIssue[] {
  return (canary.spec.service.gatewayRefs ?? []).flatMap((ref, i) =>
    ref.kind === 'Service' && (ref.group === '' || ref.group === 'core')
      ? []
      : [
          {
            path: `spec.service.gatewayRefs[${i}]`,
            message: `Linkerd attaches an HTTPRoute to a Service (group core, kind Service), not to a ${ref.kind ?? 'Gateway'}`,
          },
        ],
  );
}

const NOT_APISIX = no('the routeRef is the apisix provider’s');
const HTTP_ONLY = no('it routes HTTP only; gRPC and TCP routes are Gateway API’s (provider gatewayapi)');

/** The fields that belong to other providers, as a router that has none of them refuses them. */
const OTHER_PROVIDERS_FIELDS = {
  gateways: no('gateways are Istio’s'),
  gatewayRefs: no('gatewayRefs are Gateway API’s'),
  delegation: no('delegation is Istio’s'),
  trafficPolicy: no('a DestinationRule traffic policy is Istio’s'),
  ingressRef: no('the ingressRef is the nginx and skipper providers’'),
  routeRef: NOT_APISIX,
  protocol: HTTP_ONLY,
} as const satisfies Partial<Record<RoutingFeatureName, Support>>;

/** What a route itself sets, beyond the split: where a router writes no route, one reason says why. */
const ROUTE_SETTINGS = [
  'routeMatch',
  'cors',
  'retries',
  'timeout',
  'rewrite',
  'headers',
  'requestMirrors',
  'hosts',
] as const satisfies readonly RoutingFeatureName[];

/** `features`, each refused for one reason. */
function noneOf<const F extends RoutingFeatureName>(features: readonly F[], why: string): Record<F, Support> {
  return Object.fromEntries(features.map((feature) => [feature, no(why)])) as Record<F, Support>;
}
const WEIGHTS_ONLY = (what: string) => `${what} has weights only`;

const ON_THE_INGRESS =
  'the Ingress in spec.ingressRef decides this (set it there; the canary Ingress copies its annotations)';

/** The features of a router that routes through a copy of the team's Ingress (nginx, skipper). */
const THROUGH_AN_INGRESS = {
  ...noneOf(ROUTE_SETTINGS, ON_THE_INGRESS),
  ...OTHER_PROVIDERS_FIELDS,
  ingressRef: { level: 'required', why: 'name the Ingress that routes to the Service' },
} as const satisfies Partial<Record<RoutingFeatureName, Support>>;
const BLUE_GREEN = 'it switches the apex Service between the primary and the canary, all traffic at once';

const KUMA_POLICY = 'Kuma sets this through its own policies (MeshTimeout, MeshRetry), not the route';
const ON_THE_APISIX_ROUTE =
  'the ApisixRoute in spec.routeRef decides this (set it there; the canary ApisixRoute copies its rule)';
const KNATIVE_NONE = ROUTING_FEATURE_NAMES.filter((name) => name !== 'weights' && name !== 'steps');

/** Traefik: the IngressRoute the team writes routes to the TraefikService Sluice writes. */
function onTheIngressRoute(): Record<
  Exclude<RoutingFeatureName, 'weights' | 'steps' | 'abMatch' | 'mirror'>,
  Support
> {
  const there =
    'the IngressRoute that routes to TraefikService <svc> decides this (set it there, or in its Middlewares)';
  return {
    sessionAffinity: no('Sluice does not write the TraefikService’s sticky cookie'),
    ...noneOf(ROUTE_SETTINGS, there),
    requestMirrors: no('spec.service.mirror is Gateway API’s'),
    ...OTHER_PROVIDERS_FIELDS,
  };
}

/** What an HTTPRoute expresses (gatewayapi; gloo and linkerd write the same object). */
const GATEWAY_API_SUPPORT = {
  weights: yes(),
  steps: yes(),
  abMatch: {
    level: 'partial',
    note: 'uri (exact, prefix by path element, regex), method (exact), headers and queryParams',
    check: gatewayAbMatchCheck,
  },
  mirror: yes(),
  sessionAffinity: yes(cookieWithinRouteCheck),
  routeMatch: {
    level: 'partial',
    note: 'as for A/B matches',
    check: gatewayRouteMatchCheck,
  },
  cors: no('Sluice does not write Gateway API’s CORS filter yet'),
  retries: no('HTTPRoute retries are not in Gateway API’s standard channel'),
  timeout: yes(durationCheck),
  rewrite: yes(gatewayRewriteCheck),
  headers: yes(gatewayHeadersCheck),
  requestMirrors: yes(),
  hosts: yes(),
  ...OTHER_PROVIDERS_FIELDS,
  gateways: no('Gateway API attaches the HTTPRoute through spec.service.gatewayRefs'),
  gatewayRefs: { level: 'required', why: 'list the Gateways the HTTPRoute attaches to' },
  protocol: {
    level: 'partial',
    note: 'grpc: a GRPCRoute (weights, mirror, header and service/method matches); tcp: a TCPRoute (weights only)',
    check: gatewayProtocolCheck,
  },
} as const satisfies Record<RoutingFeatureName, Support>;

/** Every provider × every routing feature. */
export const ROUTER_SUPPORT = {
  istio: {
    weights: yes(),
    steps: yes(),
    abMatch: yes(istioMatchCheck),
    mirror: yes(),
    sessionAffinity: yes(cookieWithinRouteCheck),
    routeMatch: yes(istioRouteMatchCheck),
    cors: yes(),
    retries: yes(),
    timeout: yes(durationCheck),
    rewrite: yes(istioRewriteCheck),
    headers: yes(),
    requestMirrors: no(
      'spec.service.mirror is Gateway API’s; Istio mirrors the canary with spec.analysis.mirror',
    ),
    hosts: yes(),
    gateways: yes(),
    gatewayRefs: no('Istio binds the VirtualService to gateways through spec.service.gateways'),
    delegation: yes(delegationCheck),
    trafficPolicy: yes(),
    ingressRef: no('the ingressRef is the nginx and skipper providers’'),
    routeRef: NOT_APISIX,
    protocol: HTTP_ONLY,
  },
  gatewayapi: GATEWAY_API_SUPPORT,
  smi: {
    weights: yes(),
    steps: yes(),
    ...noneOf(['abMatch', 'mirror', 'sessionAffinity', ...ROUTE_SETTINGS], WEIGHTS_ONLY('a TrafficSplit')),
    hosts: {
      level: 'partial',
      note: 'one host: the TrafficSplit’s root service',
      check: smiHostsCheck,
    },
    ...OTHER_PROVIDERS_FIELDS,
  },
  nginx: {
    weights: yes(),
    steps: yes(),
    abMatch: {
      level: 'partial',
      note: 'one header condition and one cookie, each in a match of its own',
      check: nginxMatchCheck,
    },
    mirror: no('ingress-nginx has no canary mirroring'),
    sessionAffinity: no('ingress-nginx’s canary has no session cookie Sluice can set'),
    ...THROUGH_AN_INGRESS,
  },
  kubernetes: {
    weights: no(`${BLUE_GREEN}: set spec.analysis.iterations instead`),
    steps: no(`${BLUE_GREEN}: set spec.analysis.iterations instead`),
    ...noneOf(['abMatch', 'mirror', 'sessionAffinity'], BLUE_GREEN),
    ...noneOf(ROUTE_SETTINGS, 'a Service has no request routing'),
    ...OTHER_PROVIDERS_FIELDS,
  },
  contour: {
    weights: yes(),
    steps: yes(),
    abMatch: {
      level: 'partial',
      note: 'uri (exact, prefix by path segment, regex), headers and queryParams; each match a route of its own',
      check: contourMatchCheck,
    },
    mirror: {
      level: 'partial',
      note: 'mirrorWeight 1–100 (Contour reads 0 as all)',
      check: contourMirrorCheck,
    },
    sessionAffinity: no('Sluice writes no session cookie for Contour'),
    routeMatch: { level: 'partial', note: 'as for A/B matches', check: contourRouteMatchCheck },
    cors: no('Contour’s CORS policy belongs to the root HTTPProxy’s virtualhost'),
    retries: {
      level: 'partial',
      note: 'attempts, perTryTimeout and Envoy’s retryOn conditions',
      check: contourRetriesCheck,
    },
    timeout: yes(durationCheck),
    rewrite: no('Sluice does not write Contour’s path rewrite policy'),
    headers: { level: 'partial', note: 'set and remove (Contour does not add)', check: contourHeadersCheck },
    requestMirrors: no('spec.service.mirror is Gateway API’s'),
    hosts: {
      level: 'partial',
      note: 'one host: the root HTTPProxy’s virtualhost.fqdn (without hosts, a root HTTPProxy includes it)',
      check: oneHostCheck('an HTTPProxy has one virtualhost'),
    },
    ...OTHER_PROVIDERS_FIELDS,
    delegation: no('delegation is Istio’s (a root HTTPProxy includes Sluice’s instead)'),
  },
  traefik: {
    weights: yes(),
    steps: yes(),
    abMatch: no('a TraefikService has weights and mirrors only; the IngressRoute decides what reaches it'),
    mirror: yes(),
    ...onTheIngressRoute(),
  },
  kuma: {
    weights: yes(),
    steps: yes(),
    abMatch: {
      level: 'partial',
      note: 'as for gatewayapi: uri, method, headers and queryParams',
      check: gatewayAbMatchCheck,
    },
    mirror: no('Sluice does not write MeshHTTPRoute’s mirror filter'),
    sessionAffinity: no('Sluice writes no session cookie for Kuma'),
    routeMatch: { level: 'partial', note: 'as for A/B matches', check: gatewayRouteMatchCheck },
    ...noneOf(['cors', 'retries', 'timeout'], KUMA_POLICY),
    rewrite: no('Sluice does not write MeshHTTPRoute’s rewrite filter'),
    headers: no('Sluice does not write MeshHTTPRoute’s header filters'),
    requestMirrors: no('spec.service.mirror is Gateway API’s'),
    hosts: no('a MeshHTTPRoute routes the Service’s own traffic'),
    ...OTHER_PROVIDERS_FIELDS,
  },
  apisix: {
    weights: yes(),
    steps: yes(),
    abMatch: {
      level: 'partial',
      note: 'headers (exact, or a pattern) and queryParams, each match a route of its own',
      check: apisixMatchCheck,
    },
    mirror: no('APISIX’s proxy-mirror plugin is not one Sluice writes'),
    sessionAffinity: no('Sluice writes no session cookie for APISIX'),
    ...noneOf(ROUTE_SETTINGS, ON_THE_APISIX_ROUTE),
    ...OTHER_PROVIDERS_FIELDS,
    routeRef: { level: 'required', why: 'name the ApisixRoute that routes to the Service' },
  },
  gloo: {
    ...GATEWAY_API_SUPPORT,
    sessionAffinity: no('Sluice relies on no backend-level filters with Gloo Gateway'),
  },
  skipper: {
    weights: yes(),
    steps: yes(),
    ...noneOf(['abMatch', 'mirror', 'sessionAffinity'], 'Sluice routes Skipper by backend weights only'),
    ...THROUGH_AN_INGRESS,
  },
  knative: {
    weights: yes(),
    steps: yes(),
    ...noneOf(KNATIVE_NONE, WEIGHTS_ONLY('a Knative Service’s traffic block')),
  },
  linkerd: {
    ...GATEWAY_API_SUPPORT,
    protocol: no('Sluice writes Linkerd’s HTTPRoute only'),
    mirror: no('Linkerd has no request mirroring'),
    sessionAffinity: no('Sluice relies on no backend-level filters with Linkerd'),
    rewrite: no('Linkerd’s HTTPRoute has no URLRewrite filter'),
    requestMirrors: no('Linkerd has no request mirroring'),
    hosts: no('an HTTPRoute attached to a Service routes the Service’s own traffic (hostnames do not apply)'),
    gatewayRefs: {
      level: 'required',
      why: 'list the Service the HTTPRoute attaches to (group core, kind Service): with them, linkerd routes through Gateway API, without them through SMI',
      check: serviceParentsCheck,
    },
  },
} as const satisfies Record<RouterKind, Record<RoutingFeatureName, Support>>;

/** The features a provider has, in words: what the error for one it lacks offers instead. */
export function featuresOf(kind: RouterKind): string {
  const support: Record<RoutingFeatureName, Support> = ROUTER_SUPPORT[kind];
  const names = ROUTING_FEATURE_NAMES.filter((name) => support[name].level !== 'no').map((name) => {
    const entry = support[name];
    return entry.level === 'partial'
      ? `${ROUTING_FEATURES[name].title} (${entry.note})`
      : ROUTING_FEATURES[name].title;
  });
  return names.length ? names.join(', ') : 'blue/green only (spec.analysis.iterations)';
}

/** What setRoutes may be asked for, from the table: the routers' runtime capabilities. */
export function routesCapabilities(kind: RouterKind): RouterCapabilities {
  const support: Record<RoutingFeatureName, Support> = ROUTER_SUPPORT[kind];
  return {
    weights: support.weights.level !== 'no',
    mirror: support.mirror.level !== 'no',
    match: support.abMatch.level !== 'no',
  };
}

/** A spec its provider cannot route: the field, the provider and what the provider can do. */
export interface CapabilityIssue extends ValidationIssue {
  reason: typeof UNSUPPORTED_BY_PROVIDER;
  /** The provider as the router names it: `istio`, `smi:v1alpha2`, … */
  provider: string;
  /** The feature asked for; undefined when the provider itself is unknown. */
  feature?: RoutingFeatureName;
}

export interface CapabilityOptions {
  /** The controller's --mesh-provider, for a Canary without spec.provider. */
  defaultProvider?: string;
}

/**
 * Checks a Canary's spec against its router's capabilities, before anything is written.
 * Pure: the same spec always gives the same issues. Empty when the router can route it all.
 */
export function checkCapabilities(canary: Canary, options: CapabilityOptions = {}): CapabilityIssue[] {
  const provider = canary.spec.provider ?? options.defaultProvider ?? DEFAULT_PROVIDER;
  const parsed = parseProvider(provider, providerContext(canary.spec));
  if (!parsed) {
    return [
      {
        path: canary.spec.provider === undefined ? '--mesh-provider' : 'spec.provider',
        message: unsupportedProviderMessage(provider),
        reason: UNSUPPORTED_BY_PROVIDER,
        provider,
      },
    ];
  }
  // A StatefulSet canary routes nothing (its pods share one Service): the schema refuses its
  // traffic fields by name, and the provider only names the built-in metrics.
  if (canary.spec.targetRef.kind === 'StatefulSet') return [];
  const name = providerName(parsed);
  const support: Record<RoutingFeatureName, Support> = ROUTER_SUPPORT[parsed.kind];
  const issues: CapabilityIssue[] = [];
  const add = (feature: RoutingFeatureName, path: string, message: string) =>
    issues.push({
      path,
      message: `provider ${name} ${message}`,
      reason: UNSUPPORTED_BY_PROVIDER,
      provider: name,
      feature,
    });
  for (const feature of ROUTING_FEATURE_NAMES) {
    const info = ROUTING_FEATURES[feature];
    const entry = support[feature];
    const asked = info.asked(canary);
    if (entry.level === 'no') {
      for (const field of asked) {
        add(
          feature,
          field,
          `cannot ${info.verb}${entry.why ? ` (${entry.why})` : ''}; ${name} can: ${featuresOf(parsed.kind)}`,
        );
      }
      continue;
    }
    if (entry.level === 'required' && asked.length === 0) {
      add(feature, info.fields[0]!, `needs ${info.fields[0]}: ${entry.why}`);
      continue;
    }
    if (asked.length === 0 || !entry.check) continue;
    for (const issue of entry.check(canary)) {
      issues.push({
        path: issue.path,
        message: `${issue.message} (provider ${name})`,
        reason: UNSUPPORTED_BY_PROVIDER,
        provider: name,
        feature,
      });
    }
  }
  return issues;
}
