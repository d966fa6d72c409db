import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, sameRoutes } from '../../src/routers/router.ts';
import { useNamespace } from '../support/kube.ts';
import { APP, canaryFor, exists, promote, read, release, sluiceFor, bootstrapped } from './support.ts';
import { expectWeightSteps, promoteRelease, revertUntilDone, weightedRoutes, AB_ROUTES } from './support.ts';
import { annotateAs } from './support.ts';
import { abTesting, INSIDERS } from './support.ts';

// The istio router against the real apiserver with the upstream Istio CRDs: every object
// Sluice writes is validated by the networking.istio.io/v1 schema.

const ns = useNamespace('routers-istio');
const ISTIO = 'networking.istio.io/v1';

type Route = {
  name?: string;
  match?: { headers?: Record<string, { exact?: string; regex?: string }>; uri?: { prefix?: string } }[];
  route: { destination: { host: string; port?: { number: number } }; weight?: number; headers?: unknown }[];
  mirror?: { host: string };
  mirrorPercentage?: { value: number };
  timeout?: string;
  retries?: { attempts?: number };
};

async function virtualService() {
  const vs = await read(ns.kube, ISTIO, 'VirtualService', ns.name, APP);
  return { vs, http: vs.spec.http as Route[] };
}

function weights(route: Route | undefined): Record<string, number | undefined> {
  return Object.fromEntries((route?.route ?? []).map((d) => [d.destination.host, d.weight]));
}

