import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { RouterConfigError } from '../../src/routers/router.ts';
import { useNamespace } from '../support/kube.ts';
import { APP, canaryFor, exists, promote, read, release, sluiceFor, bootstrapped } from './support.ts';
import { expectWeightSteps, promoteRelease, revertUntilDone, weightedRoutes, AB_ROUTES } from './support.ts';
import { annotateAs } from './support.ts';
import { abTesting, INSIDERS } from './support.ts';

// The gatewayapi router against the real apiserver with the Gateway API v1 standard CRDs.

const ns = useNamespace('routers-gwapi');
const GATEWAY = 'gateway.networking.k8s.io/v1';

type BackendRef = { name: string; weight?: number; port?: number; filters?: unknown[] };
type Filter = {
  type: string;
  requestMirror?: { backendRef: { name: string }; percent?: number };
  requestHeaderModifier?: unknown;
};
type Rule = {
  name?: string;
  matches?: {
    path?: { type: string; value: string };
    headers?: { name: string; type?: string; value: string }[];
  }[];
  filters?: Filter[];
  backendRefs: BackendRef[];
  timeouts?: { request?: string };
};

async function httpRoute(name = APP) {
  const route = await read(ns.kube, GATEWAY, 'HTTPRoute', ns.name, name);
  return { route, rules: route.spec.rules as Rule[] };
}

function weights(rule: Rule | undefined): Record<string, number | undefined> {
  return Object.fromEntries((rule?.backendRefs ?? []).map((ref) => [ref.name, ref.weight]));
}

describe('gatewayapi router', () => {
  it('bootstraps, shifts weights, mirrors, routes A/B, promotes and finalizes, with the objects the apiserver holds', async () => {
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'gatewayapi:v1',
      service: {
        port: 9898,
        targetPort: 'http',
        hosts: ['podinfo.example.com'],
        gatewayRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'https' }],
        match: [{ uri: { prefix: '/api' } }],
        timeout: '1m30s',
        headers: { request: { set: { 'x-sluice': 'on' } } },
        rewrite: { uri: '/v2', type: 'ReplacePrefixMatch' },
      },
      analysis: { ...abTesting(3, INSIDERS), mirrorWeight: 20 },
    });
    const { route, rules } = await httpRoute();
    expect(route.spec.parentRefs).toEqual([
      {
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        name: 'public',
        namespace: 'gateways',
        sectionName: 'https',
      },
    ]);
    expect(route.spec.hostnames).toEqual(['podinfo.example.com']);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.name).toBe('weighted');
    expect(rules[0]!.matches).toEqual([{ path: { type: 'PathPrefix', value: '/api' } }]);
    expect(rules[0]!.timeouts).toEqual({ request: '1m30s' });
    expect(rules[0]!.filters?.map((filter) => filter.type)).toEqual(['RequestHeaderModifier', 'URLRewrite']);
    expect(weights(rules[0])).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    await expectWeightSteps(canary, sluice, async () => weights((await httpRoute()).rules[0]));

    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    const mirrored = (await httpRoute()).rules[0]!;
    const mirror = mirrored.filters?.find((filter) => filter.type === 'RequestMirror');
    expect(mirror?.requestMirror?.backendRef.name).toBe('podinfo-canary');
    expect(mirror?.requestMirror?.percent).toBe(20);
    expect(await sluice.router.getRoutes(canary)).toEqual({ ...PRIMARY_ONLY, mirror: true });

    await sluice.router.setRoutes(canary, AB_ROUTES);
    const ab = (await httpRoute()).rules;
    expect(ab.map((rule) => rule.name)).toEqual(['ab-match', 'ab-default']);
    expect(ab[0]!.matches).toEqual([
      {
        path: { type: 'PathPrefix', value: '/api' },
        headers: [{ name: 'x-canary', type: 'Exact', value: 'insider' }],
      },
    ]);
    expect(weights(ab[0])).toEqual({ 'podinfo-primary': 0, 'podinfo-canary': 100 });
    expect(weights(ab[1])).toEqual({ 'podinfo-primary': 100 });
    expect(await sluice.router.getRoutes(canary)).toEqual(AB_ROUTES);

    const { promoted } = await promoteRelease(ns, canary, sluice);
    expect(promoted.applied).toBe(true);
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
    expect(weights((await httpRoute()).rules[0])).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });

    await revertUntilDone(canary, sluice);
    expect(await exists(ns.kube, GATEWAY, 'HTTPRoute', ns.name, APP)).toBe(false);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector).toEqual({ app: APP });
    expect(await exists(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).toBe(false);
  });

  it('keeps a filter and an annotation another field manager added through a full rollout', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'gatewayapi',
        service: {
          port: 8080,
          gatewayRefs: [{ name: 'public' }],
          headers: { response: { add: { 'x-served-by': 'sluice' } } },
        },
        analysis: { interval: '10s', stepWeight: 25, maxWeight: 50, mirror: false },
      },
      { app: 'shop' },
    );

    // A platform tool adds a request header filter to Sluice's rule, and an annotation, as itself.
    const { rules } = await httpRoute('shop');
    const theirs: Filter = {
      type: 'RequestHeaderModifier',
      requestHeaderModifier: { add: [{ name: 'x-tenant', value: 'shop' }] },
    };
    rules[0]!.filters = [...(rules[0]!.filters ?? []), theirs];
    await ns.kube.wire.mergePatchObject(
      { apiVersion: GATEWAY, kind: 'HTTPRoute', metadata: { name: 'shop', namespace: ns.name } },
      { spec: { rules } },
      { fieldManager: 'platform-tool' },
    );
    await annotateAs(
      ns,
      'platform-annotator',
      { apiVersion: GATEWAY, kind: 'HTTPRoute', name: 'shop' },
      { 'platform.example.com/tier': 'gold' },
    );

    const check = async () => {
      const { route, rules: now } = await httpRoute('shop');
      expect(route.metadata.annotations?.['platform.example.com/tier']).toBe('gold');
      for (const rule of now) {
        expect(rule.filters).toContainEqual(theirs);
        // Sluice's own filter is there once, not doubled by being mistaken for someone else's.
        expect(rule.filters?.filter((filter) => filter.type === 'ResponseHeaderModifier')).toHaveLength(1);
      }
    };
    await sluice.router.reconcile(canary);
    await check();
    for (const canaryWeight of [25, 50]) {
      await sluice.router.setRoutes(canary, weightedRoutes(canaryWeight));
      await check();
    }
    await release(ns.kube, ns.name, 'ghcr.io/example/shop:2', 'shop');
    await promote(canary, sluice);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);
    await sluice.target.scaleCanary(canary, 'zero');
    await sluice.router.reconcile(canary);
    await check();
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
  });

  it('names the field when gatewayRefs is missing', async () => {
    const canary = canaryFor(ns.name, { provider: 'gatewayapi', service: { port: 9898 } }, 'nogw');
    const sluice = sluiceFor(canary, ns.kube);
    const error = await sluice.router.setRoutes(canary, PRIMARY_ONLY).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RouterConfigError);
    expect((error as RouterConfigError).field).toBe('spec.service.gatewayRefs');
  });
});
