import type { Canary } from '../api/canary.ts';
import {
  DEFAULT_PROVIDER,
  parseProvider,
  providerContext,
  providerSpellings,
  unsupportedProviderMessage,
  type ParsedProvider,
  type RouterKind,
} from '../api/providers.ts';
import { canaryRef } from '../kube/meta.ts';
import { gatewayApiRouter, GATEWAY_API_VERSION } from './gatewayapi.ts';
import { istioRouter, ISTIO_API_VERSION } from './istio.ts';
import { kubernetesRouter } from './kubernetes.ts';
import { nginxRouter } from './nginx.ts';
import { partitionRouter } from './partition.ts';
import type { Router, RouterDeps } from './router.ts';
import { smiRouter } from './smi.ts';
import { apisixRouter, APISIX_API_VERSION } from './apisix.ts';
import { contourRouter, CONTOUR_API_VERSION } from './contour.ts';
import { knativeRouter, KNATIVE_API_VERSION } from './knative.ts';
import { kumaRouter, KUMA_API_VERSION } from './kuma.ts';
import { skipperRouter } from './skipper.ts';
import { traefikRouter, TRAEFIK_API_VERSION } from './traefik.ts';

// Picks the router for spec.provider, with Flagger's provider strings (src/api/providers.ts).
// ROUTERS is checked by the compiler to have one entry per provider kind.

export { DEFAULT_PROVIDER, parseProvider };

/** A resource the controller keeps an informer of, for a router that reads it at every step. */
export interface CachedResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface RouterRegistration {
  create(deps: RouterDeps, parsed: ParsedProvider): Router;
  /**
   * The routing objects this router reads at every step. The controller caches them with
   * informers where it may list them (and reads them from the apiserver where not), so it
   * keeps no list of mesh kinds of its own.
   */
  caches: readonly CachedResource[];
}

const cache = (apiVersion: string, plural: string, kind: string): CachedResource => {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group: group ?? '', version: version ?? '', plural, kind };
};
/**
 * `<svc>`, `<svc>-primary` and `<svc>-canary` (services.ts): every router but Knative's
 * reads them at each bootstrap and promotion. From an informer, a bootstrap that creates
 * them asks no GET answered 404 first (41 874 of those at ten thousand canaries).
 */
export const SERVICES = cache('v1', 'services', 'Service');
export const VIRTUAL_SERVICES = cache(ISTIO_API_VERSION, 'virtualservices', 'VirtualService');
const DESTINATION_RULES = cache(ISTIO_API_VERSION, 'destinationrules', 'DestinationRule');
export const HTTP_ROUTES = cache(GATEWAY_API_VERSION, 'httproutes', 'HTTPRoute');
/** spec.service.protocol grpc and tcp: the same router writes these instead. */
const GATEWAY_ROUTES = [
  HTTP_ROUTES,
  cache(GATEWAY_API_VERSION, 'grpcroutes', 'GRPCRoute'),
  cache(GATEWAY_API_VERSION, 'tcproutes', 'TCPRoute'),
];
export const HTTP_PROXIES = cache(CONTOUR_API_VERSION, 'httpproxies', 'HTTPProxy');
export const TRAEFIK_SERVICES = cache(TRAEFIK_API_VERSION, 'traefikservices', 'TraefikService');
const MESH_HTTP_ROUTES = cache(KUMA_API_VERSION, 'meshhttproutes', 'MeshHTTPRoute');
const APISIX_ROUTES = cache(APISIX_API_VERSION, 'apisixroutes', 'ApisixRoute');
const KNATIVE_SERVICES = cache(KNATIVE_API_VERSION, 'services', 'Service');

export const ROUTERS = {
  istio: { create: (deps) => istioRouter(deps), caches: [VIRTUAL_SERVICES, DESTINATION_RULES] },
  gatewayapi: { create: (deps) => gatewayApiRouter(deps), caches: GATEWAY_ROUTES },
  smi: {
    create: (deps, parsed) => smiRouter(deps, parsed.kind === 'smi' ? parsed.version : 'v1alpha2'),
    caches: [],
  },
  nginx: { create: (deps) => nginxRouter(deps), caches: [] },
  kubernetes: { create: (deps) => kubernetesRouter(deps), caches: [] },
  contour: { create: (deps) => contourRouter(deps), caches: [HTTP_PROXIES] },
  traefik: { create: (deps) => traefikRouter(deps), caches: [TRAEFIK_SERVICES] },
  kuma: { create: (deps) => kumaRouter(deps), caches: [MESH_HTTP_ROUTES] },
  apisix: { create: (deps) => apisixRouter(deps), caches: [APISIX_ROUTES] },
  gloo: { create: (deps) => gatewayApiRouter(deps, 'gloo'), caches: GATEWAY_ROUTES },
  skipper: { create: (deps) => skipperRouter(deps), caches: [] },
  knative: { create: (deps) => knativeRouter(deps), caches: [KNATIVE_SERVICES] },
  linkerd: { create: (deps) => gatewayApiRouter(deps, 'linkerd'), caches: [HTTP_ROUTES] },
} as const satisfies Record<RouterKind, RouterRegistration>;

/** Every routing resource some router reads at every step, once each (the core Services first). */
export function routingCaches(): CachedResource[] {
  const all: CachedResource[] = [SERVICES, ...Object.values(ROUTERS).flatMap((router) => [...router.caches])];
  return all.filter(
    (resource, i) =>
      all.findIndex((other) => other.group === resource.group && other.plural === resource.plural) === i,
  );
}

/**
 * A provider Sluice does not route: names the Canary (or the flag), the field and the
 * provider strings that would work, so the controller can report it as a condition.
 */
export class UnsupportedProviderError extends Error {
  readonly canary: string;
  readonly field: string;
  readonly provider: string;
  readonly supported: readonly string[];
  constructor(canary: string, provider: string, field = 'spec.provider') {
    super(`Canary ${canary}: ${field} ${unsupportedProviderMessage(provider)}`);
    this.name = 'UnsupportedProviderError';
    this.canary = canary;
    this.field = field;
    this.provider = provider;
    this.supported = providerSpellings();
  }
}

export interface RouterFactoryOptions {
  /** The provider for a Canary without spec.provider (the controller's flag; Flagger: istio). */
  defaultProvider?: string;
}

/** The router for a Canary's spec.provider; throws UnsupportedProviderError for one Sluice does not route. */
export function routerFor(canary: Canary, deps: RouterDeps, options: RouterFactoryOptions = {}): Router {
  const provider = canary.spec.provider ?? options.defaultProvider ?? DEFAULT_PROVIDER;
  const parsed = parseProvider(provider, providerContext(canary.spec));
  if (!parsed) {
    throw new UnsupportedProviderError(
      canaryRef(canary),
      provider,
      canary.spec.provider === undefined ? '--mesh-provider' : 'spec.provider',
    );
  }
  // A StatefulSet moves pods, not weights: the partition stands in for the provider's router.
  if (canary.spec.targetRef.kind === 'StatefulSet') return partitionRouter(deps, provider);
  const registration: RouterRegistration = ROUTERS[parsed.kind];
  return registration.create(deps, parsed);
}
