import type { Canary } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';
import { canaryNamespace } from '../kube/meta.ts';
import { applyObject, getObject, type ObjectRef } from '../kube/objects.ts';
import type { ReadinessReport } from './readiness.ts';
import { shortHash, stableStringify } from '../kube/hash.ts';
import type {
  BootstrapResult,
  PromoteResult,
  ScaleResult,
  Target,
  TargetDeps,
  TargetReadiness,
} from './target.ts';

// A Knative Service as a target: Knative keeps every revision and scales them itself, so
// there is no `-primary` copy and nothing to scale. The primary is a revision, named in the
// Service's `sluice.dev/primary-revision` annotation (the knative router splits traffic
// between it and the latest revision); promotion points the annotation at the latest
// revision. Sluice's revision is a hash of the Service's template, so a template change is a
// new rollout and a template reverted to the promoted one is not.

export const KNATIVE_SERVICE_API_VERSION = 'serving.knative.dev/v1';
export const PRIMARY_REVISION_ANNOTATION = 'sluice.dev/primary-revision';
/** Flagger's annotation for the same, read when a Canary moves over. */
export const FLAGGER_PRIMARY_REVISION_ANNOTATION = 'flagger.app/primary-revision';
/** The label Knative puts on every pod of a Service's revisions. */
const SERVICE_LABEL = 'serving.knative.dev/service';

