import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyHeaderOps,
  decide,
  httpRouteApplies,
  httpRouteSchema,
  parseIstioHost,
  pickWeighted,
  routeHttpRoutes,
  routeVirtualService,
  virtualServiceApplies,
  virtualServiceFor,
  virtualServiceSchema,
  type HttpRoute,
  type ProxyIdentity,
  type RouteDecision,
  type RouteRequest,
  type VirtualService,
} from './routing.ts';

const identity: ProxyIdentity = { namespace: 'shop', service: 'podinfo', hosts: ['podinfo.test'] };

function request(
  path = '/',
  options: { method?: string; headers?: Record<string, string>; authority?: string } = {},
): RouteRequest {
  const url = new URL(path, 'http://podinfo.test');
  return {
    method: options.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: options.headers ?? {},
    authority: options.authority ?? 'podinfo.test',
  };
}

function vs(
  http: unknown[],
  extra: { hosts?: string[]; name?: string; namespace?: string; created?: string } = {},
): VirtualService {
  return virtualServiceSchema.parse({
    metadata: {
      name: extra.name ?? 'podinfo',
      namespace: extra.namespace ?? 'shop',
      creationTimestamp: extra.created ?? '2025-01-01T00:00:00Z',
    },
    spec: { hosts: extra.hosts ?? ['podinfo'], http },
  });
}

function route(
  rules: unknown[],
  extra: { parentRefs?: unknown[]; hostnames?: string[]; name?: string; created?: string } = {},
): HttpRoute {
  return httpRouteSchema.parse({
    metadata: {
      name: extra.name ?? 'podinfo',
      namespace: 'shop',
      creationTimestamp: extra.created ?? '2025-01-01T00:00:00Z',
    },
    spec: {
      parentRefs: extra.parentRefs ?? [{ name: 'public', namespace: 'gateways' }],
      hostnames: extra.hostnames ?? ['podinfo.test'],
      rules,
    },
  });
}

const services = (decision: RouteDecision | undefined) =>
  decision?.backends.map((b) => `${b.backend?.service ?? 'invalid'}:${b.weight}`);
const primary = { destination: { host: 'podinfo-primary' } };
const canary = { destination: { host: 'podinfo-canary' } };

