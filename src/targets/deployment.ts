import { readTargetHpa } from './hpa.ts';
import { Deployment } from '../kube/kinds.ts';
import { labelSelectorString, primaryDeployment } from './primary.ts';
import { currentDeploymentPods, deploymentReadiness, type ReplicaSetInfo } from './readiness.ts';
import { GITOPS_MANAGERS } from '../kube/field-owners.ts';
import { decideReplicas } from './replicas.ts';
import { applyObject } from '../kube/objects.ts';
import type { ScaleResult, Target, TargetDeps } from './target.ts';
import { canarySubject } from '../kube/meta.ts';
import { workloadTarget, type WorkloadContext, type WorkloadKind } from './workload.ts';

// A Deployment target: the primary is a Deployment `<name>-primary`; the idle canary is
// the target at zero replicas (unless a GitOps tool owns its replicas, see replicas.ts).

/** Replicas the canary runs during an analysis: Flagger's rule (HPA minimum, else the primary's). */
async function analysisReplicas(
  context: WorkloadContext<Deployment>,
  primary: Deployment | undefined,
): Promise<number> {
  const { canary, deps } = context;
  if (canary.spec.autoscalerRef) {
    const hpa = await readTargetHpa(deps.kube, canary);
    return Math.max(1, hpa.spec.minReplicas ?? 1);
  }
  return Math.max(1, primary?.spec.replicas ?? 1);
}

async function scale(
  context: WorkloadContext<Deployment>,
  target: Deployment,
  to: 'up' | 'zero' | 'restore',
  primary: Deployment | undefined,
): Promise<ScaleResult> {
  const { canary, deps, namespace } = context;
  const what = context.describe(target.metadata.name);
  const live = target.spec.replicas ?? 1;
  let desired: number;
  if (to === 'zero') {
    desired = 0;
  } else if (to === 'up') {
    // Already running (scaled by an HPA, a person, or Git): the analysis uses what is there.
    if (live > 0) return { replicas: live, written: false };
    desired = await analysisReplicas(context, primary);
  } else {
    // Taking the traffic back from the primary: at least the primary's capacity.
    desired = Math.max(live, primary?.spec.replicas ?? (await analysisReplicas(context, primary)), 1);
  }
  const decision = decideReplicas(
    what,
    live,
    desired,
    target.metadata.managedFields,
    deps.gitopsManagers ?? GITOPS_MANAGERS,
  );
  switch (decision.action) {
    case 'none':
      return { replicas: live, written: false };
    case 'apply':
      await applyObject(
        deps.kube,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: target.metadata.name, namespace },
          spec: { replicas: desired },
        },
        { force: decision.force },
      );
      return { replicas: desired, written: true };
    case 'skip':
      await deps.events?.record(canarySubject(canary), 'Warning', 'ReplicasOwnedByGitOps', decision.message);
      deps.logger?.warn({ owners: decision.owners }, decision.message);
      return { replicas: live, written: false, warning: decision.message };
  }
}

export const deploymentKind: WorkloadKind<Deployment> = {
  kind: 'Deployment',
  schema: Deployment,
  primary(target, input, live, canary) {
    const targetReplicas = target.spec.replicas ?? 1;
    const liveReplicas = live?.spec.replicas ?? 0;
    // With an HPA the primary's replicas are the HPA's business: keep what it has. Without,
    // they follow the target while it runs (an idle target at zero says nothing).
    const replicas = canary.spec.autoscalerRef
      ? liveReplicas || targetReplicas || 1
      : targetReplicas || liveReplicas || 1;
    return primaryDeployment(target, input, replicas);
  },
  readiness: deploymentReadiness,
  // deploymentReadiness answers before looking at pods in both cases: an idle canary costs no pod list.
  podsMatter: (deployment) =>
    (deployment.spec.replicas ?? 1) > 0 &&
    (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0),
  async currentPods(deps, deployment, pods) {
    if (
      !pods.some(
        (pod) =>
          pod.status?.phase === 'Failed' || (pod.status?.containerStatuses ?? []).some((c) => !c.ready),
      )
    ) {
      return pods; // nothing to tell apart: spare the list call
    }
    const replicaSets = await deps.kube.wire.listObjects(
      'apps/v1',
      'ReplicaSet',
      deployment.metadata.namespace,
      labelSelectorString(deployment.spec.selector.matchLabels),
    );
    return currentDeploymentPods(deployment, replicaSets as ReplicaSetInfo[], pods);
  },
  scale,
};

export function deploymentTarget(deps: TargetDeps): Target {
  return workloadTarget(deploymentKind, deps);
}