describe('istio router', () => {
  it('bootstraps, shifts weights, mirrors, routes A/B, promotes and finalizes, with the objects the apiserver holds', async () => {
    // Bootstrap: primary, Services, DestinationRules, VirtualService at 100/0.
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'istio',
      service: {
        port: 9898,
        targetPort: 'http',
        hosts: ['podinfo.example.com'],
        gateways: ['public-gateway.istio-system.svc.cluster.local'],
        match: [{ uri: { prefix: '/api' } }],
        timeout: '30s',
        retries: { attempts: 3, perTryTimeout: '1s', retryOn: 'gateway-error,connect-failure' },
        headers: { request: { add: { 'x-sluice': 'on' } } },
        corsPolicy: {
          allowOrigins: [{ exact: 'https://example.com' }],
          allowMethods: ['GET'],
          maxAge: '24h',
        },
        rewrite: { uri: '/' },
        trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
        apex: { annotations: { 'example.com/apex': 'yes' }, labels: { tier: 'frontend' } },
      },
      analysis: { ...abTesting(5, INSIDERS), mirrorWeight: 25 },
    });
    const { vs, http } = await virtualService();
    expect(vs.spec.hosts).toEqual(['podinfo.example.com', APP]);
    expect(vs.spec.gateways).toEqual(['public-gateway.istio-system.svc.cluster.local']);
    expect(vs.metadata.annotations?.['example.com/apex']).toBe('yes');
    expect(vs.metadata.labels?.tier).toBe('frontend');
    expect(http).toHaveLength(1);
    expect(http[0]!.name).toBe('weighted');
    expect(http[0]!.match).toEqual([{ uri: { prefix: '/api' } }]);
    expect(http[0]!.timeout).toBe('30s');
    expect(http[0]!.retries?.attempts).toBe(3);
    expect(weights(http[0])).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
    expect(http[0]!.route[0]!.destination.port).toEqual({ number: 9898 });
    for (const role of ['primary', 'canary']) {
      const dr = await read(ns.kube, ISTIO, 'DestinationRule', ns.name, `${APP}-${role}`);
      expect(dr.spec).toEqual({ host: `${APP}-${role}`, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
    }
    const apex = await read(ns.kube, 'v1', 'Service', ns.name, APP);
    expect(apex.spec.selector).toEqual({ app: 'podinfo-primary' });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(0);
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).spec.replicas).toBe(2);

    // Weights 90/10, then 50/50.
    await expectWeightSteps(canary, sluice, async () => weights((await virtualService()).http[0]));

    // Setting the same routes again writes nothing.
    const before = (await virtualService()).vs.metadata.resourceVersion;
    await sluice.router.setRoutes(canary, {
      primaryWeight: 50,
      canaryWeight: 50,
      mirror: false,
      match: false,
    });
    expect((await virtualService()).vs.metadata.resourceVersion).toBe(before);

    // Mirror: all traffic on the primary, 25 % copied to the canary.
    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    const mirrored = (await virtualService()).http[0]!;
    expect(mirrored.mirror).toEqual({ host: 'podinfo-canary', port: { number: 9898 } });
    expect(mirrored.mirrorPercentage).toEqual({ value: 25 });
    expect(await sluice.router.getRoutes(canary)).toEqual({ ...PRIMARY_ONLY, mirror: true });

    // A/B: requests with x-canary: insider (under /api) go to the canary, all others to the primary.
    await sluice.router.setRoutes(canary, AB_ROUTES);
    const ab = (await virtualService()).http;
    expect(ab.map((route) => route.name)).toEqual(['ab-match', 'ab-default']);
    expect(ab[0]!.match).toEqual([
      { uri: { prefix: '/api' }, headers: { 'x-canary': { exact: 'insider' } } },
    ]);
    expect(weights(ab[0])).toEqual({ 'podinfo-primary': 0, 'podinfo-canary': 100 });
    expect(weights(ab[1])).toEqual({ 'podinfo-primary': 100 });
    expect(ab[1]!.match).toEqual([{ uri: { prefix: '/api' } }]);
    expect(await sluice.router.getRoutes(canary)).toEqual(AB_ROUTES);

    // Promote a new image, route everything back, scale the canary down.
    const { promoted } = await promoteRelease(ns, canary, sluice);
    expect(promoted.applied).toBe(true);
    const primary = await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`);
    const template = primary.spec.template as { spec: { containers: { image: string }[] } };
    expect(template.spec.containers[0]!.image).toBe('ghcr.io/stefanprodan/podinfo:6.1.0');
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(0);
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    // Finalize (revertOnDeletion): the target takes the traffic back, Sluice's objects go.
    const reverted = await revertUntilDone(canary, sluice);
    expect(reverted.message).toMatch(/Deployment .*podinfo-primary/);
    expect(await exists(ns.kube, ISTIO, 'VirtualService', ns.name, APP)).toBe(false);
    expect(await exists(ns.kube, ISTIO, 'DestinationRule', ns.name, `${APP}-primary`)).toBe(false);
    expect(await exists(ns.kube, 'v1', 'Service', ns.name, `${APP}-canary`)).toBe(false);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector).toEqual({ app: APP });
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(2);
    expect(await exists(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).toBe(false);
  });

  it('keeps annotations and routes another manager added, and corrects a hand edit of the weights', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'istio',
        service: { port: 8080 },
        analysis: {
          interval: '10s',
          stepWeight: 20,
          maxWeight: 60,
          sessionAffinity: { cookieName: 'shop-canary', maxAge: 600 },
        },
      },
      { app: 'shop' },
    );

    // Another tool adds an annotation (its own field manager) and a route of its own.
    await annotateAs(
      ns,
      'platform-tool',
      { apiVersion: ISTIO, kind: 'VirtualService', name: 'shop' },
      { 'platform.example.com/owner': 'edge' },
    );
    const live = await read(ns.kube, ISTIO, 'VirtualService', ns.name, 'shop');
    const http = live.spec.http as Route[];
    await ns.kube.wire.mergePatchObject(
      { apiVersion: ISTIO, kind: 'VirtualService', metadata: { name: 'shop', namespace: ns.name } },
      {
        spec: {
          http: [
            {
              name: 'maintenance',
              match: [{ uri: { prefix: '/maintenance' } }],
              route: [{ destination: { host: 'maintenance-page' } }],
            },
            ...http,
          ],
        },
      },
      { fieldManager: 'platform-tool' },
    );

    // A whole rollout: session affinity, weights, promotion.
    for (const canaryWeight of [20, 40, 60, 0]) {
      await sluice.router.setRoutes(canary, weightedRoutes(canaryWeight));
      const vs = await read(ns.kube, ISTIO, 'VirtualService', ns.name, 'shop');
      const routes = vs.spec.http as Route[];
      expect(vs.metadata.annotations?.['platform.example.com/owner']).toBe('edge');
      expect(routes[0]!.name).toBe('maintenance');
      expect(routes.map((route) => route.name)).toEqual(['maintenance', 'sticky', 'weighted']);
      const sticky = routes[1]!;
      expect(sticky.match?.[0]?.headers?.Cookie?.regex).toMatch(/^\.\*shop-canary=[0-9a-f]+\.\*$/);
      if (canaryWeight > 0) {
        expect(weights(sticky)).toEqual({ 'shop-primary': 0, 'shop-canary': 100 });
        expect(JSON.stringify(routes[2]!.route[1]!.headers)).toMatch(
          /Set-Cookie.*shop-canary=[0-9a-f]+; Max-Age=600/,
        );
      } else {
        expect(JSON.stringify(sticky)).toMatch(/Max-Age=-1/);
      }
      expect(await sluice.router.getRoutes(canary)).toEqual(weightedRoutes(canaryWeight));
    }
    // Promotion and reconcile: still there.
    await release(ns.kube, ns.name, 'ghcr.io/example/shop:2', 'shop');
    await promote(canary, sluice);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    await sluice.target.scaleCanary(canary, 'zero');
    await sluice.router.reconcile(canary);
    const promoted = await read(ns.kube, ISTIO, 'VirtualService', ns.name, 'shop');
    expect(promoted.metadata.annotations?.['platform.example.com/owner']).toBe('edge');
    expect((promoted.spec.http as Route[])[0]!.name).toBe('maintenance');

    // Someone edits the weights by hand: getRoutes sees it, setRoutes puts Sluice's back.
    const edited = (await read(ns.kube, ISTIO, 'VirtualService', ns.name, 'shop')).spec.http as Route[];
    const weighted = edited.find((route) => route.name === 'weighted')!;
    weighted.route[0]!.weight = 30;
    weighted.route[1]!.weight = 70;
    await ns.kube.wire.mergePatchObject(
      { apiVersion: ISTIO, kind: 'VirtualService', metadata: { name: 'shop', namespace: ns.name } },
      { spec: { http: edited } },
      { fieldManager: 'kubectl-edit' },
    );
    const drifted = await sluice.router.getRoutes(canary);
    expect(drifted).toEqual({ primaryWeight: 30, canaryWeight: 70, mirror: false, match: false });
    expect(sameRoutes(drifted, PRIMARY_ONLY)).toBe(false);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
    const fixed = await read(ns.kube, ISTIO, 'VirtualService', ns.name, 'shop');
    expect((fixed.spec.http as Route[])[0]!.name).toBe('maintenance');
  });

  it('rejects routes that do not add up, naming the Canary', async () => {
    const canary = canaryFor(ns.name, { provider: 'istio' });
    const sluice = sluiceFor(canary, ns.kube);
    await expect(
      sluice.router.setRoutes(canary, { primaryWeight: 90, canaryWeight: 20, mirror: false, match: false }),
    ).rejects.toThrow(/Canary .*\/podinfo: routes weights must add up to 100 \(got 90 \+ 20\)/);
  });
});
