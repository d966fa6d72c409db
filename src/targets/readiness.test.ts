import { describe, expect, it } from 'vitest';
import type { DaemonSet, Pod } from '../kube/kinds.ts';
import {
  currentDaemonSetPods,
  currentDeploymentPods,
  daemonSetReadiness,
  deploymentReadiness,
  failingPod,
  requiredPods,
} from './readiness.ts';
import { deploymentWith } from '../../test/support/workloads.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const options = { threshold: 100, progressDeadlineSeconds: 600, now: NOW };

const deployment = deploymentWith;

function pod(name: string, status: NonNullable<Pod['status']>): Pod {
  return { metadata: { name }, status };
}

const healthy = { replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 3 };

describe('deploymentReadiness', () => {
  it('is ready when every replica is updated and available', () => {
    expect(deploymentReadiness(deployment(healthy), [], options)).toEqual({
      state: 'ready',
      message: 'Deployment shop/web is ready (3 of 3 replicas available)',
    });
  });

  it('waits for the controller to observe the latest generation', () => {
    const d = deployment({ ...healthy, observedGeneration: 1 });
    expect(deploymentReadiness(d, [], options)).toMatchObject({
      state: 'notReady',
      message: expect.stringMatching(/generation 2/),
    });
  });

  it('waits while replicas are being updated, old ones terminate, or too few are available', () => {
    expect(deploymentReadiness(deployment({ ...healthy, updatedReplicas: 1 }), [], options).message).toMatch(
      /1 of 3 replicas updated/,
    );
    expect(deploymentReadiness(deployment({ ...healthy, replicas: 4 }), [], options).message).toMatch(
      /1 old replicas pending/,
    );
    expect(
      deploymentReadiness(deployment({ ...healthy, availableReplicas: 2 }), [], options).message,
    ).toMatch(/2 of 3 replicas available/);
  });

  it('applies the ready threshold, rounding the required pods up', () => {
    expect(requiredPods(3, 50)).toBe(2);
    expect(requiredPods(1, 50)).toBe(1);
    expect(requiredPods(4, 0)).toBe(0);
    const half = { ...options, threshold: 50 };
    expect(deploymentReadiness(deployment({ ...healthy, availableReplicas: 2 }), [], half).state).toBe(
      'ready',
    );
    expect(deploymentReadiness(deployment({ ...healthy, availableReplicas: 1 }), [], half).state).toBe(
      'notReady',
    );
  });

  it('reports a scaled-to-zero Deployment as not ready', () => {
    expect(deploymentReadiness(deployment({}, 0), [], options)).toEqual({
      state: 'notReady',
      message: 'Deployment shop/web is scaled to zero',
    });
  });

  it("passes on Kubernetes' ProgressDeadlineExceeded", () => {
    const d = deployment({
      ...healthy,
      updatedReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-1" has timed out progressing.',
        },
      ],
    });
    expect(deploymentReadiness(d, [], options)).toEqual({
      state: 'deadlineExceeded',
      message:
        'Deployment shop/web exceeded its progress deadline: ReplicaSet "web-1" has timed out progressing.',
    });
  });

  it('gives up when Available=False lasts longer than the progress deadline', () => {
    const since = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();
    const unavailable = (seconds: number) =>
      deployment({
        ...healthy,
        availableReplicas: 1,
        conditions: [
          {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            lastUpdateTime: since(seconds),
          },
        ],
      });
    expect(deploymentReadiness(unavailable(60), [], options).state).toBe('notReady');
    expect(deploymentReadiness(unavailable(601), [], options).state).toBe('deadlineExceeded');
  });

  it('reports crash-looping pods at once instead of waiting out the deadline', () => {
    const crashing = pod('web-abc', {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
      ],
    });
    const report = deploymentReadiness(deployment({ ...healthy, availableReplicas: 2 }), [crashing], options);
    expect(report).toEqual({
      state: 'deadlineExceeded',
      message:
        'Deployment shop/web will not become ready: pod web-abc container app is crash-looping (CrashLoopBackOff, exit code 137, 4 restarts)',
    });
    // A workload whose status looks healthy but whose pods keep failing is failing.
    expect(deploymentReadiness(deployment(healthy), [crashing], options)).toEqual({
      state: 'deadlineExceeded',
      message:
        'Deployment shop/web is failing: pod web-abc container app is crash-looping (CrashLoopBackOff, exit code 137, 4 restarts)',
    });
    // One restart is not a crash loop.
    const restarted = pod('web-def', {
      phase: 'Running',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 1, state: { running: {} } }],
    });
    expect(deploymentReadiness(deployment(healthy), [restarted], options).state).toBe('ready');
  });
});

