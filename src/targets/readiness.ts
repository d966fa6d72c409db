import type { ContainerStatus, DaemonSet, Deployment, Pod, WorkloadCondition } from './kinds.ts';

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

function condition(
  conditions: readonly WorkloadCondition[] | undefined,
  type: string,
): WorkloadCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

function notReady(message: string, pods: readonly Pod[], what: string): ReadinessReport {
  const failing = failingPod(pods);
  if (failing) return { state: 'deadlineExceeded', message: `${what} will not become ready: ${failing}` };
  return { state: 'notReady', message: `${what}: ${message}` };
}

/** Readiness of a Deployment (Flagger's rules, plus crash-loop detection from its pods). */
export function deploymentReadiness(
  deployment: Deployment,
  pods: readonly Pod[],
  options: ReadinessOptions,
): ReadinessReport {
  const what = `Deployment ${deployment.metadata.namespace ?? ''}/${deployment.metadata.name}`;
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return {
      state: 'notReady',
      message: `${what}: waiting for the Deployment controller to see generation ${generation}`,
    };
  }
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
  return { state: 'ready', message: `${what} is ready (${available} of ${replicas} replicas available)` };
}

/** Readiness of a DaemonSet: every scheduled pod updated, enough of them available. */
export function daemonSetReadiness(
  daemonSet: DaemonSet,
  pods: readonly Pod[],
  options: ReadinessOptions,
): ReadinessReport {
  const what = `DaemonSet ${daemonSet.metadata.namespace ?? ''}/${daemonSet.metadata.name}`;
  const status = daemonSet.status ?? {};
  const generation = daemonSet.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return {
      state: 'notReady',
      message: `${what}: waiting for the DaemonSet controller to see generation ${generation}`,
    };
  }
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
  return { state: 'ready', message: `${what} is ready (${available} of ${desired} pods available)` };
}
