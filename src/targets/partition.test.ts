import { describe, expect, it } from 'vitest';
import {
  partitionFor,
  podPercentageWeight,
  podsForStep,
  podsForWeight,
  stepReplicasWeights,
  weightForPartition,
  weightForPods,
} from './partition.ts';

describe('StatefulSet partition arithmetic', () => {
  it('reads a step as a count, or a percentage of replicas rounded up, within 1..replicas', () => {
    expect(podsForStep(1, 5)).toBe(1);
    expect(podsForStep(2, 5)).toBe(2);
    expect(podsForStep('50%', 5)).toBe(3);
    expect(podsForStep('20%', 5)).toBe(1);
    expect(podsForStep('10%', 5)).toBe(1); // 0.5 pods: at least one
    expect(podsForStep('1%', 3)).toBe(1);
    expect(podsForStep('100%', 7)).toBe(7);
    expect(podsForStep(9, 4)).toBe(4); // more than there are: all of them
    expect(podsForStep('50%', 0)).toBe(0);
    expect(podsForStep('30%', 10)).toBe(3); // exact: no rounding up of float noise
  });

  it('puts the pods on the highest ordinals: partition = replicas - pods, never below 0', () => {
    expect(partitionFor(0, 5)).toBe(5);
    expect(partitionFor(2, 5)).toBe(3);
    expect(partitionFor(5, 5)).toBe(0);
    expect(partitionFor(8, 5)).toBe(0);
    expect(partitionFor(-1, 5)).toBe(5);
  });

  it('turns counts into weights and back without losing a pod, for every count up to 100 replicas', () => {
    for (let replicas = 1; replicas <= 100; replicas++) {
      for (let pods = 0; pods <= replicas; pods++) {
        const weight = weightForPods(pods, replicas);
        expect(podsForWeight(weight, replicas), `${pods}/${replicas}`).toBe(pods);
        expect(weightForPartition(partitionFor(pods, replicas), replicas)).toBe(weight);
      }
    }
  });

  it('keeps a partial step strictly between 0 and 100 on large StatefulSets', () => {
    expect(weightForPods(1, 300)).toBe(1);
    expect(weightForPods(299, 300)).toBe(99);
    expect(podsForWeight(1, 300)).toBe(3);
    expect(podsForWeight(99, 300)).toBe(297);
    expect(podsForWeight(100, 300)).toBe(300);
  });

  it('reads a partition outside 0..replicas as none or all', () => {
    expect(weightForPartition(10, 4)).toBe(0);
    expect(weightForPartition(-2, 4)).toBe(100);
    expect(weightForPartition(0, 0)).toBe(0);
  });

  it('gives one weight per stepReplicas entry, in order', () => {
    expect(stepReplicasWeights([1, 2, '50%'], 5)).toEqual([20, 40, 60]);
    expect(stepReplicasWeights([1, 2, '50%'], 3)).toEqual([33, 67, 67]);
    expect(stepReplicasWeights([1, '100%'], 2)).toEqual([50, 100]);
  });

  it('reads a setWeight step of a StatefulSet as a percentage of pods, rounded up', () => {
    expect(podPercentageWeight(50, 3)).toBe(67);
    expect(podPercentageWeight(10, 4)).toBe(25);
    expect(podPercentageWeight(0, 4)).toBe(0);
    expect(podPercentageWeight(100, 4)).toBe(100);
  });
});
