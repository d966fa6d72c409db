import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { useNamespace } from '../support/kube.ts';
import { APP, bootstrapped, exists, read } from './support.ts';
import { expectWeightSteps, promoteRelease, revertUntilDone, weightedRoutes } from './support.ts';
import { abTesting } from './support.ts';

// The smi router against the real apiserver with the SMI TrafficSplit CRD (v1alpha1-3).

const ns = useNamespace('routers-smi');

type Backend = { service: string; weight: number | string };

async function backends(version: string, name = APP): Promise<Record<string, number | string>> {
  const split = await read(ns.kube, `split.smi-spec.io/${version}`, 'TrafficSplit', ns.name, name);
  return Object.fromEntries((split.spec.backends as Backend[]).map((b) => [b.service, b.weight]));
}

describe('smi router', () => {
  it('runs a rollout through a TrafficSplit (smi:v1alpha3); mirror and A/B are refused, naming the provider', async () => {
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'smi:v1alpha3:osm',
      service: { port: 9898, targetPort: 'http', hosts: ['podinfo.shop.svc.cluster.local'] },
      analysis: {
        ...abTesting(2, { headers: { 'x-canary': { exact: '1' } } }),
        stepWeight: 10,
        maxWeight: 50,
      },
    });
    expect(sluice.router.provider).toBe('smi:v1alpha3');
    const split = await read(ns.kube, 'split.smi-spec.io/v1alpha3', 'TrafficSplit', ns.name, APP);
    expect(split.apiVersion).toBe('split.smi-spec.io/v1alpha3');
    expect(split.spec.service).toBe('podinfo.shop.svc.cluster.local');
    expect(await backends('v1alpha3')).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    await expectWeightSteps(canary, sluice, () => backends('v1alpha3'));

    // TrafficSplit has no mirror and no matches: refused before anything is written.
    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );
    await expect(
      sluice.router.setRoutes(canary, { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true }),
    ).rejects.toThrow(/provider smi:v1alpha3 cannot route by request match/);
    expect(await backends('v1alpha3')).toEqual({ 'podinfo-primary': 50, 'podinfo-canary': 50 });

    await promoteRelease(ns, canary, sluice);
    expect(await backends('v1alpha3')).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });

    await revertUntilDone(canary, sluice);
    expect(await exists(ns.kube, 'split.smi-spec.io/v1alpha3', 'TrafficSplit', ns.name, APP)).toBe(false);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector).toEqual({ app: APP });
  });

  it('writes the API version the provider string selects (linkerd: v1alpha2, smi:v1alpha1)', async () => {
    for (const [provider, version, name] of [
      ['linkerd', 'v1alpha2', 'orders'],
      ['smi:v1alpha1', 'v1alpha1', 'billing'],
    ] as const) {
      const { canary, sluice } = await bootstrapped(ns, { provider, service: { port: 8080 } }, { app: name });
      await sluice.router.setRoutes(canary, weightedRoutes(20));
      const split = await read(ns.kube, `split.smi-spec.io/${version}`, 'TrafficSplit', ns.name, name);
      expect(split.apiVersion).toBe(`split.smi-spec.io/${version}`);
      expect(await backends(version, name)).toEqual({ [`${name}-primary`]: 80, [`${name}-canary`]: 20 });
      expect(await sluice.router.getRoutes(canary)).toEqual({
        primaryWeight: 80,
        canaryWeight: 20,
        mirror: false,
        match: false,
      });
    }
  });
});
