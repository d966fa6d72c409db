import { describe, expect, it } from 'vitest';
import type { CanaryInput } from '../api/canary.ts';
import { canaryWith as fixture } from '../../test/support/canaries.ts';
import type { JsonObject } from '../kube/kinds.ts';
import {
  destinationRuleObject,
  foreignRoutes,
  istioHttpRoutes,
  keptRoutes,
  routesFromVirtualService,
  virtualServiceObject,
} from './istio.ts';
import { PRIMARY_ONLY } from './router.ts';

const canaryWith = (spec: Partial<CanaryInput['spec']> = {}, status?: JsonObject) =>
  fixture(spec, { metadata: { uid: 'u-1' }, ...(status ? { status } : {}) });

const split = (primaryWeight: number, canaryWeight: number) => ({
  primaryWeight,
  canaryWeight,
  mirror: false,
  match: false,
});
const dest = (host: string, weight: number) => ({ destination: { host, port: { number: 80 } }, weight });

describe('virtualServiceObject', () => {
  it('adds the apex host and the mesh gateway by default, and takes apex metadata', () => {
    const canary = canaryWith({
      service: { port: 80, apex: { labels: { a: '1' }, annotations: { b: '2' } } },
    });
    const vs = virtualServiceObject(canary, PRIMARY_ONLY, undefined);
    expect(vs.spec).toEqual({
      hosts: ['web'],
      gateways: ['mesh'],
      http: [{ name: 'weighted', route: [dest('web-primary', 100), dest('web-canary', 0)] }],
    });
    expect(vs.metadata.labels).toEqual({ a: '1' });
    expect(vs.metadata.annotations).toEqual({
      b: '2',
      'sluice.dev/canary': 'web',
      'sluice.dev/created': 'true',
    });
  });

  it("keeps a wildcard host, the team's gateways, and writes a delegate without either", () => {
    const open = canaryWith({ service: { port: 80, hosts: ['*'], gateways: ['edge'] } });
    expect(virtualServiceObject(open, PRIMARY_ONLY, undefined).spec).toMatchObject({
      hosts: ['*'],
      gateways: ['edge'],
    });
    const delegate = canaryWith({ service: { port: 80, delegation: true } });
    const spec = virtualServiceObject(delegate, PRIMARY_ONLY, undefined).spec as JsonObject;
    expect(spec.hosts).toBeUndefined();
    expect(spec.gateways).toBeUndefined();
    const wrong = canaryWith({ service: { port: 80, delegation: true, hosts: ['a'] } });
    expect(() => virtualServiceObject(wrong, PRIMARY_ONLY, undefined)).toThrow(
      'Canary shop/web: spec.service.delegation cannot be combined with spec.service.hosts or spec.service.gateways',
    );
  });

  it('records the original spec of a VirtualService it takes over, and keeps it', () => {
    const canary = canaryWith();
    const existing = {
      metadata: { annotations: { owner: 'team' } },
      spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] },
    };
    const adopted = virtualServiceObject(canary, PRIMARY_ONLY, existing);
    const original = (adopted.metadata.annotations as Record<string, string>)['sluice.dev/original-spec'];
    expect(JSON.parse(original!)).toEqual(existing.spec);
    expect((adopted.metadata.annotations as Record<string, string>)['sluice.dev/created']).toBeUndefined();
    const again = virtualServiceObject(canary, PRIMARY_ONLY, {
      ...existing,
      metadata: { annotations: adopted.metadata.annotations as Record<string, string> },
    });
    expect((again.metadata.annotations as Record<string, string>)['sluice.dev/original-spec']).toBe(original);
  });
});