describe('VirtualService routing', () => {
  it('takes the first http rule whose match list matches, in order', () => {
    const object = vs([
      { match: [{ headers: { 'x-canary': { exact: 'insider' } } }], route: [canary] },
      {
        match: [{ uri: { prefix: '/api' } }],
        route: [canary, primary].map((d, i) => ({ ...d, weight: i ? 10 : 90 })),
      },
      { route: [primary] },
    ]);
    expect(
      services(routeVirtualService(object, request('/', { headers: { 'x-canary': 'insider' } }))),
    ).toEqual(['podinfo-canary:100']);
    expect(routeVirtualService(object, request('/api/v1'))?.source.rule).toBe(1);
    expect(services(routeVirtualService(object, request('/api/v1')))).toEqual([
      'podinfo-canary:90',
      'podinfo-primary:10',
    ]);
    expect(services(routeVirtualService(object, request('/other')))).toEqual(['podinfo-primary:100']);
  });

  it('answers no route when no rule matches (Envoy 404 NR)', () => {
    const object = vs([{ match: [{ uri: { exact: '/only' } }], route: [primary] }]);
    expect(routeVirtualService(object, request('/else'))).toBeUndefined();
    expect(decide(identity, { virtualServices: [object], httpRoutes: [] }, request('/else'))).toEqual({
      noRoute: { kind: 'VirtualService', name: 'podinfo' },
    });
  });

  it.each([
    [{ uri: { exact: '/a' } }, '/a', true],
    [{ uri: { exact: '/a' } }, '/a/b', false],
    [{ uri: { prefix: '/ap' } }, '/api', true],
    [{ uri: { regex: '/v[0-9]+/.*' } }, '/v2/users', true],
    [{ uri: { regex: '/v[0-9]+' } }, '/v2/users', false],
    [{ uri: { exact: '/API' }, ignoreUriCase: true }, '/api', true],
    [{ method: { exact: 'POST' } }, '/', false],
    [{ authority: { prefix: 'podinfo' } }, '/', true],
    [{ queryParams: { beta: { exact: 'on' } } }, '/?beta=on', true],
    [{ queryParams: { beta: { regex: 'o.' } } }, '/?beta=off', false],
    [{ queryParams: { beta: {} } }, '/?beta=anything', true],
  ])('match %j against %s is %s', (match, path, expected) => {
    const object = vs([{ match: [match], route: [canary] }]);
    expect(routeVirtualService(object, request(path)) !== undefined).toBe(expected);
  });

  it('ANDs the conditions of one match and ORs the matches of a rule', () => {
    const object = vs([
      {
        match: [
          { headers: { 'x-user': { prefix: 'qa-' } }, uri: { prefix: '/app' } },
          { headers: { cookie: { regex: '^(.*?;\\s*)?(canary=always)(;.*)?$' } } },
        ],
        route: [canary],
      },
    ]);
    const hit = (path: string, headers: Record<string, string>) =>
      routeVirtualService(object, request(path, { headers })) !== undefined;
    expect(hit('/app', { 'x-user': 'qa-1' })).toBe(true);
    expect(hit('/', { 'x-user': 'qa-1' })).toBe(false);
    expect(hit('/', { cookie: 'a=1; canary=always' })).toBe(true);
    expect(hit('/', { cookie: 'canary=never' })).toBe(false);
  });

  it('checks header presence for an empty match and absence for withoutHeaders', () => {
    const present = vs([{ match: [{ headers: { 'x-debug': {} } }], route: [canary] }]);
    expect(routeVirtualService(present, request('/', { headers: { 'x-debug': '' } }))).toBeDefined();
    expect(routeVirtualService(present, request('/'))).toBeUndefined();
    const absent = vs([{ match: [{ withoutHeaders: { 'x-internal': { exact: 'yes' } } }], route: [canary] }]);
    expect(routeVirtualService(absent, request('/', { headers: { 'x-internal': 'yes' } }))).toBeUndefined();
    expect(routeVirtualService(absent, request('/', { headers: { 'x-internal': 'no' } }))).toBeDefined();
  });

  it('matches header names case-insensitively (they arrive lower-case)', () => {
    const object = vs([{ match: [{ headers: { 'X-Canary': { exact: 'insider' } } }], route: [canary] }]);
    expect(routeVirtualService(object, request('/', { headers: { 'x-canary': 'insider' } }))).toBeDefined();
  });

  it('reads mirror with mirrorPercentage, the older mirrorPercent and mirrors[]', () => {
    const percentage = routeVirtualService(
      vs([{ route: [primary], mirror: { host: 'podinfo-canary' }, mirrorPercentage: { value: 12.5 } }]),
      request(),
    );
    expect(percentage?.mirrors).toEqual([
      { backend: { service: 'podinfo-canary', namespace: 'shop' }, percent: 12.5 },
    ]);
    expect(
      routeVirtualService(vs([{ route: [primary], mirror: { host: 'podinfo-canary' } }]), request())
        ?.mirrors[0]?.percent,
    ).toBe(100);
    expect(
      routeVirtualService(
        vs([{ route: [primary], mirror: { host: 'podinfo-canary' }, mirrorPercent: 30 }]),
        request(),
      )?.mirrors[0]?.percent,
    ).toBe(30);
    expect(
      routeVirtualService(
        vs([
          {
            route: [primary],
            mirrors: [{ destination: { host: 'podinfo-canary' }, percentage: { value: 5 } }],
          },
        ]),
        request(),
      )?.mirrors,
    ).toEqual([{ backend: { service: 'podinfo-canary', namespace: 'shop' }, percent: 5 }]);
  });

  it('resolves destination hosts as Kubernetes Services and marks others invalid', () => {
    expect(parseIstioHost('podinfo-primary', 'shop')).toEqual({
      service: 'podinfo-primary',
      namespace: 'shop',
    });
    expect(parseIstioHost('podinfo-primary.other.svc.cluster.local', 'shop')).toEqual({
      service: 'podinfo-primary',
      namespace: 'other',
    });
    expect(parseIstioHost('api.example.com', 'shop')).toBeUndefined();
    const decision = routeVirtualService(
      vs([{ route: [{ destination: { host: 'api.example.com' } }] }]),
      request(),
    );
    expect(decision?.backends[0]).toMatchObject({
      backend: undefined,
      invalid: expect.stringContaining('api.example.com'),
    });
    expect(decision?.noBackendStatus).toBe(503);
  });

  it('rewrites a matched prefix, sets the authority, and carries header operations and the timeout', () => {
    const decision = routeVirtualService(
      vs([
        {
          match: [{ uri: { prefix: '/api/' } }],
          rewrite: { uri: '/', authority: 'internal' },
          headers: { request: { set: { 'x-route': 'api' } }, response: { remove: ['server'] } },
          route: [{ ...canary, headers: { response: { add: { 'set-cookie': 'canary=always' } } } }],
          timeout: '1.5s',
        },
      ]),
      request('/api/users'),
    );
    expect(decision).toMatchObject({
      path: '/users',
      authority: 'internal',
      requestHeaders: { set: { 'x-route': 'api' } },
      responseHeaders: { remove: ['server'] },
      timeoutMs: 1500,
    });
    expect(decision?.backends[0]?.responseHeaders?.add).toEqual({ 'set-cookie': 'canary=always' });
  });

  it('applies to the proxy when its hosts name the Service or one of the extra host names', () => {
    expect(virtualServiceApplies(vs([], { hosts: ['podinfo'] }), identity)).toBe(true);
    expect(virtualServiceApplies(vs([], { hosts: ['podinfo'], namespace: 'elsewhere' }), identity)).toBe(
      false,
    );
    expect(
      virtualServiceApplies(vs([], { hosts: ['podinfo.shop.svc.cluster.local'], namespace: 'x' }), identity),
    ).toBe(true);
    expect(virtualServiceApplies(vs([], { hosts: ['podinfo.test'] }), identity)).toBe(true);
    expect(virtualServiceApplies(vs([], { hosts: ['*.test'] }), identity)).toBe(true);
    expect(virtualServiceApplies(vs([], { hosts: ['backend'] }), identity)).toBe(false);
  });

  it('uses the oldest VirtualService when several name the same host', () => {
    const newer = vs([], { name: 'b', created: '2025-02-01T00:00:00Z' });
    const older = vs([], { name: 'a', created: '2025-01-15T00:00:00Z' });
    expect(virtualServiceFor([newer, older], identity)?.metadata.name).toBe('a');
  });
});

