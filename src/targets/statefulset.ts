import { HttpMethod, PatchStrategy } from '../kube/library.ts';
import type { z } from 'zod';
import type { Canary } from '../api/canary.ts';
import { readRelease } from '../api/release.ts';
import { apiErrorMessage } from '../kube/client.ts';
import { Pod, StatefulSet, parseWire, type JsonObject } from '../kube/kinds.ts';
import { canaryNamespace, canaryRef, selectorLabel } from '../kube/meta.ts';
import { applyObject, deleteObject, getObject } from '../kube/objects.ts';
import { silentLogger } from '../log.ts';
import { podPercentageWeight, stepReplicasWeights } from './partition.ts';
import { labelSelectorString } from './primary.ts';
import {
  notReady,
  readyUnlessFailing,
  requiredPods,
  workloadReading,
  type ReadinessReport,
} from './readiness.ts';
import { revisionOf, type Revision } from './revision.ts';
import type { PromoteResult, ScaleResult, Target, TargetDeps, TargetReadiness } from './target.ts';

// A StatefulSet is released in place, by partition (docs/decisions/0024-statefulset-canaries.md):
// no `-primary` copy, since its pods' identities and volumes belong to their ordinals. The
// "canary" is the pods on status.updateRevision (the highest ordinals, from the partition
// up), the "primary" the pods below the partition, on status.currentRevision.
// - hold (initialisation, rollback, end of promotion): partition = replicas;
// - a step (the partition router, src/routers/partition.ts): partition = replicas - pods;
// - promotion: partition = 0, ready once every pod runs the update revision;
// - rollback: the template back to currentRevision's ControllerRevision (what
//   `kubectl rollout undo` sends) and the pods of the abandoned revision deleted, so the
//   StatefulSet controller recreates them on currentRevision (they sit below the partition).

type Sts = z.output<typeof StatefulSet>;
type PodObject = z.output<typeof Pod>;

/** The label the StatefulSet controller puts on each pod: the ControllerRevision it runs. */
export const REVISION_LABEL = 'controller-revision-hash';

export function describeStatefulSet(canary: Canary): string {
  return `StatefulSet ${canaryNamespace(canary)}/${canary.spec.targetRef.name}`;
}

export async function readStatefulSet(deps: Pick<TargetDeps, 'kube'>, canary: Canary): Promise<Sts> {
  const namespace = canaryNamespace(canary);
  const name = canary.spec.targetRef.name;
  const what = `StatefulSet ${namespace}/${name} (spec.targetRef of Canary ${canaryRef(canary)})`;
  const object = await getObject(deps.kube, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
  });
  if (!object) throw new Error(`${what} does not exist`);
  const sts = parseWire(StatefulSet, object, what);
  const type = sts.spec.updateStrategy?.type;
  if (type !== undefined && type !== 'RollingUpdate')
    throw new Error(
      `${what}: spec.updateStrategy.type is ${type}; a StatefulSet canary needs RollingUpdate (Sluice moves its partition)`,
    );
  return sts;
}

export const replicasOf = (sts: Sts): number => sts.spec.replicas ?? 1;
export const partitionOf = (sts: Sts): number => sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;

/**
 * After a rollback: the revision that failed, and the template hash Sluice put back
 * (`<failed>/<hash>`). While the template is still that one, the StatefulSet's revision is
 * the failed one, so Sluice's own revert does not read as a fix from Git ("recovered") and
 * the Canary stays Failed. Before the revert it holds the intent (`<failed>/to:<revision>`,
 * the ControllerRevision the template goes back to), so a controller killed between the two
 * writes finds it and finishes the revert, and its revision still reads as the failed one.
 */
export const ROLLED_BACK_ANNOTATION = 'sluice.dev/rolled-back';
const INTENT_PREFIX = 'to:';

/** A rollback done (`template`, the hash put back) or intended (`to`, the revision to put back). */
export type RolledBack = { failed: string; template: string } | { failed: string; to: string };

export function rolledBackOf(sts: Sts): RolledBack | undefined {
  const text = sts.metadata.annotations?.[ROLLED_BACK_ANNOTATION];
  const [failed, rest] = text?.split('/') ?? [];
  if (!failed || !rest) return undefined;
  if (rest.startsWith(INTENT_PREFIX))
    return rest.length > INTENT_PREFIX.length ? { failed, to: rest.slice(INTENT_PREFIX.length) } : undefined;
  return { failed, template: rest };
}