describe('istioHttpRoutes', () => {
  it("carries spec.service's match, rewrite (without Gateway API's type), timeout, retries, CORS and headers", () => {
    const canary = canaryWith({
      service: {
        port: 80,
        match: [{ uri: { prefix: '/api' } }],
        rewrite: { uri: '/', type: 'ReplacePrefixMatch' },
        timeout: '5s',
        retries: { attempts: 2 },
        corsPolicy: { allowMethods: ['GET'] },
        headers: { response: { set: { x: '1' } } },
      },
    });
    expect(istioHttpRoutes(canary, split(90, 10))).toEqual([
      {
        name: 'weighted',
        match: [{ uri: { prefix: '/api' } }],
        rewrite: { uri: '/' },
        timeout: '5s',
        retries: { attempts: 2 },
        corsPolicy: { allowMethods: ['GET'] },
        headers: { response: { set: { x: '1' } } },
        route: [dest('web-primary', 90), dest('web-canary', 10)],
      },
    ]);
  });

  it('mirrors to the canary with the mirror weight of the analysis unless the call gives one', () => {
    const canary = canaryWith({ analysis: { iterations: 2, mirror: true, mirrorWeight: 30 } });
    const [route] = istioHttpRoutes(canary, { ...PRIMARY_ONLY, mirror: true });
    expect(route).toMatchObject({
      mirror: { host: 'web-canary', port: { number: 80 } },
      mirrorPercentage: { value: 30 },
    });
    const [all] = istioHttpRoutes(canaryWith(), { ...PRIMARY_ONLY, mirror: true });
    expect(all!.mirrorPercentage).toBeUndefined();
    const [given] = istioHttpRoutes(canary, { ...PRIMARY_ONLY, mirror: true, mirrorWeight: 5 });
    expect(given!.mirrorPercentage).toEqual({ value: 5 });
  });

  it('puts the A/B route first, its matches within the service matches, and everything else on the primary', () => {
    const canary = canaryWith({
      service: { port: 80, match: [{ uri: { prefix: '/a' } }, { uri: { prefix: '/b' } }] },
      analysis: {
        iterations: 3,
        match: [{ headers: { 'x-user': { exact: 'beta' } } }, { sourceLabels: { app: 'tester' } }],
      },
    });
    const routes = istioHttpRoutes(canary, {
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
      match: true,
    });
    expect(routes.map((route) => route.name)).toEqual(['ab-match', 'ab-default']);
    expect(routes[0]!.match).toEqual([
      { uri: { prefix: '/a' }, headers: { 'x-user': { exact: 'beta' } } },
      { uri: { prefix: '/b' }, headers: { 'x-user': { exact: 'beta' } } },
      { uri: { prefix: '/a' }, sourceLabels: { app: 'tester' } },
      { uri: { prefix: '/b' }, sourceLabels: { app: 'tester' } },
    ]);
    expect(routes[0]!.route).toEqual([dest('web-primary', 0), dest('web-canary', 100)]);
    expect(routes[1]).toEqual({
      name: 'ab-default',
      match: [{ uri: { prefix: '/a' } }, { uri: { prefix: '/b' } }],
      route: [dest('web-primary', 100)],
    });
  });

  it('pins users to the canary with a cookie while it gets traffic, and expires the cookie after', () => {
    const canary = canaryWith(
      { analysis: { stepWeight: 10, sessionAffinity: { cookieName: 'flavour', maxAge: 60 } } },
      { lastAppliedSpec: 'rev-1' },
    );
    const during = istioHttpRoutes(canary, split(80, 20));
    expect(during.map((route) => route.name)).toEqual(['sticky', 'weighted']);
    const cookie = (during[0]!.match as { headers: { Cookie: { regex: string } } }[])[0]!.headers.Cookie
      .regex;
    expect(cookie).toMatch(/^\.\*flavour=[0-9a-f]{16}\.\*$/);
    expect(during[0]!.route).toEqual([dest('web-primary', 0), dest('web-canary', 100)]);
    const weighted = during[1]!.route as JsonObject[];
    expect(weighted[1]!.headers).toEqual({
      response: { add: { 'Set-Cookie': `${cookie.slice(2, -2)}; Max-Age=60` } },
    });
    expect(weighted[0]!.headers).toBeUndefined();

    const after = istioHttpRoutes(canary, PRIMARY_ONLY);
    expect(after[0]!.headers).toEqual({
      response: { add: { 'Set-Cookie': `${cookie.slice(2, -2)}; Max-Age=-1` } },
    });
    expect(after[0]!.route).toEqual([dest('web-primary', 100), dest('web-canary', 0)]);
    // The same revision, the same cookie; a new revision, a new one.
    expect(istioHttpRoutes(canary, split(80, 20))).toEqual(during);
    const next = canaryWith(
      { analysis: { stepWeight: 10, sessionAffinity: { cookieName: 'flavour', maxAge: 60 } } },
      { lastAppliedSpec: 'rev-2' },
    );
    expect(JSON.stringify(istioHttpRoutes(next, split(80, 20)))).not.toContain(cookie.slice(2, -2));
  });
});

