import type { Canary } from '../api/canary.ts';
import type { Target } from '../targets/target.ts';
import type { Router } from './router.ts';

// revertOnDeletion: when a Canary with the finalizer is deleted, the target gets its
// replicas and its traffic back before Sluice removes what it created. Called on every
// reconcile of the deleted Canary until `done`; the controller then drops the finalizer.

export interface RevertResult {
  done: boolean;
  message: string;
}

export async function revertOnDeletion(
  canary: Canary,
  target: Target,
  router: Router,
): Promise<RevertResult> {
  // 1. The target runs again at the primary's capacity, and is ready, before it gets traffic.
  const restored = await target.restore(canary);
  if (restored.state !== 'ready')
    return { done: false, message: `waiting for the target: ${restored.message}` };
  // 2. Routing objects go (or get their original spec back) and the apex Service selects the target.
  await router.finalize(canary);
  // 3. Only then the primary, its HPA and its -primary configs.
  const { deleted } = await target.removePrimary(canary);
  return {
    done: true,
    message:
      `traffic and replicas returned to ${canary.spec.targetRef.kind} ${canary.spec.targetRef.name}` +
      (deleted.length ? `; deleted ${deleted.join(', ')}` : ''),
  };
}