describe('failingPod', () => {
  it('recognises failed pods, crash loops, hopeless images, and tolerates a first restart', () => {
    expect(
      failingPod([
        pod('a', {
          phase: 'Failed',
          containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 1, reason: 'Error' } } }],
        }),
      ]),
    ).toBe('pod a failed: container app exited with code 1 (Error)');
    expect(failingPod([pod('b', { phase: 'Failed', reason: 'OutOfcpu' })])).toBe('pod b failed: OutOfcpu');
    expect(
      failingPod([
        pod('c', {
          phase: 'Pending',
          containerStatuses: [
            { name: 'app', state: { waiting: { reason: 'InvalidImageName', message: 'bad ref' } } },
          ],
        }),
      ]),
    ).toBe('pod c container app cannot start: InvalidImageName (bad ref)');
    expect(
      failingPod([
        pod('d', {
          phase: 'Running',
          containerStatuses: [
            { name: 'app', restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          ],
        }),
      ]),
    ).toBeUndefined();
    expect(
      failingPod([
        { metadata: { name: 'e', deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { phase: 'Failed' } },
      ]),
    ).toBeUndefined();
  });
});

describe('daemonSetReadiness', () => {
  const daemonSet = (status: NonNullable<DaemonSet['status']>): DaemonSet => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'ops', generation: 1 },
    spec: {
      selector: { matchLabels: { name: 'agent' } },
      template: { spec: { containers: [{ name: 'agent' }] } },
    },
    status: { observedGeneration: 1, ...status },
  });

  it('is ready when every scheduled pod is updated and available', () => {
    expect(
      daemonSetReadiness(
        daemonSet({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }),
        [],
        options,
      ).state,
    ).toBe('ready');
    expect(
      daemonSetReadiness(
        daemonSet({ desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2 }),
        [],
        options,
      ).message,
    ).toMatch(/1 of 2 pods updated/);
    expect(daemonSetReadiness(daemonSet({ desiredNumberScheduled: 0 }), [], options)).toEqual({
      state: 'notReady',
      message: 'DaemonSet ops/agent runs on no node (scaled to zero or no node matches)',
    });
  });
});

describe('current pods', () => {
  const withHash = (name: string, hash: string, phase = 'Running'): Pod => ({
    metadata: { name, labels: { 'pod-template-hash': hash } },
    status: { phase, containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 1 } } }] },
  });

  it("keeps only the pods of the Deployment's newest ReplicaSet, so an earlier release's failed pods do not count", () => {
    const d = deployment(healthy);
    d.metadata.uid = 'dep-uid';
    d.metadata.annotations = { 'deployment.kubernetes.io/revision': '3' };
    const replicaSets = [
      {
        metadata: {
          labels: { 'pod-template-hash': 'old' },
          annotations: { 'deployment.kubernetes.io/revision': '2' },
          ownerReferences: [{ uid: 'dep-uid' }],
        },
      },
      {
        metadata: {
          labels: { 'pod-template-hash': 'new' },
          annotations: { 'deployment.kubernetes.io/revision': '3' },
          ownerReferences: [{ uid: 'dep-uid' }],
        },
      },
    ];
    const pods = [withHash('web-old-1', 'old', 'Failed'), withHash('web-new-1', 'new')];
    expect(currentDeploymentPods(d, replicaSets, pods).map((p) => p.metadata.name)).toEqual(['web-new-1']);
    expect(currentDeploymentPods(d, [], pods)).toHaveLength(2);
  });

  it('keeps only the pods of the DaemonSet template generation', () => {
    const ds: DaemonSet = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', annotations: { 'deprecated.daemonset.template.generation': '2' } },
      spec: { selector: {}, template: { spec: { containers: [] } } },
    };
    const pods: Pod[] = [
      { metadata: { name: 'a', labels: { 'pod-template-generation': '1' } } },
      { metadata: { name: 'b', labels: { 'pod-template-generation': '2' } } },
    ];
    expect(currentDaemonSetPods(ds, pods).map((p) => p.metadata.name)).toEqual(['b']);
  });

  it('does not blame the release for an evicted pod', () => {
    expect(
      failingPod([pod('x', { phase: 'Failed', reason: 'Evicted', message: 'low on memory' })]),
    ).toBeUndefined();
  });
});