describe('reading a VirtualService back', () => {
  const canary = canaryWith({ analysis: { iterations: 2, match: [{ headers: { x: { exact: '1' } } }] } });
  const vs = (http: JsonObject[]) => ({ spec: { http } });

  it('reads weights, mirror (both Istio forms) and A/B from the live routes', () => {
    expect(routesFromVirtualService(canary, vs(istioHttpRoutes(canary, split(70, 30))))).toEqual(
      split(70, 30),
    );
    expect(
      routesFromVirtualService(canary, vs(istioHttpRoutes(canary, { ...PRIMARY_ONLY, mirror: true }))),
    ).toEqual({ ...PRIMARY_ONLY, mirror: true });
    const mirrors = {
      name: 'weighted',
      route: [dest('web-primary', 100)],
      mirrors: [{ destination: { host: 'web-canary' } }],
    };
    expect(routesFromVirtualService(canary, vs([mirrors]))?.mirror).toBe(true);
    const ab = istioHttpRoutes(canary, { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true });
    expect(routesFromVirtualService(canary, vs(ab))).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
      match: true,
    });
    expect(routesFromVirtualService(canary, vs([{ name: 'other', route: [] }]))).toBeUndefined();
  });

  it('keeps what is live when reconciling, made valid for the spec', () => {
    expect(keptRoutes(canary, undefined)).toEqual(PRIMARY_ONLY);
    expect(keptRoutes(canary, split(60, 40))).toEqual(split(60, 40));
    expect(keptRoutes(canary, { primaryWeight: 30, canaryWeight: 30, mirror: false, match: false })).toEqual(
      PRIMARY_ONLY,
    );
    expect(
      keptRoutes(canaryWith(), { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true }).match,
    ).toBe(false);
  });

  it("tells other tools' routes from Sluice's", () => {
    const theirs = {
      name: 'admin',
      match: [{ uri: { prefix: '/admin' } }],
      route: [{ destination: { host: 'admin' } }],
    };
    const unnamed = { route: [{ destination: { host: 'web-primary' } }] };
    expect(foreignRoutes(canary, vs([theirs, ...istioHttpRoutes(canary, PRIMARY_ONLY), unnamed]))).toEqual([
      theirs,
    ]);
    const object = virtualServiceObject(
      canary,
      split(90, 10),
      vs([theirs, ...istioHttpRoutes(canary, PRIMARY_ONLY)]),
    );
    expect(((object.spec as JsonObject).http as JsonObject[]).map((route) => route.name)).toEqual([
      'admin',
      'weighted',
    ]);
  });
});

describe('destinationRuleObject', () => {
  it('writes one per Service with the trafficPolicy', () => {
    const canary = canaryWith({
      service: { port: 80, trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } } },
    });
    expect(destinationRuleObject(canary, 'canary', undefined).spec).toEqual({
      host: 'web-canary',
      trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } },
    });
    expect(destinationRuleObject(canaryWith(), 'primary', undefined).spec).toEqual({ host: 'web-primary' });
  });
});