describe('HTTPRoute routing', () => {
  const primaryRef = { name: 'podinfo-primary', port: 80 };
  const canaryRef = { name: 'podinfo-canary', port: 80 };

  it('weights backendRefs (default weight 1, 0 never chosen)', () => {
    const decision = routeHttpRoutes(
      [
        route([
          {
            backendRefs: [
              { ...primaryRef, weight: 90 },
              { ...canaryRef, weight: 10 },
            ],
          },
        ]),
      ],
      request(),
    );
    expect(services(decision)).toEqual(['podinfo-primary:90', 'podinfo-canary:10']);
    expect(services(routeHttpRoutes([route([{ backendRefs: [primaryRef, canaryRef] }])], request()))).toEqual(
      ['podinfo-primary:1', 'podinfo-canary:1'],
    );
    expect(decision?.noBackendStatus).toBe(500);
  });

  it('ranks matches across rules: exact path, longest prefix, method, most headers, most query params', () => {
    const object = route([
      { backendRefs: [{ name: 'default', port: 80 }] },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
        backendRefs: [{ name: 'api', port: 80 }],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api/v2' } }],
        backendRefs: [{ name: 'v2', port: 80 }],
      },
      {
        matches: [{ path: { type: 'Exact', value: '/api/v2/health' } }],
        backendRefs: [{ name: 'exact', port: 80 }],
      },
      { matches: [{ path: { value: '/api' }, method: 'POST' }], backendRefs: [{ name: 'post', port: 80 }] },
      {
        matches: [{ headers: [{ name: 'x-canary', value: 'insider' }] }],
        backendRefs: [{ name: 'header', port: 80 }],
      },
    ]);
    const to = (path: string, options?: Parameters<typeof request>[1]) =>
      routeHttpRoutes([object], request(path, options))?.backends[0]?.backend?.service;
    expect(to('/')).toBe('default');
    expect(to('/api/v1')).toBe('api');
    expect(to('/api/v2/users')).toBe('v2');
    expect(to('/api/v2/health')).toBe('exact');
    expect(to('/api/x', { method: 'POST' })).toBe('post');
    expect(to('/', { headers: { 'x-canary': 'insider' } })).toBe('header');
    expect(to('/apix')).toBe('default');
  });

  it('matches PathPrefix by whole path elements', () => {
    const object = route([
      { matches: [{ path: { type: 'PathPrefix', value: '/foo/' } }], backendRefs: [canaryRef] },
    ]);
    expect(routeHttpRoutes([object], request('/foo'))).toBeDefined();
    expect(routeHttpRoutes([object], request('/foo/bar'))).toBeDefined();
    expect(routeHttpRoutes([object], request('/foobar'))).toBeUndefined();
  });

  it('matches headers and query params exactly or by regular expression', () => {
    const object = route([
      {
        matches: [
          {
            headers: [{ type: 'RegularExpression', name: 'User-Agent', value: '.*Firefox.*' }],
            queryParams: [{ name: 'beta', value: 'on' }],
          },
        ],
        backendRefs: [canaryRef],
      },
    ]);
    const hit = (path: string, agent: string) =>
      routeHttpRoutes([object], request(path, { headers: { 'user-agent': agent } })) !== undefined;
    expect(hit('/?beta=on', 'Mozilla Firefox/1')).toBe(true);
    expect(hit('/?beta=ON', 'Mozilla Firefox/1')).toBe(false);
    expect(hit('/?beta=on', 'curl')).toBe(false);
  });

  it('breaks ties by route age, then rule order', () => {
    const older = route([{ backendRefs: [{ name: 'old', port: 80 }] }], {
      name: 'z',
      created: '2025-01-01T00:00:00Z',
    });
    const newer = route([{ backendRefs: [{ name: 'new', port: 80 }] }], {
      name: 'a',
      created: '2025-03-01T00:00:00Z',
    });
    expect(routeHttpRoutes([newer, older], request())?.backends[0]?.backend?.service).toBe('old');
  });

  it('reads RequestMirror (percent or fraction), header modifiers and URLRewrite', () => {
    const decision = routeHttpRoutes(
      [
        route([
          {
            matches: [{ path: { type: 'PathPrefix', value: '/v1' } }],
            filters: [
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: canaryRef, fraction: { numerator: 1, denominator: 4 } },
              },
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: { name: 'audit', port: 80 }, percent: 10 },
              },
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'x-env', value: 'dev' }], remove: ['x-drop'] },
              },
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: { add: [{ name: 'x-served-by', value: 'sluice' }] },
              },
              {
                type: 'URLRewrite',
                urlRewrite: {
                  hostname: 'internal',
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' },
                },
              },
            ],
            backendRefs: [primaryRef],
            timeouts: { request: '2s' },
          },
        ]),
      ],
      request('/v1/users'),
    );
    expect(decision?.mirrors).toEqual([
      { backend: { service: 'podinfo-canary', namespace: 'shop' }, percent: 25 },
      { backend: { service: 'audit', namespace: 'shop' }, percent: 10 },
    ]);
    expect(decision).toMatchObject({
      path: '/v2/users',
      authority: 'internal',
      requestHeaders: { set: { 'x-env': 'dev' }, remove: ['x-drop'] },
      responseHeaders: { add: { 'x-served-by': 'sluice' } },
      timeoutMs: 2000,
    });
  });

  it('marks backendRefs that are not Services invalid', () => {
    const decision = routeHttpRoutes(
      [route([{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] }])],
      request(),
    );
    expect(decision?.backends[0]).toMatchObject({
      backend: undefined,
      invalid: expect.stringContaining('not a Service'),
    });
  });

  it('attaches to the proxy by hostname, by backend family, by GAMMA Service parent, or by an explicit Gateway', () => {
    expect(httpRouteApplies(route([{ backendRefs: [{ name: 'x', port: 80 }] }]), identity)).toBe(true);
    expect(
      httpRouteApplies(route([{ backendRefs: [canaryRef] }], { hostnames: ['other.test'] }), identity),
    ).toBe(false);
    expect(httpRouteApplies(route([{ backendRefs: [canaryRef] }], { hostnames: [] }), identity)).toBe(true);
    expect(
      httpRouteApplies(route([{ backendRefs: [{ name: 'x', port: 80 }] }], { hostnames: [] }), identity),
    ).toBe(false);
    const gamma = { parentRefs: [{ group: '', kind: 'Service', name: 'podinfo' }], hostnames: [] };
    expect(httpRouteApplies(route([{ backendRefs: [{ name: 'x', port: 80 }] }], gamma), identity)).toBe(true);
    expect(
      httpRouteApplies(route([], { ...gamma, parentRefs: [{ kind: 'Service', name: 'backend' }] }), identity),
    ).toBe(false);
    const asGateway = { ...identity, hosts: [], gateway: { name: 'public', namespace: 'gateways' } };
    expect(httpRouteApplies(route([], { hostnames: [] }), asGateway)).toBe(true);
    expect(
      httpRouteApplies(
        route([], { hostnames: [], parentRefs: [{ name: 'private', namespace: 'gateways' }] }),
        asGateway,
      ),
    ).toBe(false);
  });
});

