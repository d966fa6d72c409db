import { describe, expect, it } from 'vitest';
import type { CanaryInput } from '../api/canary.ts';
import { canaryWith as fixture } from '../../test/support/canaries.ts';
import type { JsonObject } from '../kube/kinds.ts';
import {
  foreignItems,
  gatewayDuration,
  gatewayRules,
  httpRouteObject,
  OWNED_FILTERS_ANNOTATION,
  routesFromHttpRoute,
} from './gatewayapi.ts';
import { PRIMARY_ONLY } from './router.ts';

const canaryWith = (spec: Partial<CanaryInput['spec']> = {}) =>
  fixture({ service: { port: 80, gatewayRefs: [{ name: 'edge' }] }, ...spec }, { metadata: { uid: 'u-1' } });

const backend = (name: string, weight: number) => ({ group: '', kind: 'Service', name, port: 80, weight });
const split = (primaryWeight: number, canaryWeight: number) => ({
  primaryWeight,
  canaryWeight,
  mirror: false,
  match: false,
});

describe('gatewayDuration', () => {
  it('writes GEP-2257 durations, without fractions', () => {
    expect(gatewayDuration('30s', 'f', 'c')).toBe('30s');
    expect(gatewayDuration('1.5s', 'f', 'c')).toBe('1s500ms');
    expect(gatewayDuration('90m', 'f', 'c')).toBe('1h30m');
    expect(gatewayDuration('0s', 'f', 'c')).toBe('0s');
    expect(() => gatewayDuration('soon', 'spec.service.timeout', 'shop/web')).toThrow(
      'Canary shop/web: spec.service.timeout "soon" is not a duration',
    );
  });
});

describe('httpRouteObject', () => {
  it('attaches to the gatewayRefs with weighted backends, the default path match and timeouts', () => {
    const canary = canaryWith({
      service: {
        port: 80,
        hosts: ['web.example.com'],
        timeout: '10s',
        gatewayRefs: [{ name: 'edge', namespace: 'infra', port: 443 }],
      },
    });
    const route = httpRouteObject(canary, split(90, 10), undefined);
    expect(route.spec).toEqual({
      parentRefs: [
        { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'edge', namespace: 'infra', port: 443 },
      ],
      hostnames: ['web.example.com'],
      rules: [
        {
          name: 'weighted',
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [backend('web-primary', 90), backend('web-canary', 10)],
          timeouts: { request: '10s' },
        },
      ],
    });
    expect((route.metadata.annotations as Record<string, string>)[OWNED_FILTERS_ANNOTATION]).toBe('[]');
  });

  it('requires gatewayRefs, naming the field', () => {
    const canary = canaryWith({ service: { port: 80 } });
    expect(() => httpRouteObject(canary, PRIMARY_ONLY, undefined)).toThrow(
      /Canary shop\/web: spec\.service\.gatewayRefs is required by provider gatewayapi/,
    );
  });

  it('turns service headers, rewrite and mirrors into filters, and mirrors to the canary with a percent', () => {
    const canary = canaryWith({
      service: {
        port: 80,
        gatewayRefs: [{ name: 'edge' }],
        headers: { request: { add: { a: '1' }, remove: ['b'] }, response: { set: { c: '3' } } },
        rewrite: { uri: '/v2', type: 'ReplaceFullPath', authority: 'internal' },
        mirror: [{ backendRef: { name: 'shadow', port: 8080 } }],
      },
      analysis: { iterations: 2, mirror: true, mirrorWeight: 10 },
    });
    const [rule] = gatewayRules(canary, { ...PRIMARY_ONLY, mirror: true });
    expect(rule!.filters).toEqual([
      {
        type: 'RequestHeaderModifier',
        requestHeaderModifier: { add: [{ name: 'a', value: '1' }], remove: ['b'] },
      },
      { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'c', value: '3' }] } },
      {
        type: 'URLRewrite',
        urlRewrite: { hostname: 'internal', path: { type: 'ReplaceFullPath', replaceFullPath: '/v2' } },
      },
      { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow', port: 8080 } } },
      {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: 'web-canary', port: 80 },
          percent: 10,
        },
      },
    ]);
  });

  it('routes A/B matches to the weights and everything else to the primary', () => {
    const canary = canaryWith({
      service: { port: 80, gatewayRefs: [{ name: 'edge' }], match: [{ uri: { prefix: '/api' } }] },
      analysis: {
        iterations: 2,
        match: [{ headers: { 'x-user': { exact: 'beta' } }, queryParams: { canary: { exact: 'on' } } }],
      },
    });
    const rules = gatewayRules(canary, { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true });
    expect(rules.map((rule) => rule.name)).toEqual(['ab-match', 'ab-default']);
    expect(rules[0]!.matches).toEqual([
      {
        path: { type: 'PathPrefix', value: '/api' },
        headers: [{ name: 'x-user', type: 'Exact', value: 'beta' }],
        queryParams: [{ name: 'canary', type: 'Exact', value: 'on' }],
      },
    ]);
    expect(rules[0]!.backendRefs).toEqual([backend('web-primary', 0), backend('web-canary', 100)]);
    expect(rules[1]).toEqual({
      name: 'ab-default',
      matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
      backendRefs: [backend('web-primary', 100)],
    });
  });

  it('pins users with a cookie set by the canary backend, and expires it when the canary has no traffic', () => {
    const canary = canaryWith({
      analysis: { stepWeight: 10, sessionAffinity: { cookieName: 'flavour', maxAge: 60 } },
    });
    const during = gatewayRules(canary, split(80, 20));
    expect(during.map((rule) => rule.name)).toEqual(['sticky', 'weighted']);
    expect(JSON.stringify(during[0]!.matches)).toMatch(/"name":"Cookie","value":"\.\*flavour=[0-9a-f]+\.\*"/);
    expect(during[0]!.backendRefs).toEqual([backend('web-primary', 0), backend('web-canary', 100)]);
    const canaryRef = (during[1]!.backendRefs as JsonObject[])[1]!;
    expect(JSON.stringify(canaryRef.filters)).toMatch(/Set-Cookie","value":"flavour=[0-9a-f]+; Max-Age=60/);
    const after = gatewayRules(canary, PRIMARY_ONLY);
    expect(JSON.stringify(after[0]!.filters)).toMatch(/Max-Age=-1/);
  });
});

