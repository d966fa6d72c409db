import type { Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef } from '../kube/meta.ts';
import {
  KNATIVE_SERVICE_API_VERSION,
  PRIMARY_REVISION_ANNOTATION,
  primaryRevisionOf,
} from '../targets/knative.ts';
import { applyObject, getObject, type DesiredObject } from '../kube/objects.ts';
import { annotationsOf } from './owned.ts';
import { RouterConfigError } from './router.ts';
import type { Router, RouterDeps, Routes, SetRoutesOptions } from './router.ts';
import { singleObjectRouter } from './single-object.ts';

// Knative: no Services of Sluice's and no routing object of its own. The target is a
// Knative Service (serving.knative.dev/v1), which keeps every revision; Sluice splits its
// traffic block between the primary revision (named in `sluice.dev/primary-revision`,
// taken from Flagger's `flagger.app/primary-revision` or, at first, from the latest created
// revision) and the latest revision, the canary. Sluice owns, by server-side apply,
// spec.traffic and that annotation only: the template and everything else stay the team's.

export { KNATIVE_SERVICE_API_VERSION as KNATIVE_API_VERSION, PRIMARY_REVISION_ANNOTATION };

type Traffic = { revisionName?: string; latestRevision?: boolean; percent?: number };

/** The revision the primary runs: Sluice's annotation, Flagger's, or the latest created one. */
export function primaryRevision(canary: Canary, live: JsonObject | undefined): string {
  const status = live?.status as { latestCreatedRevisionName?: string } | undefined;
  const revision = (live && primaryRevisionOf(live)) ?? status?.latestCreatedRevisionName;
  if (!revision) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.targetRef',
      `names Knative Service ${canaryNamespace(canary)}/${canary.spec.targetRef.name}, which has no revision yet (status.latestCreatedRevisionName is empty)`,
    );
  }
  return revision;
}

export function knativeServiceObject(
  canary: Canary,
  routes: SetRoutesOptions,
  live: JsonObject | undefined,
): DesiredObject {
  if (!live) {
    throw new RouterConfigError(
      canaryRef(canary),
      'spec.targetRef',
      `names Knative Service ${canaryNamespace(canary)}/${canary.spec.targetRef.name}, which does not exist`,
    );
  }
  const primary = primaryRevision(canary, live);
  return {
    apiVersion: KNATIVE_SERVICE_API_VERSION,
    kind: 'Service',
    metadata: {
      name: canary.spec.targetRef.name,
      namespace: canaryNamespace(canary),
      annotations: { [PRIMARY_REVISION_ANNOTATION]: primary },
    },
    spec: {
      traffic: [
        { revisionName: primary, percent: routes.primaryWeight },
        { latestRevision: true, percent: routes.canaryWeight },
      ],
    },
  };
}

export function routesFromKnativeService(canary: Canary, service: JsonObject): Routes | undefined {
  const primary = annotationsOf(service)[PRIMARY_REVISION_ANNOTATION];
  const traffic = (service.spec as { traffic?: Traffic[] } | undefined)?.traffic ?? [];
  const toPrimary = traffic.find((target) => target.revisionName === primary && !target.latestRevision);
  const toLatest = traffic.find((target) => target.latestRevision === true);
  if (!primary || !toPrimary || !toLatest) return undefined;
  return {
    primaryWeight: toPrimary.percent ?? 0,
    canaryWeight: toLatest.percent ?? 0,
    mirror: false,
    match: false,
  };
}

export function knativeRouter(deps: RouterDeps): Router {
  const ref = (canary: Canary): DesiredObject => ({
    apiVersion: KNATIVE_SERVICE_API_VERSION,
    kind: 'Service',
    metadata: { name: canary.spec.targetRef.name, namespace: canaryNamespace(canary) },
  });
  return singleObjectRouter(deps, {
    kind: 'knative',
    ref,
    desired: knativeServiceObject,
    read: routesFromKnativeService,
    services: false,
    // Applying nothing drops what Sluice owned (the traffic block and the annotation):
    // Knative then sends everything to the latest revision again, as before the Canary.
    async release(canary) {
      if (await getObject(deps.kube, ref(canary))) await applyObject(deps.kube, ref(canary));
    },
  });
}
