import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanaryObject } from '../../src/controller/reconciler.ts';
import { eventually } from '../support/kube.ts';
import { useScene } from '../support/scene.ts';
import { virtualServiceWeights } from '../support/sluice.ts';
import type { SluiceProcess } from '../support/sluice.ts';

// Issue 16's outage finding on the real control plane: a primary with no ready pod holds a
// release before any traffic moves (status and condition say why, one Event), the release
// goes on once the primary is ready again, and one whose primary stays not ready past
// progressDeadlineSeconds is rolled back saying so. The primary's pod is made NotReady
// through its status (as a kubelet would report it), and comes back when it is replaced.

const ns = useScene('primaryready');
let controller: SluiceProcess;
const WAITING = 'waiting for the primary to become ready before moving traffic';

const spec = (progressDeadlineSeconds: number) => ({
  provider: 'istio',
  progressDeadlineSeconds,
  analysis: { interval: '10s', threshold: 2, stepWeight: 50, maxWeight: 50 },
});

async function primaryPods(): Promise<string[]> {
  const pods = await ns.kube.core.listNamespacedPod({
    namespace: ns.name,
    labelSelector: 'app=podinfo-primary',
  });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

/**
 * The primary's pods turn NotReady, as a kubelet reports a failing probe or a node problem;
 * kwok readies a pod only once (when it has no IP yet), so this stays until they are replaced.
 */
async function breakPrimary(): Promise<void> {
  const at = new Date().toISOString();
  for (const name of await primaryPods()) {
    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns.name } },
      {
        status: {
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: at },
            { type: 'Initialized', status: 'True', lastTransitionTime: at },
            {
              type: 'ContainersReady',
              status: 'False',
              lastTransitionTime: at,
              reason: 'ReadinessProbeFailed',
            },
            { type: 'Ready', status: 'False', lastTransitionTime: at, reason: 'ReadinessProbeFailed' },
          ],
        },
      },
      { subresource: 'status' },
    );
  }
  await eventually('the primary not ready', async () => {
    const primary = await ns.kube.apps.readNamespacedDeployment({
      name: 'podinfo-primary',
      namespace: ns.name,
    });
    return (primary.status?.availableReplicas ?? 0) === 0;
  });
}

/** New pods from the primary's template (without the chaos label) turn ready. */
async function healPrimary(): Promise<void> {
  for (const name of await primaryPods())
    await ns.kube.core.deleteNamespacedPod({ name, namespace: ns.name });
}

/** Reads the Canary every 500 ms for `ms` (a bounded window for what must not happen); the last read. */
async function watch(ms: number, look: (c: CanaryObject) => void): Promise<CanaryObject> {
  const until = Date.now() + ms;
  let last = await ns.read();
  while (Date.now() < until) {
    look(last);
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await ns.read();
  }
  look(last);
  return last;
}

describe('sluice controller: a release waits for a primary that is not ready', () => {
  beforeAll(async () => {
    controller = await ns.startController();
    await ns.initialize(spec(120), 'example.com/podinfo:1');
  });

  afterAll(async () => {
    await controller?.kill();
  });

  it('moves no traffic while the primary has no ready pod, says why once, and goes on when it is ready', async () => {
    await breakPrimary();
    await ns.release('example.com/podinfo:2');
    const weights = new Set<number>();
    const waiting = await ns.phase((c) => {
      weights.add(c.status?.canaryWeight ?? 0);
      return c.status?.phase === 'Progressing' && (c.status.message ?? '').startsWith(WAITING);
    });
    expect(waiting.status?.message).toContain('podinfo-primary');
    expect(waiting.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PrimaryNotReady',
    });
    expect(waiting.status?.deadlines?.primaryReady).toBeDefined();
    // Two intervals' worth of watching: still nothing moved, and one Event said so.
    const held = await watch(20_000, (c) => weights.add(c.status?.canaryWeight ?? 0));
    expect(held.status?.phase).toBe('Progressing');
    expect([...weights]).toEqual([0]);
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual([100, 0]);
    const said = [...(await ns.events())].filter(([m]) => m.startsWith(WAITING));
    expect(said.map(([, count]) => count)).toEqual([1]);

    await healPrimary();
    const promoted = await ns.phase((c) => {
      weights.add(c.status?.canaryWeight ?? 0);
      return c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';
    });
    expect(promoted.status?.phase).toBe('Succeeded');
    expect(weights.has(50)).toBe(true);
  });

  it('rolls back a release whose primary stays not ready past progressDeadlineSeconds, saying so', async () => {
    await ns.apply(ns.canary(spec(20)));
    await breakPrimary();
    await ns.release('example.com/podinfo:3');
    await ns.phase('Progressing');
    const failed = await ns.phase((c) => c.status?.phase === 'Failed' || c.status?.phase === 'Succeeded', {
      timeoutMs: 90_000,
    });
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.message).toMatch(
      /^rolling back: primary not ready within the progress deadline \(20s\): Deployment .*podinfo-primary/,
    );
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual([100, 0]);
    expect([...(await ns.events()).keys()]).toContain(failed.status?.message);
  });
});
