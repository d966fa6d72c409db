import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import { useScene } from '../support/scene.ts';
import type { SluiceProcess } from '../support/sluice.ts';

// A StatefulSet Canary on the local control plane: kube-controller-manager's StatefulSet
// controller rolls the pods, kwok runs them. A healthy release goes to the highest ordinals
// step by step and is promoted to partition 0 (with the controller killed mid-rollout and a
// new one picking up from status); a bad one is rolled back to the old ControllerRevision,
// every pod back on it.

const ns = useScene('sts');
const processes: SluiceProcess[] = [];
const REPLICAS = 4;
/** What the rollout webhook answers: the test's verdict on the release. */
let verdict = 200;
let hooks: Server;

const statefulSet = (image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: ns.name },
  spec: {
    replicas: REPLICAS,
    serviceName: 'db',
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: { app: 'db' } },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: { containers: [{ name: 'db', image, ports: [{ name: 'http', containerPort: 9898 }] }] },
    },
  },
});

interface StsView {
  partition: number | undefined;
  image: string | undefined;
  currentRevision: string | undefined;
  updateRevision: string | undefined;
  /** pod name → [revision hash, image] */
  pods: Map<string, [string, string]>;
  partitionManagers: string[];
}

async function view(): Promise<StsView> {
  const sts = await ns.kube.apps.readNamespacedStatefulSet({ name: 'db', namespace: ns.name });
  const pods = await ns.kube.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=db' });
  return {
    partition: sts.spec?.updateStrategy?.rollingUpdate?.partition,
    image: sts.spec?.template.spec?.containers[0]?.image,
    currentRevision: sts.status?.currentRevision,
    updateRevision: sts.status?.updateRevision,
    pods: new Map(
      pods.items
        .filter((pod) => !pod.metadata?.deletionTimestamp)
        .map((pod) => [
          pod.metadata?.name ?? '',
          [pod.metadata?.labels?.['controller-revision-hash'] ?? '', pod.spec?.containers[0]?.image ?? ''],
        ]),
    ),
    partitionManagers: (sts.metadata?.managedFields ?? [])
      .filter((entry) => JSON.stringify(entry.fieldsV1 ?? {}).includes('"f:partition"'))
      .map((entry) => `${entry.manager}/${entry.operation}`),
  };
}

/** Every pod runs `image`, all on one revision, and the StatefulSet controller is done. */
const allOn = (image: string) =>
  eventually(
    `every pod of StatefulSet db on ${image}`,
    async () => {
      const now = await view();
      const pods = [...now.pods.values()];
      const settled =
        pods.length === REPLICAS &&
        pods.every(([revision, podImage]) => podImage === image && revision === now.currentRevision) &&
        now.currentRevision === now.updateRevision;
      if (settled) return now;
      throw new Error(
        `partition ${now.partition}, template ${now.image}, current ${now.currentRevision}, update ${now.updateRevision}, pods ${JSON.stringify([...now.pods])}`,
      );
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );

const controller = (name: string) =>
  ns.startController({
    name,
    args: ['--no-leader-elect', '--step-events', '--allowed-url-hosts', '127.0.0.1'],
  });

describe('StatefulSet canary on the local control plane', () => {
  beforeAll(async () => {
    hooks = createServer((request, response) => {
      request.resume();
      response.writeHead(verdict).end();
    });
    await new Promise<void>((listening) => hooks.listen(0, '127.0.0.1', listening));
    const port = (hooks.address() as AddressInfo).port;
    processes.push(await controller('first'));
    await ns.apply(statefulSet('example.com/db:1'));
    await allOn('example.com/db:1');
    await ns.apply(
      ns.canary(
        {
          targetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' },
          provider: 'kubernetes',
          service: { port: 9898 },
          analysis: {
            interval: '10s',
            threshold: 1,
            stepReplicas: [1, '50%'],
            webhooks: [{ name: 'verdict', type: 'rollout', url: `http://127.0.0.1:${port}/` }],
            // Renders only with the canary's pods known (a render error would fail the check).
            metrics: [
              {
                name: 'canary-pods',
                query: 'vector(1) + 0 * absent(sluice_test_none{pod=~"{{ canaryPods }}"})',
                thresholdRange: { min: 1 },
              },
            ],
          },
        },
        'db',
      ),
    );
    await ns.phase('Initialized', { name: 'db' });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await new Promise((closed) => hooks?.close(closed));
  });

  it('initialises by holding every pod on the current revision (partition = replicas, owned by sluice)', async () => {
    const now = await view();
    expect(now.partition).toBe(REPLICAS);
    expect(now.partitionManagers).toContain('sluice/Apply');
    expect(await ns.kube.apps.listNamespacedStatefulSet({ namespace: ns.name })).toMatchObject({
      items: [expect.objectContaining({ metadata: expect.objectContaining({ name: 'db' }) })],
    });
  });

  it('rolls a healthy release to the highest ordinals first and promotes it, across a controller restart', async () => {
    verdict = 200;
    await ns.apply(statefulSet('example.com/db:2'));
    const first = await ns.phase((c) => c.status?.canaryWeight === 25, { name: 'db' });
    expect(first.status?.phase).toBe('Progressing');
    // One pod, the highest ordinal, on the new revision; the rest held.
    const step = await eventually('db-3 on db:2', async () => {
      const now = await view();
      return now.pods.get('db-3')?.[1] === 'example.com/db:2' ? now : undefined;
    });
    expect(step.partition).toBe(3);
    expect(step.pods.get('db-0')?.[1]).toBe('example.com/db:1');

    await processes[0]!.kill('SIGKILL');
    processes.push(await controller('second'));

    const done = await ns.phase('Succeeded', { name: 'db', timeoutMs: 180_000 });
    expect(done.status?.lastPromotedSpec).toBe(done.status?.lastAppliedSpec);
    const promoted = await allOn('example.com/db:2');
    // Held again for the next release.
    expect(promoted.partition).toBe(REPLICAS);
    const events = await ns.events('db');
    expect(events.get('advance canary weight 25')).toBe(1);
    expect(events.get('advance canary weight 50')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);
    expect(await processes[1]!.log()).not.toContain('new revision detected');
  }, 300_000);

  it('rolls a bad release back to the old ControllerRevision, every pod back on it', async () => {
    const before = await view();
    verdict = 500;
    await ns.apply(statefulSet('example.com/db:3'));
    const failed = await ns.phase('Failed', { name: 'db', timeoutMs: 180_000 });
    expect(failed.status?.message).toMatch(/rolling back|failed checks/);
    const back = await allOn('example.com/db:2');
    expect(back.image).toBe('example.com/db:2');
    expect(back.currentRevision).toBe(before.currentRevision);
    expect(back.partition).toBe(REPLICAS);
    // Sluice's own revert is no fix from Git: the release stays failed.
    expect((await ns.read('db')).status?.phase).toBe('Failed');
    const events = await ns.events('db');
    expect([...events.keys()].some((message) => message.startsWith('rolling back'))).toBe(true);
  }, 300_000);
});
