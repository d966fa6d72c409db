import type { Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import type { DesiredObject } from '../kube/objects.ts';
import { gatewayMatches, MATCH_EVERYTHING, mergeGatewayMatches } from './match.ts';
import { apexObjectMetadata } from './owned.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { serviceName } from './services.ts';
import { apexRef, singleObjectRouter } from './single-object.ts';

// Kuma: a MeshHTTPRoute `<svc>` (kuma.io/v1alpha1, Kuma's current routing policy; the
// older TrafficRoute is not written) for traffic from the whole mesh to the apex
// MeshService, whose rules send to `<svc>-primary` and `<svc>-canary` by weight. A/B adds
// a rule with the A/B matches (Gateway API's match shape, which MeshHTTPRoute shares) ahead
// of the default one. Kuma's module is not served to this project's build, so the local
// control plane has no MeshHTTPRoute schema: the shape follows Kuma's documentation.

export const KUMA_API_VERSION = 'kuma.io/v1alpha1';
/** The mesh a policy belongs to; Kuma's default mesh unless the apex Service's labels say otherwise. */
export const KUMA_MESH_LABEL = 'kuma.io/mesh';

const RULES = { weighted: 'weighted', abMatch: 'ab-match' } as const;

function backendRefs(canary: Canary, primaryWeight: number, canaryWeight: number): JsonObject[] {
  const port = canary.spec.service.port;
  const ref = (name: string, weight: number) => ({ kind: 'MeshService', name, port, weight });
  return [
    ref(serviceName(canary, 'primary'), primaryWeight),
    ref(serviceName(canary, 'canary'), canaryWeight),
  ];
}

export function kumaRules(canary: Canary, routes: SetRoutesOptions): JsonObject[] {
  const own = gatewayMatches(canary.spec.service.match, 'spec.service.match');
  const matches = own.length ? own : [structuredClone(MATCH_EVERYTHING)];
  const weighted = {
    matches,
    default: { backendRefs: backendRefs(canary, routes.primaryWeight, routes.canaryWeight) },
  };
  if (!routes.match) return [weighted];
  const ab = mergeGatewayMatches(gatewayMatches(canary.spec.analysis.match, 'spec.analysis.match'), matches);
  return [
    { matches: ab, default: { backendRefs: backendRefs(canary, routes.primaryWeight, routes.canaryWeight) } },
    { matches, default: { backendRefs: backendRefs(canary, 100, 0) } },
  ];
}

export function meshHttpRouteObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  const service = canary.spec.service;
  const mesh = service.apex?.labels?.[KUMA_MESH_LABEL] ?? 'default';
  return {
    apiVersion: KUMA_API_VERSION,
    kind: 'MeshHTTPRoute',
    metadata: apexObjectMetadata(canary, serviceName(canary, 'apex'), live, {
      labels: { [KUMA_MESH_LABEL]: mesh },
      // Which of the rules is which: Kuma's rules carry no names.
      annotations: { 'sluice.dev/rules': routes.match ? `${RULES.abMatch},default` : RULES.weighted },
    }),
    spec: {
      targetRef: { kind: 'Mesh' },
      to: [
        {
          targetRef: { kind: 'MeshService', name: serviceName(canary, 'apex') },
          rules: kumaRules(canary, routes),
        },
      ],
    },
  };
}

export function routesFromMeshHttpRoute(canary: Canary, object: JsonObject): Routes | undefined {
  const apex = serviceName(canary, 'apex');
  const to = ((object.spec as { to?: JsonObject[] } | undefined)?.to ?? []).find(
    (entry) => (entry.targetRef as { name?: string } | undefined)?.name === apex,
  );
  type Rule = { default?: { backendRefs?: { name?: string; weight?: number }[] } };
  const rules = (to?.rules as Rule[] | undefined) ?? [];
  const first = rules[0];
  if (!first) return undefined;
  const refs = first.default?.backendRefs ?? [];
  const weightOf = (name: string) => {
    const ref = refs.find((candidate) => candidate.name === name);
    return ref ? (ref.weight ?? 1) : 0;
  };
  const annotations = (object.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
  return {
    primaryWeight: weightOf(serviceName(canary, 'primary')),
    canaryWeight: weightOf(serviceName(canary, 'canary')),
    mirror: false,
    match: annotations?.['sluice.dev/rules']?.startsWith(RULES.abMatch) ?? false,
  };
}

export function kumaRouter(deps: RouterDeps): Router {
  return singleObjectRouter(deps, {
    kind: 'kuma',
    ref: apexRef(KUMA_API_VERSION, 'MeshHTTPRoute'),
    desired: meshHttpRouteObject,
    read: routesFromMeshHttpRoute,
  });
}