const rolledBackText = (rolledBack: RolledBack | undefined): string | undefined =>
  rolledBack &&
  `${rolledBack.failed}/${'to' in rolledBack ? `${INTENT_PREFIX}${rolledBack.to}` : rolledBack.template}`;

/**
 * The revision a StatefulSet's template reads as (`hash`, its pod template's), given the
 * rolled-back annotation: the failed one while the template is the one Sluice put back, or
 * while a revert is intended and the template is still the failed one, already back (the
 * StatefulSet controller's updateRevision is the revision it went back to) or not yet seen
 * by the StatefulSet controller. A template from Git after that is a release as any other.
 */
export function statefulSetRevision(sts: Sts, hash: string): string {
  const rolledBack = rolledBackOf(sts);
  if (!rolledBack) return hash;
  if ('template' in rolledBack) return rolledBack.template === hash ? rolledBack.failed : hash;
  const unseen = (sts.status?.observedGeneration ?? 0) < (sts.metadata.generation ?? 0);
  return hash === rolledBack.failed || unseen || sts.status?.updateRevision === rolledBack.to
    ? rolledBack.failed
    : hash;
}

/**
 * Server-side apply of every field Sluice owns on a StatefulSet (the partition, and the
 * rolled-back annotation once there is one): an apply that left one out would release it.
 * No write when nothing changes.
 */
export async function applyPartition(
  deps: Pick<TargetDeps, 'kube'>,
  sts: Sts,
  partition: number,
  rolledBack: RolledBack | undefined = rolledBackOf(sts),
): Promise<boolean> {
  const note = rolledBackText(rolledBack);
  if (
    partitionOf(sts) === partition &&
    sts.spec.updateStrategy?.rollingUpdate?.partition !== undefined &&
    rolledBackText(rolledBackOf(sts)) === note
  )
    return false;
  await applyObject(deps.kube, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: sts.metadata.name,
      namespace: sts.metadata.namespace ?? '',
      ...(note ? { annotations: { [ROLLED_BACK_ANNOTATION]: note } } : {}),
    },
    spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } },
  });
  return true;
}

/** The ordinal of a StatefulSet's pod (`<name>-<ordinal>`), or undefined for another pod. */
export function ordinalOf(sts: Sts, pod: PodObject): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

const podReady = (pod: PodObject): boolean =>
  !pod.metadata.deletionTimestamp &&
  pod.status?.phase === 'Running' &&
  (pod.status.containerStatuses ?? []).length > 0 &&
  (pod.status.containerStatuses ?? []).every((status) => status.ready === true);

const revisionHash = (sts: Sts, revision: string | undefined): string | undefined =>
  revision?.startsWith(`${sts.metadata.name}-`) ? revision.slice(sts.metadata.name.length + 1) : revision;

/** The pods on a ControllerRevision (by name, as status.currentRevision / updateRevision give it). */
function podsOn(sts: Sts, pods: readonly PodObject[], revision: string | undefined): PodObject[] {
  const hash = revisionHash(sts, revision);
  return pods.filter((pod) => {
    const label = pod.metadata.labels?.[REVISION_LABEL];
    return label !== undefined && (label === revision || label === hash);
  });
}

/**
 * A PromQL regex of exactly these pods' names (`db-(3|4)`); `db-(none)` matches no pod of
 * the StatefulSet when there are none, so an empty arm answers "no data", never everything.
 */
export function podsRegex(sts: Sts, pods: readonly PodObject[]): string {
  const ordinals = pods
    .map((pod) => ordinalOf(sts, pod))
    .filter((ordinal): ordinal is number => ordinal !== undefined)
    .sort((a, b) => b - a);
  const name = sts.metadata.name.replace(/[.]/g, '\\.');
  return `${name}-(${ordinals.length ? ordinals.join('|') : 'none'})`;
}

type StatefulSetReadiness = (sts: Sts, pods: readonly PodObject[], threshold: number) => ReadinessReport;

/** workloadReading of the StatefulSet, with its replica count. */
function readingOf(sts: Sts): { what: string; replicas: number; waiting?: ReadinessReport } {
  return { ...workloadReading('StatefulSet', sts), replicas: replicasOf(sts) };
}

