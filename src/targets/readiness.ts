import type { ContainerStatus, DaemonSet, Deployment, Pod, WorkloadCondition } from '../kube/kinds.ts';

// Readiness of a workload from its status and its pods, as pure functions. Three answers,
// the ones the state machine takes: ready, notReady (keep waiting, the canary's progress
// deadline runs) and deadlineExceeded (it will not get ready: roll back now). A release
// whose pods crash-loop is deadlineExceeded at once instead of waiting out the deadline.

export type ReadinessState = 'ready' | 'notReady' | 'deadlineExceeded';

export interface ReadinessReport {
  state: ReadinessState;
  /** What a person reads: why it is not ready, naming the workload and the pod. */
  message: string;
}

export interface ReadinessOptions {
  /** Percent of the pods that must be available (primaryReadyThreshold / canaryReadyThreshold). */
  threshold: number;
  /** The Canary's progressDeadlineSeconds, for Available=False that lasts longer. */
  progressDeadlineSeconds: number;
  now: number;
}

/** A container that waited in CrashLoopBackOff this often is failing, not starting. */
export const CRASH_LOOP_RESTARTS = 3;

/** Why a pod may have Failed without anything being wrong with the release. */
const NOT_THE_RELEASE = new Set([
  'Evicted',
  'Preempting',
  'Shutdown',
  'NodeShutdown',
  'Terminated',
  'NodeAffinity',
]);

/** Waiting reasons that never resolve by waiting. */
const HOPELESS_WAITING = new Set(['InvalidImageName', 'ErrImageNeverPull']);

/** How many of `total` pods the threshold asks for (rounded up: 50 % of 1 pod is 1 pod). */
export function requiredPods(total: number, threshold: number): number {
  return Math.ceil((total * Math.max(0, Math.min(100, threshold))) / 100);
}

function containerFailure(pod: string, status: ContainerStatus): string | undefined {
  const restarts = status.restartCount ?? 0;
  const waiting = status.state?.waiting?.reason;
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  const exit = terminated?.exitCode !== undefined ? `, exit code ${terminated.exitCode}` : '';
  const detail = `pod ${pod} container ${status.name}`;
  if (waiting === 'CrashLoopBackOff' && restarts >= CRASH_LOOP_RESTARTS) {
    return `${detail} is crash-looping (CrashLoopBackOff${exit}, ${restarts} restarts)`;
  }
  if (waiting && HOPELESS_WAITING.has(waiting)) {
    return `${detail} cannot start: ${waiting}${status.state?.waiting?.message ? ` (${status.state.waiting.message})` : ''}`;
  }
  const current = status.state?.terminated;
  if (current && (current.exitCode ?? 0) !== 0 && restarts >= CRASH_LOOP_RESTARTS) {
    return `${detail} keeps failing (${current.reason ?? 'Error'}${exit}, ${restarts} restarts)`;
  }
  return undefined;
}

/**
 * The first failing pod among `pods`, described: a pod that has Failed, or a container
 * crash-looping or unable to start. Pods being deleted are ignored.
 */
export function failingPod(pods: readonly Pod[]): string | undefined {
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const name = pod.metadata.name;
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    if (pod.status?.phase === 'Failed') {
      if (NOT_THE_RELEASE.has(pod.status.reason ?? '')) continue;
      const failed = statuses.find(
        (status) => status.state?.terminated && (status.state.terminated.exitCode ?? 0) !== 0,
      );
      const why = failed
        ? `container ${failed.name} exited with code ${failed.state?.terminated?.exitCode ?? '?'}${failed.state?.terminated?.reason ? ` (${failed.state.terminated.reason})` : ''}`
        : (pod.status.reason ?? pod.status.message ?? 'no reason given');
      return `pod ${name} failed: ${why}`;
    }
    for (const status of statuses) {
      const failure = containerFailure(name, status);
      if (failure) return failure;
    }
  }
  return undefined;
}

/** A ReplicaSet as far as telling the Deployment's current pods goes. */
export interface ReplicaSetInfo {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string }[];
  };
}

const REVISION = 'deployment.kubernetes.io/revision';

/**
 * The pods of the Deployment's current template (its newest ReplicaSet's pod-template-hash),
 * so pods an earlier release left behind (Failed, evicted) never count against this one.
 * All pods when the newest ReplicaSet cannot be told.
 */
export function currentDeploymentPods(
  deployment: Deployment,
  replicaSets: readonly ReplicaSetInfo[],
  pods: readonly Pod[],
): Pod[] {
  const revision = deployment.metadata.annotations?.[REVISION];
  const uid = deployment.metadata.uid;
  const newest = replicaSets.find(
    (rs) =>
      rs.metadata.annotations?.[REVISION] === revision &&
      (!uid || rs.metadata.ownerReferences?.some((owner) => owner.uid === uid)),
  );
  const hash = newest?.metadata.labels?.['pod-template-hash'];
  if (!revision || !hash) return [...pods];
  return pods.filter((pod) => pod.metadata.labels?.['pod-template-hash'] === hash);
}