interface KnativeService {
  metadata?: { annotations?: Record<string, string>; generation?: number };
  spec?: { template?: unknown; traffic?: unknown[] };
  status?: {
    observedGeneration?: number;
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

function ref(canary: Canary): ObjectRef {
  return {
    apiVersion: KNATIVE_SERVICE_API_VERSION,
    kind: 'Service',
    metadata: { name: canary.spec.targetRef.name, namespace: canaryNamespace(canary) },
  };
}

const describe = (canary: Canary) =>
  `Knative Service ${canaryNamespace(canary)}/${canary.spec.targetRef.name}`;

/** The revision the primary runs, or undefined before the first promotion. */
export function primaryRevisionOf(service: KnativeService): string | undefined {
  const annotations = service.metadata?.annotations ?? {};
  return annotations[PRIMARY_REVISION_ANNOTATION] ?? annotations[FLAGGER_PRIMARY_REVISION_ANNOTATION];
}

/** The latest revision, once Knative has created it for the current template. */
function latestRevision(service: KnativeService): string | undefined {
  const { status, metadata } = service;
  if (status?.observedGeneration !== undefined && status.observedGeneration !== metadata?.generation)
    return undefined;
  return status?.latestCreatedRevisionName;
}

function revisionReport(
  canary: Canary,
  service: KnativeService,
  revision: string | undefined,
): ReadinessReport {
  if (!revision)
    return {
      state: 'notReady',
      message: `${describe(canary)}: Knative has not created the revision of its template yet`,
    };
  if (service.status?.latestReadyRevisionName === revision)
    return { state: 'ready', message: `revision ${revision} is ready` };
  const ready = service.status?.conditions?.find(
    (condition) => condition.type === 'ConfigurationsReady' || condition.type === 'Ready',
  );
  // Knative gives up on a revision that cannot start (RevisionFailed, ProgressDeadlineExceeded).
  if (ready?.status === 'False' && revision === service.status?.latestCreatedRevisionName)
    return {
      state: 'deadlineExceeded',
      message:
        `${describe(canary)}: revision ${revision} failed: ${ready.reason ?? ''} ${ready.message ?? ''}`.trim(),
    };
  return { state: 'notReady', message: `${describe(canary)}: waiting for revision ${revision} to be ready` };
}

export function knativeTarget(deps: TargetDeps): Target {
  async function read(canary: Canary): Promise<KnativeService> {
    const service = await getObject(deps.kube, ref(canary));
    if (!service)
      throw new Error(
        `Canary ${canaryNamespace(canary)}/${canary.metadata.name}: spec.targetRef names ${describe(canary)}, which does not exist`,
      );
    return service as KnativeService;
  }

  function revisionFrom(service: KnativeService) {
    const hash = shortHash(stableStringify(service.spec?.template ?? {}));
    return { revision: hash, podTemplateHash: hash, configs: {} };
  }

  async function promote(canary: Canary, options: { revision?: string } = {}): Promise<PromoteResult> {
    const service = await read(canary);
    const revision = revisionFrom(service);
    const latest = latestRevision(service);
    if (options.revision !== undefined && options.revision !== revision.revision)
      return { applied: false, revision, writes: 0, message: `${describe(canary)} moved on: not promoted` };
    // Knative has not observed the Service's last change (a template, or Sluice's own traffic
    // block): which revision is latest is not known yet, so the promotion waits for it.
    if (!latest)
      return {
        applied: false,
        revision,
        writes: 0,
        message: `${describe(canary)}: waiting for Knative to observe generation ${service.metadata?.generation ?? '?'}`,
      };
    if (
      primaryRevisionOf(service) === latest &&
      service.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION] === latest
    )
      return { applied: true, revision, writes: 0, message: `primary revision ${latest}` };
    // The same field manager as the knative router: its traffic block goes along, or this apply would drop it.
    const traffic = service.spec?.traffic;
    await applyObject(deps.kube, {
      ...ref(canary),
      metadata: { ...ref(canary).metadata, annotations: { [PRIMARY_REVISION_ANNOTATION]: latest } },
      ...(traffic ? { spec: { traffic: structuredClone(traffic) as JsonObject[] } } : {}),
    });
    return { applied: true, revision, writes: 1, message: `primary revision is now ${latest}` };
  }

  /**
   * The primary revision once the latest ready one has moved past it: Knative keeps it, and
   * its own Revision object says whether it still serves.
   */
  async function primaryReport(canary: Canary, service: KnativeService): Promise<ReadinessReport> {
    const primary = primaryRevisionOf(service);
    if (!primary || primary === service.status?.latestReadyRevisionName)
      return revisionReport(canary, service, primary);
    const revision = (await getObject(deps.kube, {
      apiVersion: KNATIVE_SERVICE_API_VERSION,
      kind: 'Revision',
      metadata: { name: primary, namespace: canaryNamespace(canary) },
    })) as { status?: KnativeService['status'] } | undefined;
    if (!revision)
      return {
        state: 'notReady',
        message: `${describe(canary)}: primary revision ${primary} does not exist (deleted, or collected by Knative)`,
      };
    const ready = revision.status?.conditions?.find((condition) => condition.type === 'Ready');
    if (ready?.status === 'True') return { state: 'ready', message: `revision ${primary} is ready` };
    return {
      state: 'notReady',
      message:
        `${describe(canary)}: primary revision ${primary} is not ready: ${ready?.reason ?? ''} ${ready?.message ?? ''}`.trim(),
    };
  }

  async function readiness(canary: Canary): Promise<TargetReadiness> {
    const service = await read(canary);
    return {
      canary: revisionReport(canary, service, latestRevision(service)),
      primary: await primaryReport(canary, service),
    };
  }

  const noScaling = async (): Promise<ScaleResult> => ({ replicas: 1, written: false });

  return {
    kind: 'KnativeService',

    async pods(canary) {
      return { selector: { label: SERVICE_LABEL, value: canary.spec.targetRef.name }, ports: {} };
    },

    async revision(canary) {
      return revisionFrom(await read(canary));
    },

    promote,

    async bootstrap(canary): Promise<BootstrapResult> {
      const service = await read(canary);
      const promoted = primaryRevisionOf(service) ? { writes: 0 } : await promote(canary);
      const { primary } = await readiness(canary);
      return { done: primary.state === 'ready', primary, writes: promoted.writes };
    },

    // Knative scales every revision with its traffic: nothing for Sluice to do.
    scaleCanary: noScaling,
    readiness,

    async restore(canary) {
      return (await readiness(canary)).canary;
    },

    async removePrimary() {
      return { deleted: [] };
    },
  };
}
