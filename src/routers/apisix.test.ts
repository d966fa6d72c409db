import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import { apisixRouteObject, canaryRouteName, routesFromApisixRoute } from './apisix.ts';
import { RouterConfigError } from './router.ts';

// APISIX's module is not served to the build, so no apiserver has its schema: the object is
// checked here against the shape of the ApisixRoute v2 reference.

const canary = canaryWith({
  provider: 'apisix',
  routeRef: { apiVersion: 'apisix.apache.org/v2', kind: 'ApisixRoute', name: 'shop' },
  service: { port: 8080 },
  analysis: {
    iterations: 2,
    match: [{ headers: { 'x-canary': { exact: 'insider' } } }, { queryParams: { beta: { prefix: 'y' } } }],
  },
});

const source = {
  metadata: { name: 'shop', labels: { team: 'shop' } },
  spec: {
    ingressClassName: 'apisix',
    http: [
      { name: 'other', match: { paths: ['/other'] }, backends: [{ serviceName: 'other', servicePort: 80 }] },
      {
        name: 'web',
        match: { hosts: ['shop.example.com'], paths: ['/*'] },
        backends: [{ serviceName: 'web', servicePort: 8080 }],
        plugins: [{ name: 'cors', enable: true }],
      },
    ],
  },
};

describe('apisix router objects', () => {
  it('copies the rule of spec.routeRef to <route>-<svc>-canary with weighted backends (stepWeight)', () => {
    const routes = { primaryWeight: 80, canaryWeight: 20, mirror: false, match: false };
    const object = apisixRouteObject(canary, source, routes, undefined);
    expect(canaryRouteName(canary)).toBe('shop-web-canary');
    expect(object.metadata.name).toBe('shop-web-canary');
    expect(object.spec).toEqual({
      ingressClassName: 'apisix',
      http: [
        {
          name: 'web',
          priority: 10000,
          match: { hosts: ['shop.example.com'], paths: ['/*'] },
          plugins: [{ name: 'cors', enable: true }],
          backends: [
            { serviceName: 'web-primary', servicePort: 8080, weight: 80 },
            { serviceName: 'web-canary', servicePort: 8080, weight: 20 },
          ],
        },
      ],
    });
    expect(routesFromApisixRoute(canary, object)).toEqual(routes);
  });

  it('routes A/B with header and query expressions, anchored, before the default rule', () => {
    const routes = { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    const object = apisixRouteObject(canary, source, routes, undefined);
    const http = (object.spec as { http: { name: string; priority: number; match: { exprs?: unknown[] } }[] })
      .http;
    expect(http.map((rule) => [rule.name, rule.priority, rule.match.exprs])).toEqual([
      [
        'web-ab-0',
        10000,
        [{ subject: { scope: 'Header', name: 'x-canary' }, op: 'Equal', value: 'insider' }],
      ],
      [
        'web-ab-1',
        10000,
        [{ subject: { scope: 'Query', name: 'beta' }, op: 'RegexMatch', value: '^(?:y.*)$' }],
      ],
      ['web', 9999, undefined],
    ]);
    expect(routesFromApisixRoute(canary, object)).toEqual(routes);
  });

  it('names spec.routeRef when the ApisixRoute has no rule for the Service', () => {
    const error = (() => {
      try {
        apisixRouteObject(
          canary,
          { metadata: { name: 'shop' }, spec: { http: [] } },
          { primaryWeight: 100, canaryWeight: 0, mirror: false, match: false },
          undefined,
        );
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RouterConfigError);
    expect((error as RouterConfigError).field).toBe('spec.routeRef');
  });
});
