import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import { meshHttpRouteObject, routesFromMeshHttpRoute } from './kuma.ts';
import { PRIMARY_ONLY } from './router.ts';

// Kuma's module is not served to the build, so no apiserver has its schema: the object is
// checked here against the shape of Kuma's MeshHTTPRoute reference.

const canary = canaryWith({
  provider: 'kuma',
  service: {
    port: 8080,
    match: [{ uri: { prefix: '/api' } }],
    apex: { labels: { 'kuma.io/mesh': 'payments' } },
  },
  analysis: { iterations: 2, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] },
});

describe('kuma router objects', () => {
  it('writes a MeshHTTPRoute from the mesh to the apex MeshService with weights (stepWeight) and reads them back', () => {
    const routes = { primaryWeight: 70, canaryWeight: 30, mirror: false, match: false };
    const object = meshHttpRouteObject(canary, routes, undefined);
    expect(object.metadata.labels).toEqual({ 'kuma.io/mesh': 'payments' });
    expect(object.spec).toEqual({
      targetRef: { kind: 'Mesh' },
      to: [
        {
          targetRef: { kind: 'MeshService', name: 'web' },
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
              default: {
                backendRefs: [
                  { kind: 'MeshService', name: 'web-primary', port: 8080, weight: 70 },
                  { kind: 'MeshService', name: 'web-canary', port: 8080, weight: 30 },
                ],
              },
            },
          ],
        },
      ],
    });
    expect(routesFromMeshHttpRoute(canary, object)).toEqual(routes);
  });

  it('routes A/B: the A/B match within the route match first, then the default to the primary', () => {
    const routes = { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    const object = meshHttpRouteObject(canary, routes, undefined);
    const rules = (object.spec as { to: { rules: { matches: unknown[] }[] }[] }).to[0]!.rules;
    expect(rules.map((rule) => rule.matches)).toEqual([
      [
        {
          path: { type: 'PathPrefix', value: '/api' },
          headers: [{ name: 'x-canary', type: 'Exact', value: 'insider' }],
        },
      ],
      [{ path: { type: 'PathPrefix', value: '/api' } }],
    ]);
    expect(routesFromMeshHttpRoute(canary, object)).toEqual(routes);
    expect(routesFromMeshHttpRoute(canary, meshHttpRouteObject(canary, PRIMARY_ONLY, undefined))).toEqual(
      PRIMARY_ONLY,
    );
  });
});