describe('what other tools added to the HTTPRoute', () => {
  const canary = canaryWith({
    service: { port: 80, gatewayRefs: [{ name: 'edge' }], headers: { request: { set: { mine: '1' } } } },
  });
  const theirFilter = {
    type: 'RequestHeaderModifier',
    requestHeaderModifier: { add: [{ name: 'tenant', value: 'x' }] },
  };
  const theirRule = {
    name: 'admin',
    matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
    backendRefs: [{ name: 'admin', port: 80 }],
  };

  it('keeps their filters on every Sluice rule and their rules after Sluice’s', () => {
    const first = httpRouteObject(canary, PRIMARY_ONLY, undefined);
    const rules = structuredClone((first.spec as { rules: JsonObject[] }).rules);
    rules[0]!.filters = [...(rules[0]!.filters as JsonObject[]), theirFilter];
    const live = {
      metadata: { annotations: first.metadata.annotations },
      spec: { rules: [...rules, theirRule] },
    };
    expect(foreignItems(canary, live, [])).toEqual({ rules: [theirRule], filters: [theirFilter] });

    const next = httpRouteObject(canary, split(50, 50), live);
    const nextRules = (next.spec as { rules: JsonObject[] }).rules;
    expect(nextRules.map((rule) => rule.name)).toEqual(['weighted', 'admin']);
    expect(nextRules[0]!.filters).toEqual([
      { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'mine', value: '1' }] } },
      theirFilter,
    ]);
    // Sluice records only its own filters.
    expect(
      JSON.parse((next.metadata.annotations as Record<string, string>)[OWNED_FILTERS_ANNOTATION]!),
    ).toHaveLength(1);
  });

  it('drops a filter Sluice wrote and no longer wants (recorded as its own)', () => {
    const before = httpRouteObject(canary, PRIMARY_ONLY, undefined);
    const live = { metadata: { annotations: before.metadata.annotations }, spec: before.spec };
    const without = canaryWith({ service: { port: 80, gatewayRefs: [{ name: 'edge' }] } });
    const after = httpRouteObject(without, PRIMARY_ONLY, live);
    expect((after.spec as { rules: JsonObject[] }).rules[0]!.filters).toBeUndefined();
  });
});

describe('routesFromHttpRoute', () => {
  const canary = canaryWith();
  it('reads weights (an absent weight is 1), mirror and A/B', () => {
    const route = (rules: JsonObject[]) => ({ spec: { rules } });
    expect(routesFromHttpRoute(canary, route(gatewayRules(canary, split(75, 25))))).toEqual(split(75, 25));
    expect(
      routesFromHttpRoute(
        canary,
        route([
          { name: 'weighted', backendRefs: [{ name: 'web-primary' }, { name: 'web-canary', weight: 0 }] },
        ]),
      ),
    ).toEqual(split(1, 0));
    expect(
      routesFromHttpRoute(canary, route(gatewayRules(canary, { ...PRIMARY_ONLY, mirror: true })))?.mirror,
    ).toBe(true);
    expect(routesFromHttpRoute(canary, route([theirs()]))).toBeUndefined();
  });
  const theirs = () => ({ name: 'x', backendRefs: [{ name: 'other' }] });
});
