import type { Canary } from '../api/canary.ts';
import { isNotFound, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { Router } from '../routers/router.ts';
import type { Target } from '../targets/target.ts';
import { canaryRef, type CanaryObject } from './canary-object.ts';
import { terminatingStatus } from './canary-status.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { StatusWriter } from './status-writer.ts';

// Deleting a Canary. With spec.revertOnDeletion Sluice holds the deletion with its
// finalizer until the target serves again: routes back to it, the target scaled up and
// ready, then the primary and Sluice's routing objects removed. Without it the finalizer
// is dropped at once and everything Sluice made keeps serving.

export const FINALIZER = 'sluice.dev/finalizer';

/** How long a deletion waits before it looks at the restored target again. */
const RESTORE_POLL_MS = 2000;

export interface DeletionDeps {
  kube: Pick<Kube, 'wire'>;
  metrics: ControllerMetrics;
  status: StatusWriter;
  /** Fire a reconcile of this key at `at` (epoch ms); null cancels it. */
  schedule(key: string, at: number | null): void;
  now: () => number;
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

/**
 * One step of a deletion. Returns true when the Canary is released (the finalizer is gone
 * or was never there) and false while it waits for the restored target to be ready.
 */
export async function finalizeDeletion(
  deps: DeletionDeps,
  key: string,
  object: CanaryObject,
  canary: Canary,
  workload: () => { target: Target; router: Router },
  log: Logger,
): Promise<boolean> {
  deps.schedule(key, null);
  if (!object.metadata.finalizers?.includes(FINALIZER)) return true;
  if (!canary.spec.revertOnDeletion) {
    await setFinalizer(deps, object, false);
    return true;
  }
  const { target, router } = workload();
  await deps.status
    .write(key, object, terminatingStatus(deps.status.latest(key, object)), log)
    .catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  const ready = await target.restore(canary);
  if (ready.state !== 'ready') {
    log.info({ reason: ready.message }, 'waiting for the target to be ready before removing the primary');
    deps.schedule(key, deps.now() + RESTORE_POLL_MS);
    return false;
  }
  await router.finalize(canary);
  await target.removePrimary(canary);
  log.info('target restored; primary and routing removed');
  await setFinalizer(deps, object, false);
  return true;
}