/**
 * The canary: the pods from the partition up, on status.updateRevision, enough of them
 * ready (canaryReadyThreshold). With the partition at replicas there are none: ready.
 */
export const statefulSetCanaryReadiness: StatefulSetReadiness = (sts, pods, threshold) => {
  const { what, replicas, waiting } = readingOf(sts);
  if (waiting) return waiting;
  const expected = Math.max(0, replicas - Math.min(replicas, partitionOf(sts)));
  if (expected === 0) return { state: 'ready', message: `${what}: no pod on the new revision yet` };
  const updated = podsOn(sts, pods, sts.status?.updateRevision).filter(
    (pod) => (ordinalOf(sts, pod) ?? -1) >= partitionOf(sts),
  );
  const ready = updated.filter(podReady).length;
  const required = requiredPods(expected, threshold);
  if (ready < required)
    return notReady(
      `${ready} of ${expected} pods ready on revision ${sts.status?.updateRevision ?? '?'} (ordinals ${partitionOf(sts)}–${replicas - 1})`,
      updated,
      what,
    );
  return readyUnlessFailing(`${what}: ${ready} of ${expected} pods on the new revision ready`, updated, what);
};

/**
 * The primary. Partition 0 (a promotion): every pod on status.updateRevision, ready, and
 * the controller done (currentRevision = updateRevision). Otherwise: every ordinal below the
 * partition on status.currentRevision and ready (primaryReadyThreshold); after a rollback
 * (partition = replicas) that is every pod back on the old revision.
 */
export const statefulSetPrimaryReadiness: StatefulSetReadiness = (sts, pods, threshold) => {
  const { what, replicas, waiting } = readingOf(sts);
  if (waiting) return waiting;
  const status = sts.status ?? {};
  if (partitionOf(sts) === 0) {
    const updated = podsOn(sts, pods, status.updateRevision);
    const ready = updated.filter(podReady).length;
    if (ready < replicas || status.currentRevision !== status.updateRevision)
      return notReady(
        `${ready} of ${replicas} pods ready on revision ${status.updateRevision ?? '?'}${status.currentRevision !== status.updateRevision ? ' (the StatefulSet controller is still rolling)' : ''}`,
        updated,
        what,
      );
    return readyUnlessFailing(
      `${what}: all ${replicas} pods ready on revision ${status.updateRevision ?? '?'}`,
      updated,
      what,
    );
  }
  const below = Math.min(replicas, partitionOf(sts));
  const current = podsOn(sts, pods, status.currentRevision).filter(
    (pod) => (ordinalOf(sts, pod) ?? replicas) < below,
  );
  const ready = current.filter(podReady).length;
  const required = requiredPods(below, threshold);
  const strays = pods.filter(
    (pod) =>
      !current.includes(pod) && (ordinalOf(sts, pod) ?? replicas) < below && !pod.metadata.deletionTimestamp,
  );
  if (ready < required || (strays.length > 0 && below === replicas))
    return notReady(
      `${ready} of ${below} pods ready on revision ${status.currentRevision ?? '?'}${strays.length ? `; not on it yet: ${strays.map((pod) => pod.metadata.name).join(', ')}` : ''}`,
      current,
      what,
    );
  return readyUnlessFailing(
    `${what}: ${ready} of ${below} pods ready on revision ${status.currentRevision ?? '?'}`,
    current,
    what,
  );
};

/**
 * The Canary with its pod steps as the weights the machine walks (src/targets/partition.ts):
 * `stepReplicas` become `steps` (each count, then an analysis), and a `steps[].setWeight` the
 * weight of the pod count it rounds up to. Other Canaries come back as they are.
 */
export function withPodSteps(canary: Canary, replicas: number): Canary {
  if (canary.spec.targetRef.kind !== 'StatefulSet') return canary;
  const analysis = canary.spec.analysis;
  let steps = analysis.steps;
  if (analysis.stepReplicas?.length) {
    steps = stepReplicasWeights(analysis.stepReplicas, replicas).flatMap((setWeight) => [
      { setWeight },
      { analysis: {} },
    ]);
  } else if (steps) {
    steps = steps.map((step) =>
      step.setWeight === undefined
        ? step
        : { ...step, setWeight: podPercentageWeight(step.setWeight, replicas) },
    );
  }
  if (steps === analysis.steps) return canary;
  const { stepReplicas: _counted, ...rest } = analysis;
  return { ...canary, spec: { ...canary.spec, analysis: { ...rest, steps } } };
}

