// The traffic providers Sluice routes, in one place: the CRD's description of
// spec.provider, the error for an unknown one, `sluice migrate`'s report, the router
// factory (src/routers/factory.ts, a map the compiler checks against these keys) and the
// docs all read this list.

export interface RouterProviderInfo {
  /** The routing object the router writes, as the docs name it. */
  object: string;
  /** The spec.provider strings that pick this router (Flagger's spellings). */
  spellings: readonly string[];
  /** A spelling shared with another router picks this one only when the Canary sets this field. */
  selectedBy?: 'spec.service.gatewayRefs';
}

export const SMI_VERSIONS = ['v1alpha1', 'v1alpha2', 'v1alpha3'] as const;
export type SmiVersion = (typeof SMI_VERSIONS)[number];
/** The TrafficSplit version plain `smi`, `linkerd` and `osm` mean: the one Linkerd and OSM serve. */
export const DEFAULT_SMI_VERSION: SmiVersion = 'v1alpha2';

export const ROUTER_PROVIDERS = {
  istio: { object: 'VirtualService + DestinationRules', spellings: ['istio'] },
  gatewayapi: {
    object: 'HTTPRoute (gateway.networking.k8s.io/v1)',
    spellings: ['gatewayapi', 'gatewayapi:v1'],
  },
  smi: {
    object: 'TrafficSplit (split.smi-spec.io)',
    spellings: ['smi', 'linkerd', 'osm', ...SMI_VERSIONS.map((version) => `smi:${version}`)],
  },
  nginx: { object: 'canary Ingress (ingress-nginx)', spellings: ['nginx'] },
  kubernetes: { object: 'apex Service selector (blue/green)', spellings: ['kubernetes'] },
  contour: { object: 'HTTPProxy (projectcontour.io/v1)', spellings: ['contour'] },
  traefik: { object: 'TraefikService (traefik.io/v1alpha1)', spellings: ['traefik'] },
  kuma: { object: 'MeshHTTPRoute (kuma.io/v1alpha1)', spellings: ['kuma'] },
  apisix: { object: 'canary ApisixRoute (apisix.apache.org/v2)', spellings: ['apisix'] },
  gloo: { object: 'HTTPRoute through Gloo Gateway (gateway.networking.k8s.io/v1)', spellings: ['gloo'] },
  skipper: { object: 'canary Ingress with backend weights (Skipper)', spellings: ['skipper'] },
  knative: { object: 'Knative Service traffic targets (serving.knative.dev/v1)', spellings: ['knative'] },
  linkerd: {
    object: 'HTTPRoute attached to the Service (Linkerd 2.12+, Gateway API mesh)',
    spellings: ['linkerd'],
    selectedBy: 'spec.service.gatewayRefs',
  },
} as const satisfies Record<string, RouterProviderInfo>;

export type RouterKind = keyof typeof ROUTER_PROVIDERS;
export const ROUTER_KINDS = Object.keys(ROUTER_PROVIDERS) as RouterKind[];

/** Flagger's default mesh provider, used when neither spec.provider nor --mesh-provider says otherwise. */
export const DEFAULT_PROVIDER = 'istio';

/**
 * Provider strings Flagger knows and Sluice does not route, with what to do instead: the
 * error for one of them says so rather than "unknown".
 */
export const UNROUTED_PROVIDERS: Readonly<Record<string, string>> = {
  appmesh: 'App Mesh is not a provider Sluice routes',
  'appmesh:v1beta2': 'App Mesh is not a provider Sluice routes',
  'gatewayapi:v1beta1': 'use gatewayapi: Sluice writes gateway.networking.k8s.io/v1 HTTPRoutes',
};

export type ParsedProvider = { kind: 'smi'; version: SmiVersion } | { kind: Exclude<RouterKind, 'smi'> };

/** What of the Canary, besides the provider string, picks a router (see `selectedBy`). */
export interface ProviderContext {
  /** spec.service.gatewayRefs is set: `linkerd` routes through Gateway API instead of SMI. */
  gatewayRefs?: boolean;
}

/** The context parseProvider needs from a Canary's spec. */
export function providerContext(spec: { service?: { gatewayRefs?: readonly unknown[] } }): ProviderContext {
  return { gatewayRefs: (spec.service?.gatewayRefs?.length ?? 0) > 0 };
}

/**
 * Parses a provider string. `smi:<version>` may carry a mesh suffix (`smi:v1alpha3:osm`,
 * as Flagger accepts); plain `smi`, `linkerd` and `osm` mean v1alpha2. `linkerd` with
 * spec.service.gatewayRefs routes through Gateway API HTTPRoutes (as Linkerd 2.12+ reads
 * them) instead. Undefined for a string Sluice does not route.
 */
export function parseProvider(provider: string, context: ProviderContext = {}): ParsedProvider | undefined {
  const value = provider.trim();
  const smi = /^smi:(v1alpha[0-9]+)(?::[a-z0-9-]+)?$/.exec(value);
  if (smi) {
    const version = SMI_VERSIONS.find((known) => known === smi[1]);
    return version ? { kind: 'smi', version } : undefined;
  }
  const matching = ROUTER_KINDS.filter((kind) =>
    (ROUTER_PROVIDERS[kind].spellings as readonly string[]).includes(value),
  );
  const info = (kind: RouterKind): RouterProviderInfo => ROUTER_PROVIDERS[kind];
  const chosen =
    matching.find((kind) => info(kind).selectedBy === 'spec.service.gatewayRefs' && context.gatewayRefs) ??
    matching.find((kind) => info(kind).selectedBy === undefined);
  if (!chosen) return undefined;
  return chosen === 'smi' ? { kind: chosen, version: DEFAULT_SMI_VERSION } : { kind: chosen };
}

/** The provider name a router reports: `istio`, `smi:v1alpha2`, … */
export function providerName(parsed: ParsedProvider): string {
  return parsed.kind === 'smi' ? `smi:${parsed.version}` : parsed.kind;
}

/** Every spec.provider string Sluice routes, for messages and docs. */
export function providerSpellings(): string[] {
  return [...new Set(ROUTER_KINDS.flatMap((kind) => [...ROUTER_PROVIDERS[kind].spellings]))];
}

/** Why a provider string is refused, and what would work. */
export function unsupportedProviderMessage(provider: string): string {
  const hint = UNROUTED_PROVIDERS[provider.trim()];
  return (
    `"${provider}" is not supported${hint ? ` (${hint})` : ''}; ` +
    `expected one of ${providerSpellings().join(', ')} (smi:<version> may end in :<mesh>)`
  );
}
