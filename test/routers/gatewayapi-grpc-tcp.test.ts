import { describe, expect, it } from 'vitest';
import { checkCapabilities } from '../../src/routers/capabilities.ts';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { useNamespace } from '../support/kube.ts';
import { canaryFor, read, bootstrapped } from './support.ts';
import { abTesting, INSIDERS } from './support.ts';

// spec.service.protocol grpc and tcp: the gatewayapi router writes a GRPCRoute or a TCPRoute
// (both gateway.networking.k8s.io/v1 in the pinned module's standard channel) instead of an
// HTTPRoute, checked against their real schemas.

const ns = useNamespace('routers-grpc-tcp');
const GATEWAY = 'gateway.networking.k8s.io/v1';
type Rule = {
  name: string;
  matches?: unknown[];
  filters?: unknown[];
  backendRefs: { name: string; weight: number }[];
};

describe('gatewayapi router with spec.service.protocol', () => {
  it('grpc: a GRPCRoute with weights, a mirror, and A/B by header and by service/method', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'gatewayapi',
        service: {
          port: 9090,
          protocol: 'grpc',
          hosts: ['greeter.example.com'],
          gatewayRefs: [{ name: 'edge' }],
          match: [{ headers: { 'x-tenant': { exact: 'shop' } } }],
        },
        analysis: abTesting(2, INSIDERS, {
          uri: { exact: '/helloworld.Greeter/SayHello' },
          headers: { 'x-beta': { prefix: 'y' } },
        }),
      },
      { app: 'greeter' },
    );
    expect(checkCapabilities(canary)).toEqual([]);
    let route = await read(ns.kube, GATEWAY, 'GRPCRoute', ns.name, 'greeter');
    expect(route.spec.hostnames).toEqual(['greeter.example.com']);
    expect((route.spec.rules as Rule[])[0]).toMatchObject({
      name: 'weighted',
      matches: [{ headers: [{ name: 'x-tenant', type: 'Exact', value: 'shop' }] }],
    });
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    await sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true, mirrorWeight: 30 });
    route = await read(ns.kube, GATEWAY, 'GRPCRoute', ns.name, 'greeter');
    expect((route.spec.rules as Rule[])[0]!.filters).toEqual([
      {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: 'greeter-canary', port: 9090 },
          percent: 30,
        },
      },
    ]);

    const ab = { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    await sluice.router.setRoutes(canary, ab);
    route = await read(ns.kube, GATEWAY, 'GRPCRoute', ns.name, 'greeter');
    const rules = route.spec.rules as Rule[];
    expect(rules.map((rule) => rule.name)).toEqual(['ab-match', 'ab-default']);
    expect(rules[0]!.matches).toEqual([
      {
        headers: [
          { name: 'x-tenant', type: 'Exact', value: 'shop' },
          { name: 'x-canary', type: 'Exact', value: 'insider' },
        ],
      },
      {
        method: { type: 'Exact', service: 'helloworld.Greeter', method: 'SayHello' },
        headers: [
          { name: 'x-tenant', type: 'Exact', value: 'shop' },
          { name: 'x-beta', type: 'RegularExpression', value: 'y.*' },
        ],
      },
    ]);
    expect(rules[1]!.backendRefs.map((ref) => [ref.name, ref.weight])).toEqual([['greeter-primary', 100]]);
    expect(await sluice.router.getRoutes(canary)).toEqual(ab);
  });

  it('tcp: a TCPRoute with weights only; matches and timeouts are refused up front', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'gatewayapi',
        service: { port: 6379, protocol: 'tcp', gatewayRefs: [{ name: 'edge', sectionName: 'redis' }] },
        analysis: { interval: '10s', stepWeight: 20, maxWeight: 60 },
      },
      { app: 'redis' },
    );
    expect(checkCapabilities(canary)).toEqual([]);
    await sluice.router.setRoutes(canary, {
      primaryWeight: 80,
      canaryWeight: 20,
      mirror: false,
      match: false,
    });
    const route = await read(ns.kube, GATEWAY, 'TCPRoute', ns.name, 'redis');
    expect(route.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'edge', sectionName: 'redis' },
    ]);
    expect(route.spec.rules).toEqual([
      {
        name: 'weighted',
        backendRefs: [
          { group: '', kind: 'Service', name: 'redis-primary', port: 6379, weight: 80 },
          { group: '', kind: 'Service', name: 'redis-canary', port: 6379, weight: 20 },
        ],
      },
    ]);
    expect(await sluice.router.getRoutes(canary)).toEqual({
      primaryWeight: 80,
      canaryWeight: 20,
      mirror: false,
      match: false,
    });
    const refused = checkCapabilities(
      canaryFor(ns.name, {
        provider: 'gatewayapi',
        service: { port: 6379, protocol: 'tcp', timeout: '5s', gatewayRefs: [{ name: 'edge' }] },
        analysis: { interval: '10s', iterations: 2, match: [{ headers: { a: { exact: '1' } } }] },
      }),
    ).filter((issue) => issue.feature === 'protocol');
    expect(refused.map((issue) => issue.path)).toEqual(['spec.service.timeout', 'spec.analysis.match']);
  });
});
