import { DaemonSet } from '../kube/kinds.ts';
import { SCALE_TO_ZERO_NODE_SELECTOR } from '../kube/meta.ts';
import { applyObject } from '../kube/objects.ts';
import { primaryDaemonSet } from './primary.ts';
import { currentDaemonSetPods, daemonSetReadiness } from './readiness.ts';
import type { ScaleResult, Target, TargetDeps } from './target.ts';
import { workloadTarget, type WorkloadContext, type WorkloadKind } from './workload.ts';

// A DaemonSet target has no replicas: the idle canary is kept off every node by a node
// selector only Sluice sets (and owns, through server-side apply), as Flagger does. A
// GitOps tool applying the DaemonSet without that key neither conflicts nor sees drift.

async function scale(
  context: WorkloadContext<DaemonSet>,
  target: DaemonSet,
  to: 'up' | 'zero' | 'restore',
): Promise<ScaleResult> {
  const { deps, namespace } = context;
  const parked = target.spec.template.spec.nodeSelector?.[SCALE_TO_ZERO_NODE_SELECTOR] === 'true';
  const ref = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: target.metadata.name, namespace },
  };
  if (to === 'zero') {
    if (parked) return { replicas: 0, written: false };
    await applyObject(deps.kube, {
      ...ref,
      spec: { template: { spec: { nodeSelector: { [SCALE_TO_ZERO_NODE_SELECTOR]: 'true' } } } },
    });
    return { replicas: 0, written: true };
  }
  if (!parked) return { replicas: 1, written: false };
  // Applying nothing releases the node selector key: server-side apply removes a field
  // when its only owner stops applying it.
  await applyObject(deps.kube, ref);
  return { replicas: 1, written: true };
}

export const daemonSetKind: WorkloadKind<DaemonSet> = {
  kind: 'DaemonSet',
  schema: DaemonSet,
  primary: (target, input) => primaryDaemonSet(target, input),
  readiness: daemonSetReadiness,
  currentPods: (_deps, daemonSet, pods) => Promise.resolve(currentDaemonSetPods(daemonSet, pods)),
  scale,
};

export function daemonSetTarget(deps: TargetDeps): Target {
  return workloadTarget(daemonSetKind, deps);
}