/** withPodSteps with the StatefulSet's replicas read (a Canary of another kind costs no read). */
export async function podStepsOf(canary: Canary, deps: Pick<TargetDeps, 'kube'>): Promise<Canary> {
  if (canary.spec.targetRef.kind !== 'StatefulSet') return canary;
  return withPodSteps(canary, replicasOf(await readStatefulSet(deps, canary)));
}

export function statefulSetTarget(deps: TargetDeps): Target {
  const logger = deps.logger ?? silentLogger;

  async function listPods(sts: Sts): Promise<PodObject[]> {
    const namespace = sts.metadata.namespace ?? '';
    const items = await deps.kube.wire.listObjects(
      'v1',
      'Pod',
      namespace,
      labelSelectorString(sts.spec.selector.matchLabels ?? {}),
    );
    return items
      .map((item) => parseWire(Pod, item, `Pod ${namespace}/${item.metadata?.name ?? ''}`))
      .filter((pod) => ordinalOf(sts, pod) !== undefined);
  }

  function revisionFrom(sts: Sts): Revision {
    // The template alone: a changed ConfigMap restarts no pod of a StatefulSet, so it is no
    // release of one (docs/routing.md#statefulset-targets).
    const release = readRelease(
      sts.spec.template.metadata?.annotations,
      sts.metadata.annotations,
      `StatefulSet ${sts.metadata.namespace ?? ''}/${sts.metadata.name}`,
    );
    const revision = revisionOf(sts.spec.template, {});
    return { ...revision, revision: statefulSetRevision(sts, revision.podTemplateHash), release };
  }

  async function promote(canary: Canary, options: { revision?: string } = {}): Promise<PromoteResult> {
    const sts = await readStatefulSet(deps, canary);
    const revision = revisionFrom(sts);
    const what = describeStatefulSet(canary);
    if (options.revision !== undefined && options.revision !== revision.revision)
      return {
        applied: false,
        revision,
        writes: 0,
        message: `${what} is at revision ${revision.revision}, not ${options.revision}: not promoted`,
      };
    const written = await applyPartition(deps, sts, 0);
    logger.debug({ revision: revision.revision, written }, 'partition lowered to 0');
    return {
      applied: true,
      revision,
      writes: written ? 1 : 0,
      message: written
        ? `${what}: partition 0, every pod goes to revision ${revision.revision}`
        : `${what}: partition already 0`,
    };
  }

  /**
   * Puts the template back to status.currentRevision's ControllerRevision: the revision's
   * data is the strategic merge patch `kubectl rollout undo` sends (`$patch: replace` on the
   * template), so fields the abandoned revision added go too, whoever set them.
   */
  async function revertTemplate(sts: Sts, revision: string): Promise<Sts> {
    const namespace = sts.metadata.namespace ?? '';
    const history = (await getObject(deps.kube, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: revision, namespace },
    })) as { data?: JsonObject } | undefined;
    const what = `StatefulSet ${namespace}/${sts.metadata.name}`;
    if (!history?.data)
      throw new Error(
        `${what}: ControllerRevision ${namespace}/${revision} (status.currentRevision) is gone: cannot roll back`,
      );
    const path = await deps.kube.wire.pathOf({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: sts.metadata.name, namespace },
    });
    try {
      // The patched object as the apiserver answers it: a read right after could come from a
      // cache that has not seen the patch yet, and note the failed template as the one put back.
      const patched = await deps.kube.wire.request<unknown>(HttpMethod.PATCH, path, {
        body: history.data,
        contentType: PatchStrategy.StrategicMergePatch,
        query: { fieldManager: 'sluice' },
      });
      return parseWire(StatefulSet, patched, what);
    } catch (error) {
      throw new Error(`${what}: rolling the template back to ${revision} failed: ${apiErrorMessage(error)}`, {
        cause: error,
      });
    }
  }

  /** Hold every pod where it is; a rollout in flight is undone (see the file's comment). */
  async function hold(canary: Canary): Promise<ScaleResult> {
    let sts = await readStatefulSet(deps, canary);
    const replicas = replicasOf(sts);
    let written = await applyPartition(deps, sts, replicas);
    const { currentRevision, updateRevision } = sts.status ?? {};
    if (!currentRevision) return { replicas, written };
    // The revisions in status hold even before the controller has seen the partition move.
    // The intent goes first and a restart that finds it finishes the revert: a kill between
    // the template patch and the note would otherwise read as a fix from Git ("recovered").
    const rolledBack = rolledBackOf(sts);
    const intent = rolledBack && 'to' in rolledBack ? rolledBack : undefined;
    if (intent || (updateRevision && updateRevision !== currentRevision)) {
      const failed = intent?.failed ?? revisionFrom(sts).revision;
      const to = intent?.to ?? currentRevision;
      if (!intent) await applyPartition(deps, sts, replicas, { failed, to });
      sts = await revertTemplate(sts, to);
      const template = revisionOf(sts.spec.template, {}).podTemplateHash;
      await applyPartition(deps, sts, replicas, { failed, template });
      written = true;
      sts = await readStatefulSet(deps, canary);
    }
    // Pods off currentRevision sit below the partition now: deleted, they come back on it.
    const strays = (await listPods(sts)).filter(
      (pod) =>
        !pod.metadata.deletionTimestamp &&
        pod.metadata.labels?.[REVISION_LABEL] !== undefined &&
        podsOn(sts, [pod], currentRevision).length === 0,
    );
    for (const pod of strays) {
      const namespace = sts.metadata.namespace ?? '';
      if (
        await deleteObject(deps.kube, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod.metadata.name, namespace },
        })
      )
        written = true;
    }
    if (strays.length)
      logger.info(
        { pods: strays.map((pod) => pod.metadata.name), revision: currentRevision },
        'pods sent back to the current revision',
      );
    return { replicas, written };
  }

  async function readiness(canary: Canary): Promise<TargetReadiness> {
    const sts = await readStatefulSet(deps, canary);
    const pods = await listPods(sts);
    return {
      canary: statefulSetCanaryReadiness(sts, pods, canary.spec.analysis.canaryReadyThreshold),
      primary: statefulSetPrimaryReadiness(sts, pods, canary.spec.analysis.primaryReadyThreshold),
    };
  }

  return {
    kind: 'StatefulSet',

    async pods(canary) {
      const sts = await readStatefulSet(deps, canary);
      return { selector: selectorLabel(describeStatefulSet(canary), sts.spec.selector), ports: {} };
    },

    async revision(canary) {
      return revisionFrom(await readStatefulSet(deps, canary));
    },

    promote,

    async bootstrap(canary) {
      const promoted = await promote(canary);
      const { primary } = await readiness(canary);
      if (primary.state !== 'ready') return { done: false, primary, writes: promoted.writes };
      const scale = await hold(canary);
      return { done: true, primary, scale, writes: promoted.writes + (scale.written ? 1 : 0) };
    },

    // The pods of a step come from the partition router's weights: 'up' has nothing to add.
    async scaleCanary(canary, to) {
      if (to === 'zero') return hold(canary);
      return { replicas: replicasOf(await readStatefulSet(deps, canary)), written: false };
    },

    readiness,

    /** revertOnDeletion: the partition is released (Sluice stops owning it), so the StatefulSet rolls as if Sluice had never been there. */
    async restore(canary) {
      const sts = await readStatefulSet(deps, canary);
      const owned = sts.metadata.managedFields?.some(
        (entry) =>
          entry.manager === 'sluice' && entry.operation === 'Apply' && 'f:spec' in (entry.fieldsV1 ?? {}),
      );
      if (owned) {
        await applyObject(deps.kube, {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: sts.metadata.name, namespace: sts.metadata.namespace ?? '' },
        });
        return { state: 'notReady', message: `${describeStatefulSet(canary)}: partition released` };
      }
      return statefulSetPrimaryReadiness(
        sts,
        await listPods(sts),
        canary.spec.analysis.primaryReadyThreshold,
      );
    },

    async removePrimary() {
      return { deleted: [] };
    },

    async statefulSetArms(canary) {
      const sts = await readStatefulSet(deps, canary);
      const pods = await listPods(sts);
      const { currentRevision = '', updateRevision = '' } = sts.status ?? {};
      return {
        canaryPods: podsRegex(sts, podsOn(sts, pods, updateRevision)),
        primaryPods: podsRegex(sts, podsOn(sts, pods, currentRevision)),
        canaryRevision: updateRevision,
        primaryRevision: currentRevision,
      };
    },
  };
}
