import { describe, expect, it } from 'vitest';
import { useNamespace } from '../support/kube.ts';
import { read, bootstrapped } from './support.ts';

// Several ports on one Service (fluxcd/flagger#993): with portDiscovery the apex, primary and
// canary Services carry every container port, and every port is split with the same weights
// (Istio: a route per port matched on it; Gateway API with a Service parent: a route per
// port); spec.service.port stays the one the built-in metrics and the main route name.

const ns = useNamespace('routers-multiport');
const containers = [
  {
    name: 'app',
    image: 'ghcr.io/stefanprodan/podinfo:6.0.0',
    ports: [
      { name: 'http', containerPort: 9898 },
      { name: 'grpc', containerPort: 9999 },
    ],
  },
];
type Destination = { destination: { host: string; port: { number: number } }; weight: number };
type HttpRoute = { name: string; match?: { port?: number }[]; route: Destination[] };
const split = (route: HttpRoute | undefined) =>
  (route?.route ?? []).map((d) => [d.destination.host, d.destination.port.number, d.weight]);

describe('several ports on one Service', () => {
  it('istio: the Services carry every port, and each port is routed with the same weights', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'istio',
        service: { port: 9898, portDiscovery: true },
      },
      { app: 'multi', deployment: { podSpec: { containers } } },
    );
    for (const name of ['multi', 'multi-primary', 'multi-canary']) {
      const service = await read(ns.kube, 'v1', 'Service', ns.name, name);
      const ports = (service.spec.ports as { port: number }[]).map((port) => port.port);
      expect(ports, name).toEqual([9898, 9999]);
    }
    await sluice.router.setRoutes(canary, {
      primaryWeight: 70,
      canaryWeight: 30,
      mirror: false,
      match: false,
    });
    const vs = await read(ns.kube, 'networking.istio.io/v1', 'VirtualService', ns.name, 'multi');
    const http = vs.spec.http as HttpRoute[];
    expect(http.map((route) => route.name)).toEqual(['weighted-9999', 'weighted']);
    expect(http[0]!.match).toEqual([{ port: 9999 }]);
    expect(split(http[0])).toEqual([
      ['multi-primary', 9999, 70],
      ['multi-canary', 9999, 30],
    ]);
    expect(split(http[1])).toEqual([
      ['multi-primary', 9898, 70],
      ['multi-canary', 9898, 30],
    ]);
    expect(await sluice.router.getRoutes(canary)).toEqual({
      primaryWeight: 70,
      canaryWeight: 30,
      mirror: false,
      match: false,
    });
  });

  it('gatewayapi attached to the Service: an HTTPRoute per port, weighted alike', async () => {
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'gatewayapi',
        service: {
          port: 9898,
          portDiscovery: true,
          gatewayRefs: [{ group: '', kind: 'Service', name: 'mesh', port: 9898 }],
        },
      },
      { app: 'mesh', deployment: { podSpec: { containers } } },
    );
    await sluice.router.setRoutes(canary, {
      primaryWeight: 40,
      canaryWeight: 60,
      mirror: false,
      match: false,
    });
    for (const [name, port] of [
      ['mesh', 9898],
      ['mesh-9999', 9999],
    ] as const) {
      const route = await read(ns.kube, 'gateway.networking.k8s.io/v1', 'HTTPRoute', ns.name, name);
      expect(route.spec.parentRefs, name).toEqual([{ group: '', kind: 'Service', name: 'mesh', port }]);
      const [rule] = route.spec.rules as { backendRefs: { name: string; port: number; weight: number }[] }[];
      expect(
        rule!.backendRefs.map((ref) => [ref.name, ref.port, ref.weight]),
        name,
      ).toEqual([
        ['mesh-primary', port, 40],
        ['mesh-canary', port, 60],
      ]);
    }
  });
});
