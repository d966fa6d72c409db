import { describe, expect, it } from 'vitest';
import { workloadFingerprint } from './fingerprint.ts';

const deployment = (status: Record<string, unknown>, replicas = 1, generation = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app', namespace: 'ns', generation, resourceVersion: String(Math.random()) },
  spec: { replicas },
  status: { observedGeneration: generation, ...status },
});

const available = [
  { type: 'Available', status: 'True', lastUpdateTime: 'a' },
  { type: 'Progressing', status: 'True', lastUpdateTime: 'b' },
];

describe('workloadFingerprint', () => {
  it('stays the same while a scale-up only moves counters on its way', () => {
    const created = deployment({ replicas: 1, updatedReplicas: 1, conditions: available });
    const scheduled = deployment({
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 0,
      conditions: available,
    });
    expect(workloadFingerprint(scheduled)).toBe(workloadFingerprint(created));
  });

  it('changes when the workload becomes fully ready', () => {
    const starting = deployment({ replicas: 1, updatedReplicas: 1, conditions: available });
    const ready = deployment({
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: available,
    });
    expect(workloadFingerprint(ready)).not.toBe(workloadFingerprint(starting));
  });

  it('changes with the spec, deletion, annotations and condition status, not with timestamps', () => {
    const base = deployment({ conditions: available });
    expect(workloadFingerprint(deployment({ conditions: available }, 0))).not.toBe(workloadFingerprint(base));
    expect(workloadFingerprint(deployment({ conditions: available }, 1, 3))).not.toBe(
      workloadFingerprint(base),
    );
    expect(
      workloadFingerprint({
        ...base,
        metadata: { ...base.metadata, deletionTimestamp: new Date('2025-01-01T00:00:00Z') },
      }),
    ).not.toBe(workloadFingerprint(base));
    expect(
      workloadFingerprint({ ...base, metadata: { ...base.metadata, annotations: { a: 'b' } } }),
    ).not.toBe(workloadFingerprint(base));
    const failing = deployment({ conditions: [{ type: 'Progressing', status: 'False' }] });
    expect(workloadFingerprint(failing)).not.toBe(workloadFingerprint(base));
    const retimed = deployment({ conditions: available.map((c) => ({ ...c, lastUpdateTime: 'later' })) });
    expect(workloadFingerprint(retimed)).toBe(workloadFingerprint(base));
  });

  it('reads a DaemonSet by its scheduled nodes', () => {
    const daemonSet = (ready: number) => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ds', generation: 1 },
      spec: {},
      status: {
        observedGeneration: 1,
        desiredNumberScheduled: 2,
        updatedNumberScheduled: 2,
        numberReady: ready,
        numberAvailable: ready,
      },
    });
    expect(workloadFingerprint(daemonSet(2))).not.toBe(workloadFingerprint(daemonSet(1)));
    expect(workloadFingerprint(daemonSet(1))).toBe(workloadFingerprint(daemonSet(0)));
  });
});
