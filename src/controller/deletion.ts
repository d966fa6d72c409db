import type { Canary } from '../api/canary.ts';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { EventRecorder, EventSubject } from '../notify/events.ts';
import type { Router } from '../routers/router.ts';
import type { Target } from '../targets/target.ts';
import { canaryRef, type CanaryObject } from './canary-object.ts';
import { terminatingStatus } from './canary-status.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { StatusWriter } from './status-writer.ts';

// Deleting a Canary. With spec.revertOnDeletion Sluice holds the deletion with its
// finalizer until the target serves again: routes back to it, the target scaled up and
// ready, then the primary and Sluice's routing objects removed. Without it the finalizer
// is dropped at once and everything Sluice made keeps serving. The wait is bounded (one
// progressDeadlineSeconds), so a deletion always ends.

export const FINALIZER = 'sluice.dev/finalizer';

/** How long a deletion waits before it looks at the restored target again. */
const RESTORE_POLL_MS = 2000;

/** Flagger's default, as the plan reads it (src/machine/plan.ts). */
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** The Warning Event's reason when a deletion lets a Canary go without restoring its target. */
export const RESTORE_FAILED_REASON = 'RestoreFailed';

export interface DeletionDeps {
  kube: Pick<Kube, 'wire'>;
  metrics: ControllerMetrics;
  status: StatusWriter;
  /** Fire a reconcile of this key at `at` (epoch ms); null cancels it. */
  schedule(key: string, at: number | null): void;
  now: () => number;
  events: Pick<EventRecorder, 'record'>;
  /** The Canary, as Events name it. */
  subject: EventSubject;
}

/** Adds or removes Sluice's finalizer; a merge patch guarded by resourceVersion. */
export async function setFinalizer(
  deps: Pick<DeletionDeps, 'kube' | 'metrics'>,
  object: CanaryObject,
  present: boolean,
): Promise<void> {
  // A merge patch cannot recreate a Canary that is already gone (a server-side apply
  // would), and a concurrent change of the list makes it retry.
  const current = object.metadata.finalizers ?? [];
  const finalizers = present
    ? [...new Set([...current, FINALIZER])]
    : current.filter((finalizer) => finalizer !== FINALIZER);
  if (finalizers.length === current.length && finalizers.every((f, i) => f === current[i])) return;
  try {
    await deps.kube.wire.mergePatchObject(
      canaryRef(object),
      { metadata: { finalizers, resourceVersion: object.metadata.resourceVersion } },
      { fieldManager: 'sluice' },
    );
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  deps.metrics.apiWrites.inc({ write: 'finalizer' });
}

/** Keeps the finalizer on a Canary that asks to be reverted on deletion. */
export async function keepFinalizer(
  deps: Pick<DeletionDeps, 'kube' | 'metrics'>,
  object: CanaryObject,
  canary: Canary,
): Promise<void> {
  if (canary.spec.revertOnDeletion && !object.metadata.finalizers?.includes(FINALIZER)) {
    await setFinalizer(deps, object, true);
  }
}

/** The Canary being deleted: its spec and how to reach its workload, or why the spec cannot be acted on. */
export type DeletedSpec =
  { canary: Canary; workload: () => { target: Target; router: Router } } | { issues: string };

/**
 * One step of a deletion. Returns true when the Canary is released (the finalizer is gone
 * or was never there) and false while it waits for the restored target to be ready. The
 * wait is bounded: one progressDeadlineSeconds from the deletion, then a Warning Event says
 * what could not be restored and the finalizer goes anyway, leaving the primary and the
 * routing serving. A spec that has become invalid, or a workload that cannot be built or
 * read, releases the Canary the same way, so `kubectl delete canary` always returns.
 */
export async function finalizeDeletion(
  deps: DeletionDeps,
  key: string,
  object: CanaryObject,
  spec: DeletedSpec,
  log: Logger,
): Promise<boolean> {
  deps.schedule(key, null);
  if (!object.metadata.finalizers?.includes(FINALIZER)) return true;
  if ('issues' in spec) {
    return giveUp(deps, object, `the target was not restored: ${spec.issues}`, log);
  }
  const { canary } = spec;
  if (!canary.spec.revertOnDeletion) {
    await setFinalizer(deps, object, false);
    return true;
  }
  const deletedAt = Date.parse(object.metadata.deletionTimestamp ?? '') || deps.now();
  const deadline =
    deletedAt + (canary.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
  const kind = canary.spec.targetRef.kind;
  const name = `${kind} ${canary.spec.targetRef.name}`;
  let workload: { target: Target; router: Router };
  try {
    workload = spec.workload();
  } catch (error) {
    return giveUp(deps, object, `${name} was not restored: ${apiErrorMessage(error)}`, log);
  }
  const { target, router } = workload;
  await deps.status
    .write(key, object, terminatingStatus(deps.status.latest(key, object)), log)
    .catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  let ready: { state: string; message: string };
  try {
    ready = await target.restore(canary);
  } catch (error) {
    // A missing target (404) or one that cannot be written: wait for it like a slow one.
    ready = { state: 'failed', message: apiErrorMessage(error) };
  }
  if (ready.state !== 'ready') {
    if (deps.now() >= deadline) {
      const primary = `${canary.spec.targetRef.name}-primary`;
      return giveUp(
        deps,
        object,
        `${name} was not restored within progressDeadlineSeconds (${ready.message}); ` +
          `${kind} ${primary} and the routing are left serving`,
        log,
      );
    }
    log.info({ reason: ready.message }, 'waiting for the target to be ready before removing the primary');
    deps.schedule(key, Math.min(deps.now() + RESTORE_POLL_MS, deadline));
    return false;
  }
  await router.finalize(canary);
  await target.removePrimary(canary);
  log.info('target restored; primary and routing removed');
  await setFinalizer(deps, object, false);
  return true;
}

/** The deletion cannot restore the target: say what was not restored, and let the Canary go. */
async function giveUp(
  deps: DeletionDeps,
  object: CanaryObject,
  message: string,
  log: Logger,
): Promise<boolean> {
  log.warn(message);
  await deps.events.record(deps.subject, 'Warning', RESTORE_FAILED_REASON, message);
  await setFinalizer(deps, object, false);
  return true;
}
