import type { Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef, copiedMetadata } from '../kube/meta.ts';
import { applyIfChanged, describe, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';
import { routesCapabilities } from './capabilities.ts';
import { translateNginxMatches } from './match.ts';
import { labelsOf, annotationsOf, ownershipAnnotations, releaseObject } from './owned.ts';
import { checkRoutes, RouterConfigError } from './router.ts';
import type { Router, RouterCapabilities, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { finalizeServices, reconcileServices, serviceName } from './services.ts';
import { readRoutes } from './single-object.ts';

// NGINX Ingress: a canary Ingress `<ingress>-canary`, a copy of spec.ingressRef whose
// backend is `<svc>-canary`, steered by ingress-nginx's canary annotations: canary-weight
// for a weighted canary, canary-by-header(-value/-pattern) and canary-by-cookie for A/B.
// The Ingress the team wrote (spec.ingressRef) is only read, never written.

export const NGINX_ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io';
export const NGINX_CAPABILITIES: RouterCapabilities = routesCapabilities('nginx');

const CANARY_KEYS = [
  'canary',
  'canary-weight',
  'canary-weight-total',
  'canary-by-header',
  'canary-by-header-value',
  'canary-by-header-pattern',
  'canary-by-cookie',
];

/** The Ingress the team wrote (spec.ingressRef), required by this provider. */
export function ingressRefName(canary: Canary): string {
  const ref = canary.spec.ingressRef;
  if (!ref) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.ingressRef',
      `is required by provider ${canary.spec.provider ?? 'nginx'}: name the Ingress that routes to the Service`,
    );
  }
  return ref.name;
}

/** The Ingress spec.ingressRef names; an error naming the field when it does not exist. */
export async function readIngressRef(kube: RouterDeps['kube'], canary: Canary): Promise<JsonObject> {
  const ref: ObjectRef = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: ingressRefName(canary), namespace: canaryNamespace(canary) },
  };
  const source = await getObject(kube, ref);
  if (!source)
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.ingressRef',
      `names ${describe(ref)}, which does not exist`,
    );
  return source;
}

export function canaryIngressName(canary: Canary): string {
  return `${ingressRefName(canary)}-canary`;
}

/**
 * The A/B annotations for spec.analysis.match: one header (a value, or an anchored pattern)
 * and/or one cookie (see translateNginxMatches). Throws what ingress-nginx cannot express.
 */
export function matchAnnotations(canary: Canary, prefix = NGINX_ANNOTATION_PREFIX): Record<string, string> {
  const { annotations, issues } = translateNginxMatches(
    canary.spec.analysis.match,
    'spec.analysis.match',
    prefix,
  );
  const issue = issues[0];
  if (issue) throw new RouterConfigError(canaryRef(canary), issue.path, issue.message);
  return annotations;
}

/** The canary Ingress: the source Ingress pointed at the canary Service, with the canary annotations. */
export function canaryIngressObject(
  canary: Canary,
  source: JsonObject,
  routes: Routes,
  live: JsonObject | undefined,
  prefix = NGINX_ANNOTATION_PREFIX,
): DesiredObject {
  const apex = serviceName(canary, 'apex');
  const canarySvc = serviceName(canary, 'canary');
  const spec = structuredClone((source.spec as JsonObject | undefined) ?? {});
  let found = false;
  const retarget = (backend: { service?: { name?: string } } | undefined) => {
    if (backend?.service?.name === apex) {
      backend.service.name = canarySvc;
      found = true;
    }
  };
  retarget(spec.defaultBackend as { service?: { name?: string } } | undefined);
  for (const rule of (spec.rules as
    { http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[] | undefined) ?? []) {
    for (const path of rule.http?.paths ?? []) retarget(path.backend);
  }
  const sourceName = (source.metadata as { name?: string } | undefined)?.name ?? '';
  if (!found) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.ingressRef',
      `names Ingress ${sourceName}, which has no backend for Service ${apex}`,
    );
  }
  const canaryAnnotations: Record<string, string> = { [`${prefix}/canary`]: 'true' };
  if (routes.match && routes.canaryWeight > 0) {
    Object.assign(canaryAnnotations, matchAnnotations(canary, prefix), { [`${prefix}/canary-weight`]: '0' });
  } else {
    canaryAnnotations[`${prefix}/canary-weight`] = String(routes.canaryWeight);
  }
  const copied = Object.fromEntries(
    Object.entries(copiedMetadata(annotationsOf(source))).filter(
      ([key]) => !CANARY_KEYS.some((k) => key === `${prefix}/${k}`),
    ),
  );
  return ingressBeside(canary, source, { ...copied, ...canaryAnnotations }, spec, live);
}