describe('decide', () => {
  const objects = {
    virtualServices: [vs([{ route: [canary] }])],
    httpRoutes: [route([{ backendRefs: [{ name: 'podinfo-primary', port: 80 }] }])],
  };

  it('prefers the VirtualService, then HTTPRoutes, then the plain Service', () => {
    const routed = (o: typeof objects) => {
      const result = decide(identity, o, request());
      return 'decision' in result
        ? `${result.decision.source.kind}:${result.decision.backends[0]?.backend?.service}`
        : 'none';
    };
    expect(routed(objects)).toBe('VirtualService:podinfo-canary');
    expect(routed({ ...objects, virtualServices: [] })).toBe('HTTPRoute:podinfo-primary');
    expect(routed({ virtualServices: [], httpRoutes: [] })).toBe('Service:podinfo');
  });
});

describe('pickWeighted', () => {
  const entries = [
    { name: 'primary', weight: 80 },
    { name: 'off', weight: 0 },
    { name: 'canary', weight: 20 },
  ];

  it('splits the unit interval by weight', () => {
    expect(pickWeighted(entries, () => 0)?.name).toBe('primary');
    expect(pickWeighted(entries, () => 0.7999)?.name).toBe('primary');
    expect(pickWeighted(entries, () => 0.8)?.name).toBe('canary');
    expect(pickWeighted(entries, () => 0.9999)?.name).toBe('canary');
    expect(pickWeighted([{ weight: 0 }], () => 0.5)).toBeUndefined();
  });

  it('never picks a zero-weight entry and always picks one when some weight is positive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (weights, r) => {
          const picked = pickWeighted(
            weights.map((weight, index) => ({ weight, index })),
            () => r,
          );
          if (weights.every((w) => w === 0)) return picked === undefined;
          return picked !== undefined && picked.weight > 0;
        },
      ),
    );
  });
});

describe('applyHeaderOps', () => {
  it('sets, then adds, then removes', () => {
    expect(
      applyHeaderOps(
        { a: '1', b: '2', c: '3' },
        { set: { A: 'one' }, add: { b: 'two', d: '4' }, remove: ['C'] },
      ),
    ).toEqual({ a: 'one', b: '2,two', d: '4' });
  });
});
