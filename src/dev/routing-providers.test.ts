import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import { httpProxyObject } from '../routers/contour.ts';
import { traefikMirrorObject, traefikServiceObject } from '../routers/traefik.ts';
import { decide, type RouteRequest } from './routing.ts';
import { httpProxySchema } from './routing-contour.ts';
import { traefikServiceSchema } from './routing-traefik.ts';

// The local traffic layer reads what the contour and traefik routers write: each object
// built by the router, read back through the layer's schema, routes requests as the
// provider would.

const identity = { namespace: 'shop', service: 'web', hosts: [] };
const request = (path: string, headers: Record<string, string> = {}): RouteRequest => ({
  method: 'GET',
  path,
  query: new URLSearchParams(),
  headers,
  authority: 'web',
});
const weightsOf = (decision: { backends: { backend?: { service: string }; weight: number }[] }) =>
  Object.fromEntries(decision.backends.map((b) => [b.backend?.service, b.weight]));

describe('local routing by an HTTPProxy (contour)', () => {
  const canary = canaryWith({
    provider: 'contour',
    service: { port: 8080, timeout: '5s', match: [{ uri: { prefix: '/api' } }] },
    analysis: { iterations: 2, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] },
  });
  /** The routing objects when the HTTPProxy holds these routes. */
  const proxied = (routes: Parameters<typeof httpProxyObject>[1]) => ({
    virtualServices: [],
    httpRoutes: [],
    httpProxies: [
      httpProxySchema.parse({
        ...httpProxyObject(canary, routes, undefined),
        metadata: { name: 'web', namespace: 'shop' },
      }),
    ],
  });

  it('splits by weight with the route’s timeout; a path outside the route has no route', () => {
    const objects = proxied({ primaryWeight: 70, canaryWeight: 30, mirror: false, match: false });
    const result = decide(identity, objects, request('/api/users'));
    if (!('decision' in result)) throw new Error('no decision');
    expect(weightsOf(result.decision)).toEqual({ 'web-primary': 70, 'web-canary': 30 });
    expect(result.decision.backends[0]!.backend?.port).toBe(8080);
    expect(result.decision.timeoutMs).toBe(5000);
    expect(decide(identity, objects, request('/apiv2'))).toEqual({
      noRoute: { kind: 'HTTPProxy', name: 'web' },
    });
  });

  it('sends A/B matches to the canary before the default route, and mirrors by weight', () => {
    const ab = proxied({ primaryWeight: 0, canaryWeight: 100, mirror: false, match: true });
    const insider = decide(identity, ab, request('/api', { 'x-canary': 'insider' }));
    const other = decide(identity, ab, request('/api'));
    if (!('decision' in insider) || !('decision' in other)) throw new Error('no decision');
    expect(weightsOf(insider.decision)).toEqual({ 'web-primary': 0, 'web-canary': 100 });
    expect(weightsOf(other.decision)).toEqual({ 'web-primary': 100 });
    const mirrored = proxied({
      primaryWeight: 100,
      canaryWeight: 0,
      mirror: true,
      match: false,
      mirrorWeight: 40,
    });
    const result = decide(identity, mirrored, request('/api'));
    if (!('decision' in result)) throw new Error('no decision');
    expect(result.decision.mirrors).toEqual([
      { backend: { service: 'web-canary', namespace: 'shop', port: 8080 }, percent: 40 },
    ]);
  });
});

describe('local routing by a TraefikService (traefik)', () => {
  const canary = canaryWith({ provider: 'traefik', service: { port: 8080 } });
  const objects = (routes: Parameters<typeof traefikServiceObject>[1]) => {
    const main = traefikServiceObject(canary, routes, undefined);
    const mirror = traefikMirrorObject(canary, routes, undefined);
    return {
      virtualServices: [],
      httpRoutes: [],
      traefikServices: [main, ...(mirror ? [mirror] : [])].map((object) =>
        traefikServiceSchema.parse({ ...object, metadata: { ...object.metadata, namespace: 'shop' } }),
      ),
    };
  };

  it('splits by weight', () => {
    const result = decide(
      identity,
      objects({ primaryWeight: 75, canaryWeight: 25, mirror: false, match: false }),
      request('/'),
    );
    if (!('decision' in result)) throw new Error('no decision');
    expect(weightsOf(result.decision)).toEqual({ 'web-primary': 75, 'web-canary': 25 });
  });

  it('mirrors through <svc>-mirror: all to the primary, a share copied to the canary', () => {
    const result = decide(
      identity,
      objects({ primaryWeight: 100, canaryWeight: 0, mirror: true, match: false, mirrorWeight: 30 }),
      request('/'),
    );
    if (!('decision' in result)) throw new Error('no decision');
    const live = result.decision.backends.filter((b) => b.weight > 0);
    expect(live.map((b) => [b.backend?.service, b.weight])).toEqual([['web-primary', 100]]);
    expect(result.decision.mirrors).toEqual([
      { backend: { service: 'web-canary', namespace: 'shop', port: 8080 }, percent: 30 },
    ]);
  });
});
