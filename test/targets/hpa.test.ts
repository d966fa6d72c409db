import { describe, expect, it } from 'vitest';
import { applyObject } from '../../src/kube/objects.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { hpa } from '../support/objects.ts';
import { APP, applyDeployment, bootstrap, canaryFor, read, sluiceFor } from './fixtures.ts';

// spec.autoscalerRef on the real control plane, with kube-controller-manager's HPA
// controller running. kwok pods report no CPU, so no HPA here scales by load: what is
// tested is the objects, what each HPA targets, and that the target's HPA leaves the idle
// canary at zero (the HPA controller's own ScalingDisabled rule).

const ns = useNamespace('targets-hpa');

type Hpa = {
  spec: {
    scaleTargetRef: { kind: string; name: string; apiVersion: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: unknown[];
    behavior?: unknown;
  };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
  metadata: { ownerReferences?: { kind: string; name: string }[] };
};

const readHpa = async (name: string) =>
  (await read(ns.kube, 'autoscaling/v2', 'HorizontalPodAutoscaler', ns.name, name)) as unknown as Hpa;

describe('HPA', () => {
  it('gives the primary its own HPA and keeps the idle canary from being scaled by the target HPA', async () => {
    await applyDeployment(ns.kube, ns.name, {
      replicas: 2,
      podSpec: {
        containers: [{ name: 'app', image: 'example.com/app:1', resources: { requests: { cpu: '100m' } } }],
      },
    });
    await applyObject(
      ns.kube,
      hpa(ns.name, APP, {
        labels: { team: 'checkout' },
        minReplicas: 2,
        maxReplicas: 4,
        cpuUtilization: 80,
        behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
      }),
      { fieldManager: 'kubectl' },
    );
    const canary = canaryFor(ns.name, {
      provider: 'kubernetes',
      autoscalerRef: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        name: APP,
        primaryScalerReplicas: { maxReplicas: 6 },
      },
    });
    const sluice = sluiceFor(canary, ns.kube);
    await bootstrap(canary, sluice);

    const primaryHpa = await readHpa(`${APP}-primary`);
    expect(primaryHpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: `${APP}-primary`,
    });
    expect(primaryHpa.spec.minReplicas).toBe(2);
    expect(primaryHpa.spec.maxReplicas).toBe(6);
    expect(primaryHpa.spec.metrics).toHaveLength(1);
    expect(primaryHpa.spec.behavior).toMatchObject({ scaleDown: { stabilizationWindowSeconds: 60 } });
    expect(primaryHpa.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: `${APP}-primary` }),
    ]);

    // The target HPA still targets the target, which is idle at zero: the HPA controller
    // reports ScalingDisabled and never scales it back up.
    const targetHpa = await readHpa(APP);
    expect(targetHpa.spec.scaleTargetRef.name).toBe(APP);
    const disabled = await eventually(
      'target HPA ScalingActive=False',
      async () => {
        const hpa = await readHpa(APP);
        return hpa.status?.conditions?.find((c) => c.type === 'ScalingActive' && c.status === 'False');
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(disabled.reason).toBe('ScalingDisabled');
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(0);

    // While an analysis runs the canary starts at the HPA's minimum; the HPA scales it from there.
    expect(await sluice.target.scaleCanary(canary, 'up')).toEqual({ replicas: 2, written: true });
    // A promotion keeps the primary's replicas (the primary HPA's business) and updates its HPA.
    const primaryBefore = (await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).spec
      .replicas;
    await ns.kube.wire.mergePatchObject(
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: APP, namespace: ns.name },
      },
      { spec: { maxReplicas: 5 } },
      { fieldManager: 'kubectl-edit' },
    );
    const canaryWithoutOverride = canaryFor(ns.name, {
      provider: 'kubernetes',
      autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: APP },
    });
    await sluice.target.promote(canaryWithoutOverride);
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).spec.replicas).toBe(
      primaryBefore,
    );
    const updated = await readHpa(`${APP}-primary`);
    expect(updated.spec.maxReplicas).toBe(5);
    await sluice.target.scaleCanary(canary, 'zero');
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(0);
  });

  it('names the HPA when it scales something other than the target', async () => {
    await applyObject(ns.kube, hpa(ns.name, 'elsewhere', { target: 'other', maxReplicas: 3 }), {
      fieldManager: 'kubectl',
    });
    const canary = canaryFor(ns.name, {
      provider: 'kubernetes',
      autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'elsewhere' },
    });
    const sluice = sluiceFor(canary, ns.kube);
    await expect(sluice.target.promote(canary)).rejects.toThrow(
      /HorizontalPodAutoscaler .*\/elsewhere \(spec\.autoscalerRef of Canary .*\) scales Deployment other; expected the target Deployment podinfo/,
    );
  });
});
