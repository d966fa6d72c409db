import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { APP, exists, promote, read, release, bootstrapped, revertUntilDone } from './support.ts';
import { weightedRoutes } from './support.ts';

// The kubernetes provider: blue/green by switching the apex Service's selector, no mesh.

const ns = useNamespace('routers-k8s');

async function apexSelector() {
  return (await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector;
}

/** Names of the pods the apex Service sends traffic to, from its EndpointSlices (kube-controller-manager). */
async function apexEndpoints(): Promise<string[]> {
  const slices = await ns.kube.wire.listObjects<
    { endpoints?: { targetRef?: { name?: string } }[] } & { apiVersion: string; kind: string }
  >('discovery.k8s.io/v1', 'EndpointSlice', ns.name, `kubernetes.io/service-name=${APP}`);
  return slices.flatMap((slice) => (slice.endpoints ?? []).map((e) => e.targetRef?.name ?? '')).sort();
}

describe('kubernetes router', () => {
  it('switches the apex Service between primary and canary pods; weights in between, mirror and A/B are refused', async () => {
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'kubernetes',
      service: {
        port: 9898,
        targetPort: 'http',
        portDiscovery: true,
        apex: { labels: { tier: 'web' }, annotations: { 'example.com/apex': 'yes' } },
        canary: { labels: { track: 'canary' } },
      },
      analysis: { interval: '10s', iterations: 3 },
    });
    expect(await apexSelector()).toEqual({ app: 'podinfo-primary' });
    const apex = await read(ns.kube, 'v1', 'Service', ns.name, APP);
    expect(apex.metadata.labels).toMatchObject({ app: APP, tier: 'web' });
    expect(apex.metadata.annotations?.['example.com/apex']).toBe('yes');
    expect(apex.spec.ports).toEqual([
      expect.objectContaining({ name: 'http', port: 9898, targetPort: 'http', protocol: 'TCP' }),
    ]);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, `${APP}-canary`)).metadata.labels).toMatchObject({
      track: 'canary',
    });
    expect((await read(ns.kube, 'v1', 'Service', ns.name, `${APP}-primary`)).spec.selector).toEqual({
      app: 'podinfo-primary',
    });
    expect((await read(ns.kube, 'v1', 'Service', ns.name, `${APP}-canary`)).spec.selector).toEqual({
      app: APP,
    });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
    await eventually('apex endpoints on the primary', async () => {
      const names = await apexEndpoints();
      return names.length === 2 && names.every((name) => name.startsWith('podinfo-primary-'));
    });

    await expect(
      sluice.router.setRoutes(canary, { primaryWeight: 90, canaryWeight: 10, mirror: false, match: false }),
    ).rejects.toThrow(/provider kubernetes cannot split traffic 90\/10/);
    await expect(
      sluice.router.setRoutes(canary, { primaryWeight: 50, canaryWeight: 50, mirror: false, match: false }),
    ).rejects.toThrow(RoutingNotSupportedError);
    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      /cannot mirror traffic/,
    );
    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, match: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );
    expect(await apexSelector()).toEqual({ app: 'podinfo-primary' });

    // A new release: the canary runs, then the switch sends all traffic to it.
    await release(ns.kube, ns.name, 'ghcr.io/stefanprodan/podinfo:6.1.0');
    await sluice.target.scaleCanary(canary, 'up');
    await eventually(
      'canary ready',
      async () => (await sluice.target.readiness(canary)).canary.state === 'ready',
    );
    await sluice.router.setRoutes(canary, weightedRoutes(100));
    expect(await apexSelector()).toEqual({ app: APP });
    expect(await sluice.router.getRoutes(canary)).toEqual(weightedRoutes(100));
    // Reconciling keeps the switch where it is.
    await sluice.router.reconcile(canary);
    expect(await apexSelector()).toEqual({ app: APP });
    await eventually('apex endpoints on the canary', async () => {
      const names = await apexEndpoints();
      return (
        names.length === 2 &&
        names.every((name) => name.startsWith('podinfo-') && !name.startsWith('podinfo-primary-'))
      );
    });

    // Promote: the primary gets the new spec, then the apex goes back to it.
    await promote(canary, sluice);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    await sluice.target.scaleCanary(canary, 'zero');
    expect(await apexSelector()).toEqual({ app: 'podinfo-primary' });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    await revertUntilDone(canary, sluice);
    expect(await apexSelector()).toEqual({ app: APP });
    expect(await exists(ns.kube, 'v1', 'Service', ns.name, `${APP}-primary`)).toBe(false);
    expect(await exists(ns.kube, 'v1', 'Service', ns.name, `${APP}-canary`)).toBe(false);
    expect(await exists(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).toBe(false);
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(2);
  });
});
