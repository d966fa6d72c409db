import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../src/controller/controller.ts';
import { readCanary } from '../../src/controller/reconciler.ts';
import { apply } from '../../src/kube/client.ts';
import { canaryObject } from '../support/canaries.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startTestController } from '../support/scene.ts';
import { podinfoDeployment } from '../support/sluice.ts';

const ns = useNamespace('ctl-smoke');
let controller: RunningController;

const deployment = (image: string) => podinfoDeployment({ namespace: ns.name, image, replicas: 2 });

describe('controller smoke', () => {
  beforeAll(async () => {
    controller = await startTestController(ns);
  });
  afterAll(async () => controller?.stop());

  it('initializes, then promotes a new revision', async () => {
    await apply(ns.kube, deployment('example.com/podinfo:1.0.0'), {
      fieldManager: process.env.SMOKE_MANAGER ?? 'kubectl',
    });
    await apply(
      ns.kube,
      canaryObject(ns.name, {
        provider: 'istio',
        analysis: { interval: '10s', threshold: 2, maxWeight: 50, stepWeight: 50 },
      }),
      { fieldManager: 'kubectl' },
    );
    await eventually(
      'Initialized',
      async () => (await readCanary(ns.kube, ns.name, 'podinfo')).status?.phase === 'Initialized',
      { timeoutMs: 60_000 },
    );
    await apply(ns.kube, deployment('example.com/podinfo:1.0.1'), { fieldManager: 'kubectl' });
    const phases = new Set<string>();
    await eventually(
      'Succeeded',
      async () => {
        const c = await readCanary(ns.kube, ns.name, 'podinfo');
        phases.add(String(c.status?.phase));
        return c.status?.phase === 'Succeeded';
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    expect(phases).toContain('Progressing');
    const primary = await ns.kube.apps.readNamespacedDeployment({
      name: 'podinfo-primary',
      namespace: ns.name,
    });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe('example.com/podinfo:1.0.1');
  });
});