/** The pods of the DaemonSet's current template (pod-template-generation), or all when it cannot be told. */
export function currentDaemonSetPods(daemonSet: DaemonSet, pods: readonly Pod[]): Pod[] {
  const generation = daemonSet.metadata.annotations?.['deprecated.daemonset.template.generation'];
  if (!generation) return [...pods];
  return pods.filter((pod) => pod.metadata.labels?.['pod-template-generation'] === generation);
}

function condition(
  conditions: readonly WorkloadCondition[] | undefined,
  type: string,
): WorkloadCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function notReady(message: string, pods: readonly Pod[], what: string): ReadinessReport {
  const failing = failingPod(pods);
  if (failing) return { state: 'deadlineExceeded', message: `${what} will not become ready: ${failing}` };
  return { state: 'notReady', message: `${what}: ${message}` };
}

/**
 * Ready, unless a pod of the current template is failing: pods that start, turn ready and
 * then die are replaced one after the other, and the workload's status counts each while it
 * lasts, so a release that keeps failing can look available most of the time.
 */
export function readyUnlessFailing(message: string, pods: readonly Pod[], what: string): ReadinessReport {
  const failing = failingPod(pods);
  if (failing) return { state: 'deadlineExceeded', message: `${what} is failing: ${failing}` };
  return { state: 'ready', message };
}

interface Workload {
  metadata: { name: string; namespace?: string; generation?: number };
  status?: { observedGeneration?: number };
}

/**
 * How readiness speaks of a workload, and `waiting` while its controller has not observed
 * its generation yet: then nothing in its status can be trusted.
 */
export function workloadReading(
  kind: 'Deployment' | 'DaemonSet' | 'StatefulSet',
  workload: Workload,
): { what: string; waiting?: ReadinessReport } {
  const what = `${kind} ${workload.metadata.namespace ?? ''}/${workload.metadata.name}`;
  const generation = workload.metadata.generation ?? 0;
  if ((workload.status?.observedGeneration ?? 0) >= generation) return { what };
  const message = `${what}: waiting for the ${kind} controller to see generation ${generation}`;
  return { what, waiting: { state: 'notReady', message } };
}

/** Readiness of a Deployment (Flagger's rules, plus crash-loop detection from its pods). */
export function deploymentReadiness(
  deployment: Deployment,
  pods: readonly Pod[],
  options: ReadinessOptions,
): ReadinessReport {
  const { what, waiting } = workloadReading('Deployment', deployment);
  if (waiting) return waiting;
  const status = deployment.status ?? {};
  const progressing = condition(status.conditions, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'deadlineExceeded',
      message: `${what} exceeded its progress deadline: ${progressing.message ?? ''}`.trim(),
    };
  }
  const replicas = deployment.spec.replicas ?? 1;
  if (replicas === 0) return { state: 'notReady', message: `${what} is scaled to zero` };
  const updated = status.updatedReplicas ?? 0;
  if (updated < replicas) return notReady(`${updated} of ${replicas} replicas updated`, pods, what);
  const total = status.replicas ?? 0;
  if (total > updated) return notReady(`${total - updated} old replicas pending termination`, pods, what);
  const required = requiredPods(updated, options.threshold);
  const available = status.availableReplicas ?? 0;
  if (available < required) {
    const unavailable = condition(status.conditions, 'Available');
    const since = Date.parse(unavailable?.lastUpdateTime ?? unavailable?.lastTransitionTime ?? '');
    if (
      unavailable?.status === 'False' &&
      Number.isFinite(since) &&
      since + options.progressDeadlineSeconds * 1000 < options.now
    ) {
      return {
        state: 'deadlineExceeded',
        message: `${what} has had too few available replicas for longer than ${options.progressDeadlineSeconds}s (${available} of ${required})`,
      };
    }
    return notReady(
      `${available} of ${required} replicas available (readyThreshold ${options.threshold}%)`,
      pods,
      what,
    );
  }
  return readyUnlessFailing(`${what} is ready (${available} of ${replicas} replicas available)`, pods, what);
}

/** Readiness of a DaemonSet: every scheduled pod updated, enough of them available. */
export function daemonSetReadiness(
  daemonSet: DaemonSet,
  pods: readonly Pod[],
  options: ReadinessOptions,
): ReadinessReport {
  const { what, waiting } = workloadReading('DaemonSet', daemonSet);
  if (waiting) return waiting;
  const status = daemonSet.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  if (desired === 0)
    return { state: 'notReady', message: `${what} runs on no node (scaled to zero or no node matches)` };
  const updated = status.updatedNumberScheduled ?? 0;
  if (updated < desired) return notReady(`${updated} of ${desired} pods updated`, pods, what);
  const required = requiredPods(desired, options.threshold);
  const available = status.numberAvailable ?? 0;
  if (available < required) {
    return notReady(
      `${available} of ${required} pods available (readyThreshold ${options.threshold}%)`,
      pods,
      what,
    );
  }
  return readyUnlessFailing(`${what} is ready (${available} of ${desired} pods available)`, pods, what);
}
