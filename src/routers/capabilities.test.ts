import { describe, expect, it } from 'vitest';
import type { Canary, CanaryInput } from '../api/canary.ts';
import { ROUTER_KINDS, type RouterKind } from '../api/providers.ts';
import { parseCanary } from '../api/validate.ts';
import {
  checkCapabilities,
  ROUTER_SUPPORT,
  ROUTING_FEATURE_NAMES,
  ROUTING_FEATURES,
  routesCapabilities,
  UNSUPPORTED_BY_PROVIDER,
  type RoutingFeatureName,
  type Support,
} from './capabilities.ts';

type Spec = CanaryInput['spec'];
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
type Patch = {
  analysis?: Partial<Spec['analysis']>;
  service?: Partial<Spec['service']>;
  spec?: Partial<Spec>;
};

/** Linkerd's Gateway API routing attaches to the Service itself. */
const LINKERD_PARENTS = [{ group: 'core', kind: 'Service', name: 'web', port: 80 }];

/** What each provider needs to route at all, so one feature at a time can be asked for. */
const BASES: Record<RouterKind, Patch> = {
  istio: {},
  gatewayapi: { service: { gatewayRefs: [{ name: 'edge' }] } },
  smi: { spec: { provider: 'smi:v1alpha3' } },
  nginx: { spec: { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web' } } },
  kubernetes: { analysis: { iterations: 3 } },
  contour: {},
  traefik: {},
  kuma: {},
  apisix: { spec: { routeRef: { apiVersion: 'apisix.apache.org/v2', kind: 'ApisixRoute', name: 'web' } } },
  gloo: { service: { gatewayRefs: [{ name: 'edge' }] } },
  skipper: { spec: { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web' } } },
  knative: { spec: { targetRef: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'web' } } },
  linkerd: { service: { gatewayRefs: LINKERD_PARENTS } },
};

/** A spec that asks for one feature in a way every provider that has the feature can express. */
const ASKS = {
  weights: { analysis: { stepWeight: 10, maxWeight: 50, stepWeightPromotion: 25 } },
  steps: { analysis: { steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { analysis: {} }] } },
  abMatch: { analysis: { iterations: 2, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] } },
  mirror: { analysis: { iterations: 2, mirror: true, mirrorWeight: 50 } },
  sessionAffinity: { analysis: { stepWeight: 10, sessionAffinity: { cookieName: 'canary' } } },
  routeMatch: { service: { match: [{ uri: { prefix: '/api' } }] } },
  cors: { service: { corsPolicy: { allowOrigins: [{ exact: 'https://example.com' }] } } },
  retries: { service: { retries: { attempts: 3, perTryTimeout: '1s' } } },
  timeout: { service: { timeout: '30s' } },
  rewrite: { service: { rewrite: { uri: '/' } } },
  headers: { service: { headers: { request: { set: { 'x-from': 'sluice' } } } } },
  requestMirrors: { service: { mirror: [{ backendRef: { name: 'shadow', port: 80 } }] } },
  hosts: { service: { hosts: ['web.example.com'] } },
  gateways: { service: { gateways: ['public'] } },
  gatewayRefs: { service: { gatewayRefs: [{ name: 'edge' }] } },
  delegation: { service: { delegation: true } },
  trafficPolicy: { service: { trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } },
  ingressRef: { spec: { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web' } } },
  routeRef: { spec: { routeRef: { apiVersion: 'apisix.apache.org/v2', kind: 'ApisixRoute', name: 'web' } } },
  protocol: { service: { protocol: 'grpc' } },
} satisfies Record<RoutingFeatureName, Patch>;

/** For each partial support: a spec beyond what the provider expresses, and the field refused. */
const BEYOND: Partial<Record<RouterKind, Partial<Record<RoutingFeatureName, [Patch, string]>>>> = {
  gatewayapi: {
    protocol: [{ service: { protocol: 'tcp', timeout: '5s' } }, 'spec.service.timeout'],
    abMatch: [{ analysis: { iterations: 2, match: [{ port: 8080 }] } }, 'spec.analysis.match[0].port'],
    routeMatch: [
      { service: { match: [{ uri: { prefix: '/api' }, ignoreUriCase: true }] } },
      'spec.service.match[0].ignoreUriCase',
    ],
  },
  smi: { hosts: [{ service: { hosts: ['a.example.com', 'b.example.com'] } }, 'spec.service.hosts[1]'] },
  contour: {
    abMatch: [
      { analysis: { iterations: 2, match: [{ method: { exact: 'GET' } }] } },
      'spec.analysis.match[0].method',
    ],
    mirror: [{ analysis: { iterations: 2, mirror: true, mirrorWeight: 0 } }, 'spec.analysis.mirrorWeight'],
    routeMatch: [{ service: { match: [{ authority: { exact: 'a' } }] } }, 'spec.service.match[0].authority'],
    retries: [{ service: { retries: { attempts: 2, retryOn: '503' } } }, 'spec.service.retries.retryOn'],
    headers: [{ service: { headers: { request: { add: { a: '1' } } } } }, 'spec.service.headers.request.add'],
    hosts: [{ service: { hosts: ['a.example.com', 'b.example.com'] } }, 'spec.service.hosts[1]'],
  },
  kuma: {
    abMatch: [{ analysis: { iterations: 2, match: [{ port: 8080 }] } }, 'spec.analysis.match[0].port'],
    routeMatch: [{ service: { match: [{ scheme: { exact: 'https' } }] } }, 'spec.service.match[0].scheme'],
  },
  apisix: {
    abMatch: [
      { analysis: { iterations: 2, match: [{ uri: { prefix: '/a' } }] } },
      'spec.analysis.match[0].uri',
    ],
  },
  gloo: {
    protocol: [
      { service: { protocol: 'grpc', match: [{ uri: { prefix: '/api' } }] } },
      'spec.service.match[0].uri.prefix',
    ],
    abMatch: [{ analysis: { iterations: 2, match: [{ port: 8080 }] } }, 'spec.analysis.match[0].port'],
    routeMatch: [{ service: { match: [{ ignoreUriCase: true }] } }, 'spec.service.match[0].ignoreUriCase'],
  },
  linkerd: {
    abMatch: [{ analysis: { iterations: 2, match: [{ port: 8080 }] } }, 'spec.analysis.match[0].port'],
    routeMatch: [{ service: { match: [{ ignoreUriCase: true }] } }, 'spec.service.match[0].ignoreUriCase'],
  },
  nginx: {
    abMatch: [
      { analysis: { iterations: 2, match: [{ headers: { a: { exact: '1' }, b: { exact: '2' } } }] } },
      'spec.analysis.match[0].headers',
    ],
  },
};

function canary(...patches: Patch[]): Canary {
  const spec: Record<string, unknown> = {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    service: { port: 80 },
    analysis: {},
  };
  for (const patch of patches) {
    Object.assign(spec, patch.spec);
    spec.service = { ...(spec.service as object), ...patch.service };
    spec.analysis = { ...(spec.analysis as object), ...patch.analysis };
  }
  // A knative Canary has no spec.service (the schema refuses one).
  if (spec.provider === 'knative' && !patches.some((patch) => patch.service)) delete spec.service;
  const analysis = spec.analysis as Record<string, unknown>;
  // Explicit steps replace every other way of moving traffic.
  if (analysis.steps !== undefined) analysis.iterations = analysis.stepWeight = undefined;
  const moves = ['stepWeight', 'stepWeights', 'iterations', 'steps'].some(
    (key) => analysis[key] !== undefined,
  );
  if (!moves) analysis.stepWeight = 10;
  const parsed = parseCanary({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'web', namespace: 'shop' },
    spec,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.canary;
}

/** The base of a provider, with its provider string. */
const base = (kind: RouterKind): Patch => ({
  ...BASES[kind],
  spec: { provider: kind === 'smi' ? 'smi:v1alpha3' : kind, ...BASES[kind].spec },
});

describe('checkCapabilities', () => {
  it('lets each provider route its own base spec', () => {
    for (const kind of ROUTER_KINDS) expect(checkCapabilities(canary(base(kind))), kind).toEqual([]);
  });

  describe.each(ROUTER_KINDS)('provider %s', (kind) => {
    it.each(ROUTING_FEATURE_NAMES)('%s: as the table says', (feature) => {
      const support: Support = ROUTER_SUPPORT[kind][feature];
      // Linkerd's parents are Services (the base has one); a Gateway would be refused.
      const ask = kind === 'linkerd' && feature === 'gatewayRefs' ? {} : ASKS[feature];
      if (kind === 'knative' && (ask as Patch).service !== undefined) {
        // Refused before the table: a knative Canary has no spec.service at all.
        expect(() => canary(base(kind), ask)).toThrow(/a knative Canary has no spec\.service/);
        return;
      }
      const asked = canary(base(kind), ask);
      const fields = ROUTING_FEATURES[feature].asked(asked);
      expect(fields.length, `the sample asks for ${feature}`).toBeGreaterThan(0);
      const issues = checkCapabilities(asked).filter((issue) => issue.feature === feature);
      if (support.level === 'no') {
        // Every field that asks for it is refused, naming the provider and what it can do.
        expect(issues.map((issue) => issue.path)).toEqual(fields);
        for (const issue of issues) {
          expect(issue.reason).toBe(UNSUPPORTED_BY_PROVIDER);
          expect(issue.message).toMatch(
            new RegExp(
              `^provider ${issue.provider} cannot ${escape(ROUTING_FEATURES[feature].verb)}.*; ${issue.provider} can: `,
            ),
          );
        }
        return;
      }
      expect(issues).toEqual([]);
      // Without gatewayRefs, linkerd is the smi router: the requirement is the choice itself.
      if (support.level === 'required' && kind !== 'linkerd') {
        const without = canary(base(kind));
        (without.spec as Record<string, unknown>)[feature] = undefined;
        if (feature === 'gatewayRefs') without.spec.service.gatewayRefs = undefined;
        const missing = checkCapabilities(without).filter((issue) => issue.feature === feature);
        expect(missing.map((issue) => issue.path)).toEqual([ROUTING_FEATURES[feature].fields[0]]);
        expect(missing[0]!.message).toMatch(/^provider \S+ needs /);
      }
      if (support.level === 'partial') {
        const beyond = BEYOND[kind]?.[feature];
        expect(beyond, `a spec beyond ${kind}'s ${feature}`).toBeDefined();
        const refused = checkCapabilities(canary(base(kind), beyond![0])).filter(
          (issue) => issue.feature === feature,
        );
        expect(refused.map((issue) => issue.path)).toContain(beyond![1]);
        expect(refused.every((issue) => issue.message.endsWith(`(provider ${issue.provider})`))).toBe(true);
      }
    });
  });

  it('names the issues the examples of the issue found (mirror with smi, A/B with smi, weights with kubernetes)', () => {
    const smiMirror = checkCapabilities(canary(base('smi'), ASKS.mirror));
    expect(smiMirror.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      'spec.analysis.mirror: provider smi:v1alpha3 cannot mirror traffic to the canary (a TrafficSplit has weights only); smi:v1alpha3 can: Weights, Steps, Hosts (one host: the TrafficSplit’s root service)',
      'spec.analysis.mirrorWeight: provider smi:v1alpha3 cannot mirror traffic to the canary (a TrafficSplit has weights only); smi:v1alpha3 can: Weights, Steps, Hosts (one host: the TrafficSplit’s root service)',
    ]);
    expect(checkCapabilities(canary(base('smi'), ASKS.abMatch)).map((issue) => issue.path)).toEqual([
      'spec.analysis.match',
    ]);
    const kubernetes = checkCapabilities(canary(base('kubernetes'), { analysis: { stepWeights: [10, 50] } }));
    expect(kubernetes.map((issue) => issue.path)).toEqual(['spec.analysis.stepWeights']);
    expect(kubernetes[0]!.message).toMatch(
      /set spec\.analysis\.iterations instead\); kubernetes can: blue\/green only \(spec\.analysis\.iterations\)$/,
    );
  });

  it('refuses an A/B port match on Gateway API up front (it once became a match-everything rule)', () => {
    const issues = checkCapabilities(
      canary(base('gatewayapi'), { analysis: { iterations: 2, match: [{ port: 8080 }] } }),
    );
    expect(issues).toEqual([
      {
        path: 'spec.analysis.match[0].port',
        message: expect.stringMatching(/^has no Gateway API equivalent: .* \(provider gatewayapi\)$/),
        reason: UNSUPPORTED_BY_PROVIDER,
        provider: 'gatewayapi',
        feature: 'abMatch',
      },
    ]);
  });

  it('refuses what a provider’s own objects would refuse or ignore', () => {
    const paths = (kind: RouterKind, ...patches: Patch[]) =>
      checkCapabilities(canary(base(kind), ...patches)).map((issue) => issue.path);
    expect(paths('istio', { service: { timeout: 'soon' } })).toEqual(['spec.service.timeout']);
    expect(paths('istio', { service: { rewrite: { uri: '/', type: 'ReplaceFullPath' } } })).toEqual([
      'spec.service.rewrite.type',
    ]);
    expect(paths('istio', { service: { delegation: true, hosts: ['a'] } })).toEqual([
      'spec.service.delegation',
    ]);
    expect(
      paths(
        'istio',
        { service: { match: [{ uri: { prefix: '/api' } }] } },
        {
          analysis: { iterations: 2, match: [{ uri: { prefix: '/v2' } }] },
        },
      ),
    ).toEqual(['spec.analysis.match[0].uri']);
    expect(paths('gatewayapi', { service: { rewrite: { uri: '/', type: 'Replace' } } })).toEqual([
      'spec.service.rewrite.type',
    ]);
    // A prefix rewrite needs exactly one PathPrefix match in every rule: two A/B matches make two.
    expect(
      paths(
        'gatewayapi',
        { service: { rewrite: { uri: '/' } } },
        {
          analysis: {
            iterations: 2,
            match: [{ headers: { a: { exact: '1' } } }, { headers: { b: { exact: '1' } } }],
          },
        },
      ),
    ).toEqual(['spec.service.rewrite.uri']);
    expect(paths('gatewayapi', { service: { rewrite: { uri: '/', type: 'ReplaceFullPath' } } })).toEqual([]);
    expect(paths('gatewayapi', { service: { headers: { request: { append: { a: '1' } } } } })).toEqual([
      'spec.service.headers.request.append',
    ]);
    expect(
      paths(
        'gatewayapi',
        { service: { match: [{ headers: { cookie: { exact: 'x' } } }] } },
        ASKS.sessionAffinity,
      ),
    ).toEqual(['spec.analysis.sessionAffinity']);
  });

  it('refuses a provider it does not route, naming what would work', () => {
    const unrouted = canary({});
    unrouted.spec.provider = 'appmesh'; // parseCanary refuses it already; the check does too
    const issues = checkCapabilities(unrouted);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('spec.provider');
    expect(issues[0]!.message).toMatch(
      /^"appmesh" is not supported \(App Mesh .*\); expected one of istio, gatewayapi/,
    );
    expect(checkCapabilities(canary({}), { defaultProvider: 'nope' })[0]!.path).toBe('--mesh-provider');
  });

  it('gives the routers their runtime capabilities from the same table', () => {
    expect(routesCapabilities('istio')).toEqual({ weights: true, mirror: true, match: true });
    expect(routesCapabilities('smi')).toEqual({ weights: true, mirror: false, match: false });
    expect(routesCapabilities('nginx')).toEqual({ weights: true, mirror: false, match: true });
    expect(routesCapabilities('kubernetes')).toEqual({ weights: false, mirror: false, match: false });
  });
});
