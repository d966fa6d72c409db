import { describe, expect, it } from 'vitest';
import { revertOnDeletion } from '../../src/routers/revert.ts';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { APP, exists, read } from './support.ts';
import { bootstrapped } from './support.ts';

// The traefik router against the real apiserver with Traefik's CRDs (from its Go module).

const ns = useNamespace('routers-traefik');
const TRAEFIK = 'traefik.io/v1alpha1';

async function spec(name = APP) {
  return (await read(ns.kube, TRAEFIK, 'TraefikService', ns.name, name)).spec as {
    weighted?: { services: Record<string, unknown>[] };
    mirroring?: Record<string, unknown> & { mirrors: Record<string, unknown>[] };
  };
}

describe('traefik router', () => {
  it('splits by weight, mirrors through a mirroring service, refuses A/B, and keeps fields others set on its services', async () => {
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'traefik',
      service: { port: 9898, targetPort: 'http' },
      analysis: { interval: '10s', stepWeight: 10, maxWeight: 60, mirror: true, mirrorWeight: 25 },
    });
    expect((await spec()).weighted?.services).toEqual([
      { name: 'podinfo-primary', port: 9898, weight: 100 },
      { name: 'podinfo-canary', port: 9898, weight: 0 },
    ]);

    // Another tool tunes Sluice's primary entry; the list is atomic, so Sluice carries it over.
    const services = (await spec()).weighted!.services;
    await ns.kube.wire.mergePatchObject(
      { apiVersion: TRAEFIK, kind: 'TraefikService', metadata: { name: APP, namespace: ns.name } },
      { spec: { weighted: { services: [{ ...services[0], passHostHeader: false }, services[1]] } } },
      { fieldManager: 'platform-tool' },
    );

    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    expect((await spec()).weighted?.services).toEqual([
      { name: 'podinfo-primary', port: 9898, weight: 0, passHostHeader: false },
      { name: 'podinfo-canary', port: 9898, weight: 0 },
      { name: 'podinfo-mirror', kind: 'TraefikService', weight: 100 },
    ]);
    expect((await spec('podinfo-mirror')).mirroring).toEqual({
      name: 'podinfo-primary',
      port: 9898,
      mirrors: [{ name: 'podinfo-canary', port: 9898, percent: 25 }],
    });
    expect(await sluice.router.getRoutes(canary)).toEqual({ ...PRIMARY_ONLY, mirror: true });

    for (const canaryWeight of [10, 60]) {
      const routes = { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: false };
      await sluice.router.setRoutes(canary, routes);
      expect((await spec()).weighted?.services).toEqual([
        { name: 'podinfo-primary', port: 9898, weight: 100 - canaryWeight, passHostHeader: false },
        { name: 'podinfo-canary', port: 9898, weight: canaryWeight },
      ]);
      expect(await sluice.router.getRoutes(canary)).toEqual(routes);
    }
    await expect(
      sluice.router.setRoutes(canary, { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true }),
    ).rejects.toThrow(RoutingNotSupportedError);

    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    await eventually(
      'revert done',
      async () => (await revertOnDeletion(canary, sluice.target, sluice.router)).done,
    );
    expect(await exists(ns.kube, TRAEFIK, 'TraefikService', ns.name, APP)).toBe(false);
    expect(await exists(ns.kube, TRAEFIK, 'TraefikService', ns.name, 'podinfo-mirror')).toBe(false);
  });
});
