import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { useNamespace } from '../support/kube.ts';
import { read, bootstrapped, AB_ROUTES } from './support.ts';
import { abTesting, INSIDERS } from './support.ts';

// gloo (Gloo Gateway) and linkerd (2.12+, through Gateway API) write the same HTTPRoute as
// gatewayapi, checked here against the Gateway API CRDs: Linkerd's attaches to the Service.

const ns = useNamespace('routers-gw-providers');
const GATEWAY = 'gateway.networking.k8s.io/v1';
type Rule = { name?: string; backendRefs: { name: string; weight?: number }[]; filters?: unknown[] };

describe('HTTPRoute through gloo and linkerd', () => {
  it('linkerd with gatewayRefs writes an HTTPRoute attached to the Service; it cannot mirror', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'linkerd',
        service: {
          port: 8080,
          gatewayRefs: [{ group: 'core', kind: 'Service', name: 'orders', port: 8080 }],
        },
        analysis: abTesting(2, INSIDERS),
      },
      { app: 'orders' },
    );
    expect(sluice.router.provider).toBe('linkerd');
    await sluice.router.setRoutes(canary, AB_ROUTES);
    const route = await read(ns.kube, GATEWAY, 'HTTPRoute', ns.name, 'orders');
    expect(route.spec.parentRefs).toEqual([{ group: 'core', kind: 'Service', name: 'orders', port: 8080 }]);
    expect((route.spec.rules as Rule[]).map((rule) => rule.name)).toEqual(['ab-match', 'ab-default']);
    expect(await sluice.router.getRoutes(canary)).toEqual(AB_ROUTES);
    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );
  });

  it('gloo writes the HTTPRoute to the Gloo Gateway, with weights and a mirror', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'gloo',
        service: { port: 8080, gatewayRefs: [{ name: 'gloo-gateway', namespace: 'gloo-system' }] },
        analysis: { interval: '10s', stepWeight: 10, maxWeight: 50, mirror: true, mirrorWeight: 20 },
      },
      { app: 'cart' },
    );
    expect(sluice.router.provider).toBe('gloo');
    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    await sluice.router.setRoutes(canary, {
      primaryWeight: 60,
      canaryWeight: 40,
      mirror: false,
      match: false,
    });
    const route = await read(ns.kube, GATEWAY, 'HTTPRoute', ns.name, 'cart');
    const [weighted] = route.spec.rules as Rule[];
    expect(weighted?.backendRefs.map((ref) => [ref.name, ref.weight])).toEqual([
      ['cart-primary', 60],
      ['cart-canary', 40],
    ]);
    expect(await sluice.router.getRoutes(canary)).toEqual({
      primaryWeight: 60,
      canaryWeight: 40,
      mirror: false,
      match: false,
    });
  });
});
