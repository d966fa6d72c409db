import type { StepReplicas } from '../api/canary.ts';

// A StatefulSet canary moves pods, not traffic: the new revision reaches the highest
// ordinals as `spec.updateStrategy.rollingUpdate.partition` goes down. The machine still
// walks weights, so every step is a weight that stands for a pod count: the fraction of
// pods on the new revision, in whole percent. Counts go to weights and back exactly for up
// to 100 replicas (|n·w/100 − c| ≤ n/200 ≤ ½); above that a step may land one pod off.

/** Pods on the new revision for one `stepReplicas` entry: a count, or a percentage rounded up. */
export function podsForStep(step: StepReplicas, replicas: number): number {
  if (replicas <= 0) return 0;
  const pods =
    typeof step === 'number' ? step : Math.ceil((replicas * Number.parseInt(step, 10)) / 100 - 1e-9);
  return Math.min(replicas, Math.max(1, pods));
}

/** The weight that stands for `pods` of `replicas` on the new revision (0–100). */
export function weightForPods(pods: number, replicas: number): number {
  if (replicas <= 0 || pods <= 0) return 0;
  if (pods >= replicas) return 100;
  // Never 0 or 100 for a partial step: 1 pod of 300 is still a step, 299 of 300 not the whole.
  return Math.min(99, Math.max(1, Math.round((100 * pods) / replicas)));
}

/** The pods a weight stands for: at least one for any weight above 0, never more than replicas. */
export function podsForWeight(weight: number, replicas: number): number {
  if (replicas <= 0 || weight <= 0) return 0;
  if (weight >= 100) return replicas;
  return Math.min(replicas - 1, Math.max(1, Math.round((replicas * weight) / 100)));
}

/** The partition that puts `pods` (the highest ordinals) on the new revision: never below 0. */
export function partitionFor(pods: number, replicas: number): number {
  return Math.max(0, replicas - Math.max(0, pods));
}

/** The weight a partition stands for (what the StatefulSet holds now). */
export function weightForPartition(partition: number, replicas: number): number {
  return weightForPods(replicas - Math.min(replicas, Math.max(0, partition)), replicas);
}

/** `stepReplicas` as weights, one per step, in order (repeats kept: each is a step with its analysis). */
export function stepReplicasWeights(steps: readonly StepReplicas[], replicas: number): number[] {
  return steps.map((step) => weightForPods(podsForStep(step, replicas), replicas));
}

/** A `steps[].setWeight` (a percentage of pods) as the weight of the pod count it rounds up to. */
export function podPercentageWeight(percent: number, replicas: number): number {
  if (percent <= 0) return 0;
  return weightForPods(podsForStep(`${Math.min(100, percent)}%`, replicas), replicas);
}