/** The canary Ingress Sluice writes beside the team's `source`: its labels, these annotations and `spec`. */
export function ingressBeside(
  canary: Canary,
  source: JsonObject,
  annotations: Record<string, string>,
  spec: JsonObject,
  live: JsonObject | undefined,
): DesiredObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: canaryIngressName(canary),
      namespace: canaryNamespace(canary),
      labels: copiedMetadata(labelsOf(source)),
      annotations: { ...annotations, ...ownershipAnnotations(canary.metadata.name, live) },
    },
    spec,
  };
}

export function routesFromIngress(ingress: JsonObject, prefix = NGINX_ANNOTATION_PREFIX): Routes | undefined {
  const annotations = annotationsOf(ingress);
  if (annotations[`${prefix}/canary`] !== 'true') return undefined;
  if (
    annotations[`${prefix}/canary-by-header`] !== undefined ||
    annotations[`${prefix}/canary-by-cookie`] !== undefined
  ) {
    // Every matching request goes to the canary; the rest stay on the primary.
    return { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
  }
  const weight = Number.parseInt(annotations[`${prefix}/canary-weight`] ?? '0', 10);
  const canaryWeight = Number.isFinite(weight) ? Math.max(0, Math.min(100, weight)) : 0;
  return { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: false };
}

export function nginxRouter(deps: RouterDeps & { annotationPrefix?: string }): Router {
  const prefix = deps.annotationPrefix ?? NGINX_ANNOTATION_PREFIX;
  const canaryRefOf = (canary: Canary): ObjectRef => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: canaryIngressName(canary), namespace: canaryNamespace(canary) },
  });

  async function applyIngress(canary: Canary, routes: Routes): Promise<void> {
    const live = await getObject(deps.kube, canaryRefOf(canary));
    const desired = canaryIngressObject(
      canary,
      await readIngressRef(deps.kube, canary),
      routes,
      live,
      prefix,
    );
    await applyIfChanged(deps.kube, desired, live);
  }

  return {
    provider: 'nginx',
    capabilities: NGINX_CAPABILITIES,

    async reconcile(canary) {
      await reconcileServices(deps, canary, await deps.targetPods(canary));
      const live = await getObject(deps.kube, canaryRefOf(canary));
      const current = live ? routesFromIngress(live, prefix) : undefined;
      const routes =
        current && !(current.match && !canary.spec.analysis.match?.length)
          ? current
          : { primaryWeight: 100, canaryWeight: 0, mirror: false, match: false };
      await applyIngress(canary, routes);
    },

    async setRoutes(canary: Canary, routes: SetRoutesOptions) {
      checkRoutes(canary, 'nginx', NGINX_CAPABILITIES, routes);
      if (routes.match && routes.canaryWeight !== 100 && routes.canaryWeight !== 0) {
        throw new RouterConfigError(
          canaryRef(canary),
          'routes',
          `with match, ingress-nginx sends every matching request to the canary: weights must be 0/100 or 100/0 (got ${routes.primaryWeight}/${routes.canaryWeight})`,
        );
      }
      await applyIngress(canary, routes);
    },

    getRoutes: (canary) =>
      readRoutes(deps, canary, canaryRefOf(canary), (live) => routesFromIngress(live, prefix)),

    async finalize(canary) {
      await releaseObject(deps.kube, canaryRefOf(canary));
      await finalizeServices(deps.kube, canary, await deps.targetPods(canary));
    },
  };
}
