import { describe, expect, it } from 'vitest';
import {
  APP,
  canaryShare,
  DURATION,
  expectInOrder,
  httpRouteRules,
  SUCCESS_RATE,
  useScenario,
  waitForEvent,
  expectHealthyAnalysis,
} from './support.ts';

// Scenario 4: an A/B test through the Gateway API. Only requests with `x-canary: insider`
// reach the new revision, for two iterations; then it is promoted. The traffic layer acts
// as the Gateway and routes by the HTTPRoute Sluice writes; the gatewayapi built-in
// metrics read the demo app's own http_request_duration_seconds series (namespace/pod
// labels) from the real Prometheus. Two load generators run throughout: insiders (with the
// header) and everyone else (without).

const GATEWAY = 'e2e-gateway';
const s = useScenario('e2e-gateway-ab', {
  proxies: (namespace) => [
    { service: APP, hosts: [`${APP}.${namespace}`], gateway: { name: GATEWAY, namespace } },
  ],
  canary: (stack) => ({
    provider: 'gatewayapi',
    service: {
      hosts: [`${APP}.${stack.namespace}`],
      gatewayRefs: [{ name: GATEWAY, namespace: stack.namespace }],
    },
    analysis: {
      interval: '10s',
      threshold: 2,
      iterations: 2,
      match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
      metrics: [SUCCESS_RATE, DURATION],
    },
  }),
  loads: { everyone: { rps: 8 }, insiders: { rps: 8, headers: { 'x-canary': 'insider' } } },
});
const { ns } = s;

describe('e2e: Gateway API A/B test by header', () => {
  it('sends only header traffic to the new revision for two iterations, then promotes it', async () => {
    const initialized = await s.bootstrapped();
    await s.deploy('1.1.0');
    await waitForEvent(ns.kube, ns.name, /^routing matching requests to the canary$/);
    // Mid-analysis the HTTPRoute sends matching requests to the canary, the rest to the primary.
    expect(await httpRouteRules(ns.kube, ns.name)).toEqual([
      { headers: ['x-canary=insider'], weights: { [`${APP}-primary`]: 0, [`${APP}-canary`]: 100 } },
      { headers: [], weights: { [`${APP}-primary`]: 100 } },
    ]);

    const done = await s.outcome(initialized);
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(s.recorder.phases(), ['Progressing', 'Succeeded']);
    expect(s.recorder.phases()).not.toContain('Failed');

    // While the A/B routes were in place, insiders got the canary and nobody else did.
    const abTest = (x: { phase: string | undefined; canaryWeight: number }) =>
      x.phase === 'Progressing' && x.canaryWeight === 100;
    const insiderTraffic = s.recorder.trafficWhile('insiders', abTest);
    const otherTraffic = s.recorder.trafficWhile('everyone', abTest);
    expect(canaryShare(insiderTraffic), JSON.stringify(insiderTraffic)).toBeGreaterThan(0.9);
    expect(otherTraffic[APP] ?? 0, JSON.stringify(otherTraffic)).toBe(0);
    expect(otherTraffic[`${APP}-primary`] ?? 0).toBeGreaterThan(50);

    // The app's own series, read from Prometheus: the canary pods answered every request.
    expectHealthyAnalysis(done);

    const events = await s.events();
    expect(events).toEqual(
      expect.arrayContaining([
        'routing matching requests to the canary',
        'advance canary iteration 1/2',
        'advance canary iteration 2/2',
        'promotion completed',
      ]),
    );
    expect(events).not.toContain('advance canary iteration 3/2');

    // Promoted: the primary runs 1.1.0 and takes everything, with or without the header.
    const rules = await httpRouteRules(ns.kube, ns.name);
    expect(rules.flatMap((r) => Object.entries(r.weights)).filter(([, w]) => w > 0)).toEqual(
      rules.map(() => [`${APP}-primary`, 100]),
    );
    await s.expectPromoted('1.1.0', 'insiders');
  });
});
