import { describe, expect, it } from 'vitest';
import { revertOnDeletion } from '../../src/routers/revert.ts';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { APP, exists, promote, read } from './support.ts';
import { release, bootstrapped, weightedRoutes } from './support.ts';
import { abTesting, INSIDERS } from './support.ts';

// The contour router against the real apiserver with Contour's CRDs (from its Go module).

const ns = useNamespace('routers-contour');
const CONTOUR = 'projectcontour.io/v1';

type Service = { name: string; port: number; weight?: number; mirror?: boolean };
type Route = { conditions?: Record<string, unknown>[]; services: Service[]; [key: string]: unknown };

async function proxy(name = APP) {
  const object = await read(ns.kube, CONTOUR, 'HTTPProxy', ns.name, name);
  return { object, routes: object.spec.routes as Route[] };
}

const weights = (route: Route | undefined) =>
  Object.fromEntries((route?.services ?? []).filter((s) => !s.mirror).map((s) => [s.name, s.weight]));

describe('contour router', () => {
  it('bootstraps, shifts weights, mirrors, routes A/B by header, promotes and finalizes', async () => {
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'contour',
      service: {
        port: 9898,
        targetPort: 'http',
        hosts: ['podinfo.example.com'],
        timeout: '15s',
        retries: { attempts: 3, perTryTimeout: '5s', retryOn: '5xx,connect-failure' },
        headers: { request: { set: { 'x-via': 'sluice' } } },
      },
      analysis: { interval: '10s', iterations: 3, mirror: true, mirrorWeight: 50 },
    });
    expect(sluice.router.provider).toBe('contour');

    const first = await proxy();
    let routes = first.routes;
    expect(first.object.spec.virtualhost).toEqual({ fqdn: 'podinfo.example.com' });
    expect(routes).toHaveLength(1);
    expect(weights(routes[0])).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
    expect(routes[0]!.timeoutPolicy).toEqual({ response: '15s' });
    expect(routes[0]!.retryPolicy).toEqual({
      count: 3,
      perTryTimeout: '5s',
      retryOn: ['5xx', 'connect-failure'],
    });
    expect(routes[0]!.requestHeadersPolicy).toEqual({ set: [{ name: 'x-via', value: 'sluice' }] });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    // Mirroring: all traffic on the primary, half of it copied to the canary.
    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    ({ routes } = await proxy());
    expect(routes[0]!.services).toEqual([
      { name: 'podinfo-primary', port: 9898, weight: 100 },
      { name: 'podinfo-canary', port: 9898, mirror: true, weight: 50 },
    ]);
    expect(await sluice.router.getRoutes(canary)).toEqual({ ...PRIMARY_ONLY, mirror: true });

    for (const canaryWeight of [10, 50]) {
      const routesNow = { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: false };
      await sluice.router.setRoutes(canary, routesNow);
      ({ routes } = await proxy());
      expect(weights(routes[0])).toEqual({
        'podinfo-primary': 100 - canaryWeight,
        'podinfo-canary': canaryWeight,
      });
      expect(await sluice.router.getRoutes(canary)).toEqual(routesNow);
    }

    await release(ns.kube, ns.name, 'ghcr.io/stefanprodan/podinfo:6.1.0');
    await promote(canary, sluice);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    await sluice.target.scaleCanary(canary, 'zero');
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    await eventually(
      'revert done',
      async () => (await revertOnDeletion(canary, sluice.target, sluice.router)).done,
    );
    expect(await exists(ns.kube, CONTOUR, 'HTTPProxy', ns.name, APP)).toBe(false);
  });

  it('routes A/B: a route per match with the header conditions, then the default to the primary', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'contour',
        service: { port: 8080, match: [{ uri: { prefix: '/cart' } }] },
        analysis: abTesting(3, INSIDERS, {
          headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } },
        }),
      },
      { app: 'cart' },
    );
    const ab = { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    await sluice.router.setRoutes(canary, ab);
    const { object, routes } = await proxy('cart');
    expect(object.spec.virtualhost).toBeUndefined();
    expect(routes.map((route) => route.conditions)).toEqual([
      [{ prefix: '/cart' }, { header: { name: 'x-canary', exact: 'insider' } }],
      [{ prefix: '/cart' }, { header: { name: 'cookie', regex: '^(.*?;)?(canary=always)(;.*)?$' } }],
      [{ prefix: '/cart' }],
    ]);
    expect(weights(routes[0])).toEqual({ 'cart-primary': 0, 'cart-canary': 100 });
    expect(weights(routes[2])).toEqual({ 'cart-primary': 100 });
    expect(await sluice.router.getRoutes(canary)).toEqual(ab);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
  });

  it('keeps the routes another tool added, and the fields it set on Sluice’s route', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'contour',
        service: { port: 8080 },
        analysis: { interval: '10s', stepWeight: 25, maxWeight: 50 },
      },
      { app: 'shop' },
    );

    const { routes } = await proxy('shop');
    const theirs: Route = {
      conditions: [{ prefix: '/admin' }],
      services: [{ name: 'admin', port: 80 }],
    };
    const withTheirs = [{ ...routes[0]!, enableWebsockets: true }, theirs];
    await ns.kube.wire.mergePatchObject(
      { apiVersion: CONTOUR, kind: 'HTTPProxy', metadata: { name: 'shop', namespace: ns.name } },
      { metadata: { annotations: { 'platform.example.com/tier': 'gold' } }, spec: { routes: withTheirs } },
      { fieldManager: 'platform-tool' },
    );

    const check = async () => {
      const { object, routes: now } = await proxy('shop');
      expect(object.metadata.annotations?.['platform.example.com/tier']).toBe('gold');
      expect(now).toContainEqual(theirs);
      expect(now[0]!.enableWebsockets).toBe(true);
    };
    await sluice.router.reconcile(canary);
    await check();
    for (const canaryWeight of [25, 50, 0]) {
      await sluice.router.setRoutes(canary, weightedRoutes(canaryWeight));
      await check();
      expect((await sluice.router.getRoutes(canary)).canaryWeight).toBe(canaryWeight);
    }
  });
});
