import { z } from 'zod';
import {
  emptyHeaderOps,
  type MirrorTarget,
  type ProxyIdentity,
  type RouteDecision,
  type WeightedBackend,
} from './routing.ts';

// How the local traffic layer routes by a Traefik TraefikService, as Traefik would behind
// the IngressRoute that sends to it: weighted services (Traefik's default weight is 1), and
// a mirroring service (all to its main service, `percent` of requests copied to each
// mirror), nested one in the other as Sluice writes them. Pure, like routing.ts.

const entry = z.looseObject({
  name: z.string(),
  kind: z.string().optional(),
  port: z.union([z.number(), z.string()]).optional(),
  weight: z.number().optional(),
  percent: z.number().optional(),
});

export const traefikServiceSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string() }),
  spec: z.looseObject({
    weighted: z.looseObject({ services: z.array(entry).optional() }).optional(),
    mirroring: entry.extend({ mirrors: z.array(entry).optional() }).optional(),
  }),
});
export type TraefikService = z.infer<typeof traefikServiceSchema>;

/** The TraefikService the proxy stands behind: the one named after its Service. */
export function traefikServiceFor(
  services: readonly TraefikService[],
  identity: ProxyIdentity,
): TraefikService | undefined {
  return services.find(
    (service) =>
      service.metadata.namespace === identity.namespace && service.metadata.name === identity.service,
  );
}

/** Nested TraefikServices are followed this deep at most (Traefik refuses loops). */
const MAX_DEPTH = 5;

function flatten(
  service: TraefikService,
  all: readonly TraefikService[],
  share: number,
  depth: number,
): { backends: WeightedBackend[]; mirrors: MirrorTarget[] } {
  const namespace = service.metadata.namespace;
  const port = (value: number | string | undefined) => (typeof value === 'number' ? value : undefined);
  const leaf = (e: z.infer<typeof entry>, weight: number) => {
    if ((e.kind ?? 'Service') === 'Service')
      return {
        backends: [{ backend: { service: e.name, namespace, port: port(e.port) }, weight }],
        mirrors: [],
      };
    const nested = all.find(
      (other) => other.metadata.namespace === namespace && other.metadata.name === e.name,
    );
    if (!nested || depth >= MAX_DEPTH)
      return {
        backends: [{ backend: undefined, weight, invalid: `no TraefikService ${namespace}/${e.name}` }],
        mirrors: [],
      };
    return flatten(nested, all, weight, depth + 1);
  };
  const mirroring = service.spec.mirroring;
  if (mirroring) {
    const main = leaf(mirroring, share);
    return {
      backends: main.backends,
      mirrors: [
        ...main.mirrors,
        ...(mirroring.mirrors ?? []).map((mirror) => ({
          backend: { service: mirror.name, namespace, port: port(mirror.port) },
          // A copy of the requests this branch gets: its share of all of them.
          percent: ((mirror.percent ?? 0) * share) / 100,
        })),
      ],
    };
  }
  const entries = service.spec.weighted?.services ?? [];
  const total = entries.reduce((sum, e) => sum + (e.weight ?? 1), 0);
  const parts = entries.map((e) => leaf(e, total > 0 ? (share * (e.weight ?? 1)) / total : 0));
  return { backends: parts.flatMap((p) => p.backends), mirrors: parts.flatMap((p) => p.mirrors) };
}

export function routeTraefikService(service: TraefikService, all: readonly TraefikService[]): RouteDecision {
  const { backends, mirrors } = flatten(service, all, 100, 0);
  return {
    source: {
      kind: 'TraefikService',
      namespace: service.metadata.namespace,
      name: service.metadata.name,
      rule: 0,
    },
    backends,
    mirrors,
    requestHeaders: emptyHeaderOps(),
    responseHeaders: emptyHeaderOps(),
    noBackendStatus: 503,
  };
}
