import { serviceNames, type Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef, copiedMetadata } from '../kube/meta.ts';
import type { DesiredObject, ObjectRef } from '../kube/objects.ts';
import { canaryIngressName, ingressBeside, readIngressRef } from './nginx.ts';
import { annotationsOf } from './owned.ts';
import { RouterConfigError } from './router.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { singleObjectRouter } from './single-object.ts';

// Skipper: a canary Ingress `<ingress>-canary`, a copy of spec.ingressRef in which every
// path to `<svc>` goes to both `<svc>-primary` and `<svc>-canary`, split by Skipper's
// `zalando.org/backend-weights` annotation. Its `zalando.org/skipper-predicate` starts
// with `Weight(100)`, so Skipper prefers it to the team's Ingress for the same paths, or
// with `False()` while the canary gets nothing, so the team's Ingress serves as before.
// The Ingress in spec.ingressRef is only read.

export const SKIPPER_WEIGHTS_ANNOTATION = 'zalando.org/backend-weights';
export const SKIPPER_PREDICATE_ANNOTATION = 'zalando.org/skipper-predicate';
const PREFERRED = 'Weight(100)';
const DISABLED = 'False()';

/** The source's predicates with Sluice's one first (and no earlier Sluice predicate). */
export function withPredicate(raw: string | undefined, first: string): string {
  const rest = (raw ?? '')
    .split('&&')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part !== PREFERRED && part !== DISABLED);
  return [first, ...rest].join(' && ');
}

type Path = { backend?: { service?: { name?: string } } } & JsonObject;

export function skipperIngressObject(
  canary: Canary,
  source: JsonObject,
  routes: Routes,
  live: JsonObject | undefined,
): DesiredObject {
  const { apex, primary, canary: canarySvc } = serviceNames(canary.spec);
  const spec = structuredClone((source.spec as JsonObject | undefined) ?? {});
  let found = false;
  for (const rule of (spec.rules as { http?: { paths?: Path[] } }[] | undefined) ?? []) {
    if (!rule.http?.paths) continue;
    rule.http.paths = rule.http.paths.flatMap((path) => {
      if (path.backend?.service?.name !== apex) return [path];
      found = true;
      const toPrimary = structuredClone(path);
      toPrimary.backend!.service!.name = primary;
      const toCanary = structuredClone(path);
      toCanary.backend!.service!.name = canarySvc;
      return [toPrimary, toCanary];
    });
  }
  const sourceName = (source.metadata as { name?: string } | undefined)?.name ?? '';
  if (!found) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.ingressRef',
      `names Ingress ${sourceName}, which has no rule path for Service ${apex}`,
    );
  }
  const copied = copiedMetadata(annotationsOf(source));
  const annotations = {
    ...copied,
    [SKIPPER_WEIGHTS_ANNOTATION]: JSON.stringify({
      [primary]: routes.primaryWeight,
      [canarySvc]: routes.canaryWeight,
    }),
    [SKIPPER_PREDICATE_ANNOTATION]: withPredicate(
      copied[SKIPPER_PREDICATE_ANNOTATION],
      routes.canaryWeight > 0 ? PREFERRED : DISABLED,
    ),
  };
  return ingressBeside(canary, source, annotations, spec, live);
}

export function routesFromSkipperIngress(canary: Canary, ingress: JsonObject): Routes | undefined {
  const raw = annotationsOf(ingress)[SKIPPER_WEIGHTS_ANNOTATION];
  if (!raw) return undefined;
  let weights: Record<string, unknown>;
  try {
    weights = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const weightOf = (name: string) => (typeof weights[name] === 'number' ? weights[name] : 0);
  const { primary, canary: canarySvc } = serviceNames(canary.spec);
  if (!(primary in weights) && !(canarySvc in weights)) return undefined;
  return { primaryWeight: weightOf(primary), canaryWeight: weightOf(canarySvc), mirror: false, match: false };
}

export function skipperRouter(deps: RouterDeps): Router {
  const ref = (canary: Canary): ObjectRef => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: canaryIngressName(canary), namespace: canaryNamespace(canary) },
  });
  return singleObjectRouter(deps, {
    kind: 'skipper',
    ref,
    desired: async (canary: Canary, routes: SetRoutesOptions, live) =>
      skipperIngressObject(canary, await readIngressRef(deps.kube, canary), routes, live),
    read: routesFromSkipperIngress,
  });
}
