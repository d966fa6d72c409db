// The traffic providers Sluice routes, in one place: the CRD's description of
// spec.provider, the error for an unknown one, `sluice migrate`'s report, the router
// factory (src/routers/factory.ts, a map the compiler checks against these keys) and the
// docs all read this list.

export interface RouterProviderInfo {
  /** The routing object the router writes, as the docs name it. */
  object: string;
  /** The spec.provider strings that pick this router (Flagger's spellings). */
  spellings: readonly string[];
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
  contour: 'Contour is not a provider Sluice routes yet; gatewayapi routes through Contour’s Gateway API',
  gloo: 'Gloo is not a provider Sluice routes yet; gatewayapi routes through Gloo Gateway’s Gateway API',
  skipper: 'Skipper is not a provider Sluice routes',
  traefik: 'Traefik is not a provider Sluice routes yet; gatewayapi routes through Traefik’s Gateway API',
  kuma: 'Kuma is not a provider Sluice routes yet',
  apisix: 'APISIX is not a provider Sluice routes yet',
  'gatewayapi:v1beta1': 'use gatewayapi: Sluice writes gateway.networking.k8s.io/v1 HTTPRoutes',
};

export type ParsedProvider =
  | { kind: 'istio' }
  | { kind: 'gatewayapi' }
  | { kind: 'smi'; version: SmiVersion }
  | { kind: 'nginx' }
  | { kind: 'kubernetes' };

/**
 * Parses a provider string. `smi:<version>` may carry a mesh suffix (`smi:v1alpha3:osm`,
 * as Flagger accepts); plain `smi`, `linkerd` and `osm` mean v1alpha2. Undefined for a
 * string Sluice does not route.
 */
export function parseProvider(provider: string): ParsedProvider | undefined {
  const value = provider.trim();
  const smi = /^smi:(v1alpha[0-9]+)(?::[a-z0-9-]+)?$/.exec(value);
  if (smi) {
    const version = SMI_VERSIONS.find((known) => known === smi[1]);
    return version ? { kind: 'smi', version } : undefined;
  }
  for (const kind of ROUTER_KINDS) {
    if (!(ROUTER_PROVIDERS[kind].spellings as readonly string[]).includes(value)) continue;
    return kind === 'smi' ? { kind, version: DEFAULT_SMI_VERSION } : { kind };
  }
  return undefined;
}

/** The provider name a router reports: `istio`, `smi:v1alpha2`, … */
export function providerName(parsed: ParsedProvider): string {
  return parsed.kind === 'smi' ? `smi:${parsed.version}` : parsed.kind;
}

/** Every spec.provider string Sluice routes, for messages and docs. */
export function providerSpellings(): string[] {
  return ROUTER_KINDS.flatMap((kind) => [...ROUTER_PROVIDERS[kind].spellings]);
}

/** Why a provider string is refused, and what would work. */
export function unsupportedProviderMessage(provider: string): string {
  const hint = UNROUTED_PROVIDERS[provider.trim()];
  return (
    `"${provider}" is not supported${hint ? ` (${hint})` : ''}; ` +
    `expected one of ${providerSpellings().join(', ')} (smi:<version> may end in :<mesh>)`
  );
}
