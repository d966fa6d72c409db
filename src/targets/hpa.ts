import type { Canary } from '../api/canary.ts';
import type { Kube } from '../kube/client.ts';
import { HorizontalPodAutoscaler, parseWire, type OwnerReference } from '../kube/kinds.ts';
import { CANARY_ANNOTATION, canaryNamespace, canaryRef, copiedMetadata, primaryName } from '../kube/meta.ts';
import { applyIfChanged, getObject, type DesiredObject } from '../kube/objects.ts';

// With spec.autoscalerRef the primary gets its own HPA, a copy of the target's that
// scales `<name>-primary`. The target's HPA is left as it is: Kubernetes' HPA does not
// scale a workload whose replicas are 0 (ScalingActive=False, ScalingDisabled), so the
// idle canary stays at zero, and it scales the canary again while an analysis runs.

export function primaryHpaName(canary: Canary): string {
  const ref = canary.spec.autoscalerRef;
  if (!ref) throw new Error(`Canary ${canaryRef(canary)}: spec.autoscalerRef is not set`);
  return `${ref.name}-primary`;
}

/** The primary's HPA: the target HPA's spec pointed at the primary, with the Canary's replica overrides. */
export function primaryHpaObject(
  target: HorizontalPodAutoscaler,
  canary: Canary,
  owner: OwnerReference,
): DesiredObject {
  const overrides = canary.spec.autoscalerRef?.primaryScalerReplicas;
  const minReplicas = overrides?.minReplicas ?? target.spec.minReplicas;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: primaryHpaName(canary),
      namespace: target.metadata.namespace,
      labels: copiedMetadata(target.metadata.labels),
      annotations: {
        ...copiedMetadata(target.metadata.annotations),
        [CANARY_ANNOTATION]: canary.metadata.name,
      },
      ownerReferences: [owner],
    },
    spec: {
      scaleTargetRef: {
        apiVersion: target.spec.scaleTargetRef.apiVersion ?? 'apps/v1',
        kind: target.spec.scaleTargetRef.kind,
        name: primaryName(canary),
      },
      ...(minReplicas !== undefined ? { minReplicas } : {}),
      maxReplicas: overrides?.maxReplicas ?? target.spec.maxReplicas,
      ...(target.spec.metrics ? { metrics: structuredClone(target.spec.metrics) } : {}),
      ...(target.spec.behavior ? { behavior: structuredClone(target.spec.behavior) } : {}),
    },
  };
}

/** Reads the target's HPA named by spec.autoscalerRef and checks it scales the target. */
export async function readTargetHpa(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
): Promise<HorizontalPodAutoscaler> {
  const namespace = canaryNamespace(canary);
  const ref = canary.spec.autoscalerRef;
  if (!ref) throw new Error(`Canary ${canaryRef(canary)}: spec.autoscalerRef is not set`);
  if (ref.kind !== 'HorizontalPodAutoscaler') {
    throw new Error(
      `Canary ${canaryRef(canary)}: spec.autoscalerRef.kind ${ref.kind} is not supported yet; expected HorizontalPodAutoscaler`,
    );
  }
  const what = `HorizontalPodAutoscaler ${namespace}/${ref.name} (spec.autoscalerRef of Canary ${canaryRef(canary)})`;
  // Read as autoscaling/v2 whatever the reference says: the apiserver converts.
  const object = await getObject(kube, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: ref.name, namespace },
  });
  if (!object) throw new Error(`${what} does not exist`);
  const hpa = parseWire(HorizontalPodAutoscaler, object, what);
  const target = canary.spec.targetRef;
  if (hpa.spec.scaleTargetRef.name !== target.name || hpa.spec.scaleTargetRef.kind !== target.kind) {
    throw new Error(
      `${what} scales ${hpa.spec.scaleTargetRef.kind} ${hpa.spec.scaleTargetRef.name}; expected the target ${target.kind} ${target.name}`,
    );
  }
  return hpa;
}

/** Creates or updates the primary's HPA; a write only when it changed. */
export async function reconcilePrimaryHpa(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
  owner: OwnerReference,
): Promise<{ written: boolean }> {
  const target = await readTargetHpa(kube, canary);
  const { written } = await applyIfChanged(kube, primaryHpaObject(target, canary, owner));
  return { written };
}
