import { describe, expect, it } from 'vitest';
import { deploymentKind } from './deployment.ts';
import type { Deployment, Pod } from '../kube/kinds.ts';
import { deploymentReadiness } from './readiness.ts';
import { deploymentWith } from '../../test/support/workloads.ts';

const options = { threshold: 100, progressDeadlineSeconds: 600, now: Date.parse('2026-06-01T12:00:00Z') };

function deployment(replicas: number, generation: number, observedGeneration: number): Deployment {
  const status = {
    observedGeneration,
    replicas,
    updatedReplicas: replicas,
    availableReplicas: 0,
    readyReplicas: 0,
  };
  return deploymentWith(status, replicas, generation);
}

const crashing: Pod = {
  metadata: { name: 'web-abc' },
  status: {
    phase: 'Running',
    containerStatuses: [
      { name: 'app', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } },
    ],
  },
};

describe('deploymentKind.podsMatter', () => {
  it('spares the pod list only where readiness does not look at pods', () => {
    const cases = [deployment(0, 2, 2), deployment(3, 3, 2), deployment(3, 2, 2), deployment(1, 2, 2)];
    for (const d of cases) {
      const withPods = deploymentReadiness(d, [crashing], options);
      const without = deploymentReadiness(d, [], options);
      if (deploymentKind.podsMatter?.(d) === false) expect(without).toEqual(withPods);
    }
    expect(cases.map((d) => deploymentKind.podsMatter?.(d))).toEqual([false, false, true, true]);
    // Where pods matter they do change the answer (a crash loop is reported at once).
    expect(deploymentReadiness(cases[2] as Deployment, [crashing], options).state).toBe('deadlineExceeded');
  });
});
