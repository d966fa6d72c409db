import { appDeployment } from '../fixtures.ts';
import { canaryObject } from '../../test/support/canaries.ts';

// The chaos scenarios' workloads: a mix of releases whose outcome is known in advance.
// - healthy: weighted canary, good metrics, a tracked ConfigMap → Succeeded;
// - bad: weighted canary whose canary pods answer 50 % 5xx → Failed, never promoted;
// - gated: healthy, with a confirm-promotion gate that opens a few seconds after it is asked → Succeeded;
// - ab: A/B testing (header match, iterations) with good metrics → Succeeded.
// Every Canary calls pre-rollout, rollout and post-rollout hooks on the recording receiver.

export type ReleaseKind = 'healthy' | 'bad' | 'gated' | 'ab';
export const RELEASE_KINDS: readonly ReleaseKind[] = ['healthy', 'bad', 'gated', 'ab'];

/** Pod template annotations: which round of releases, and whether this release is bad. */
export const ROUND_ANNOTATION = 'chaos.sluice.dev/round';
export const RELEASE_ANNOTATION = 'chaos.sluice.dev/release';

export interface Workload {
  name: string;
  kind: ReleaseKind;
}

export interface FleetTiming {
  /** spec.analysis.interval. */
  interval: string;
  progressDeadlineSeconds: number;
}

/** `count` workloads, the kinds in turn (healthy, bad, gated, ab, healthy, …). */
export function workloads(count: number): Workload[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = RELEASE_KINDS[i % RELEASE_KINDS.length] as ReleaseKind;
    return { name: `${kind}-${String(i).padStart(3, '0')}`, kind };
  });
}

export function expectedOutcome(kind: ReleaseKind): 'Succeeded' | 'Failed' {
  return kind === 'bad' ? 'Failed' : 'Succeeded';
}

export const configName = (name: string) => `${name}-config`;

export function configMap(namespace: string, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configName(name), namespace },
    data: { GREETING: `hello from ${name}`, LEVEL: 'info' },
  };
}

/** The Deployment at round `round`: round 0 is the first, good release (the primary's). */
export function deployment(namespace: string, workload: Workload, round: number) {
  const { name, kind } = workload;
  const release = round > 0 && kind === 'bad' ? 'bad' : 'good';
  return appDeployment(namespace, name, {
    annotations: { [ROUND_ANNOTATION]: String(round), [RELEASE_ANNOTATION]: release },
    container: {
      name: 'app',
      image: `example.com/${name}:${round}`,
      ...(kind === 'healthy' ? { envFrom: [{ configMapRef: { name: configName(name) } }] } : {}),
    },
  });
}

export function canary(namespace: string, workload: Workload, receiverUrl: string, timing: FleetTiming) {
  const { name, kind } = workload;
  const hook = (type: string) => ({
    name: type,
    type,
    url: `${receiverUrl}/hook/${type}/${namespace}/${name}`,
  });
  const metrics = [
    { name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '30s' },
    { name: 'request-duration', thresholdRange: { max: 500 }, interval: '30s' },
  ];
  const webhooks = [hook('pre-rollout'), hook('rollout'), hook('post-rollout')];
  if (kind === 'gated')
    webhooks.push({
      name: 'gate',
      type: 'confirm-promotion',
      url: `${receiverUrl}/gate/${namespace}/${name}`,
    });
  const strategy =
    kind === 'ab'
      ? { iterations: 3, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] }
      : { stepWeight: 20, maxWeight: 60 };
  return canaryObject(
    namespace,
    {
      provider: 'istio',
      progressDeadlineSeconds: timing.progressDeadlineSeconds,
      service: { port: 9898, targetPort: 9898 },
      analysis: { interval: timing.interval, threshold: 2, ...strategy, metrics, webhooks },
    },
    name,
  );
}

/** The route steps a successful rollout of this kind must have announced, in order. */
export function expectedSteps(kind: ReleaseKind): string[] {
  if (kind === 'ab') return [1, 2, 3].map((i) => `advance canary iteration ${i}/3`);
  if (kind === 'bad') return [];
  return [20, 40, 60].map((w) => `advance canary weight ${w}`);
}
