import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  APP,
  apply,
  canaryShare,
  demoCanary,
  demoDeployment,
  eventMessages,
  expectInOrder,
  httpRouteRules,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  targetReplicas,
  waitForBootstrap,
  waitForEvent,
  waitForOutcome,
  waitForPrimaryVersion,
} from './support.ts';

// Scenario 4: an A/B test through the Gateway API. Only requests with `x-canary: insider`
// reach the new revision, for two iterations; then it is promoted. The traffic layer acts
// as the Gateway and routes by the HTTPRoute Sluice writes; the gatewayapi built-in
// metrics read the demo app's own http_request_duration_seconds series (namespace/pod
// labels) from the real Prometheus. Two load generators run throughout: insiders (with the
// header) and everyone else (without).

const ns = useNamespace('e2e-gateway-ab');
const GATEWAY = 'e2e-gateway';
let stack: AppStack;
let insiders: DemoLoad;
let everyone: DemoLoad;
let recorder: Recorder;

beforeAll(async () => {
  const host = `${APP}.${ns.name}`;
  stack = await startStack(ns.name, {
    proxies: [{ service: APP, hosts: [host], gateway: { name: GATEWAY, namespace: ns.name } }],
  });
  await apply(ns.kube, demoDeployment(ns.name, '1.0.0'));
  await apply(
    ns.kube,
    demoCanary(ns.name, {
      provider: 'gatewayapi',
      service: { hosts: [host], gatewayRefs: [{ name: GATEWAY, namespace: ns.name }] },
      analysis: {
        interval: '10s',
        threshold: 2,
        iterations: 2,
        match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
        metrics: [
          { name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: '20s', thresholdRange: { max: 500 } },
        ],
      },
    }),
  );
  const url = stack.runtime.proxies[0]!.url;
  insiders = load(url, { rps: 8, headers: { 'x-canary': 'insider' } });
  everyone = load(url, { rps: 8 });
  recorder = new Recorder(ns.kube, ns.name, { insiders, everyone }).start();
});

afterAll(async () => {
  recorder?.stop();
  await insiders?.stop();
  await everyone?.stop();
  await stack?.stop();
});

describe('e2e: Gateway API A/B test by header', () => {
  it('sends only header traffic to the new revision for two iterations, then promotes it', async () => {
    const initialized = await waitForBootstrap(stack, everyone);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    await waitForEvent(ns.kube, ns.name, /^routing matching requests to the canary$/);
    // Mid-analysis the HTTPRoute sends matching requests to the canary, the rest to the primary.
    expect(await httpRouteRules(ns.kube, ns.name)).toEqual([
      { headers: ['x-canary=insider'], weights: { [`${APP}-primary`]: 0, [`${APP}-canary`]: 100 } },
      { headers: [], weights: { [`${APP}-primary`]: 100 } },
    ]);

    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(recorder.phases(), ['Progressing', 'Succeeded']);
    expect(recorder.phases()).not.toContain('Failed');

    // While the A/B routes were in place, insiders got the canary and nobody else did.
    const abTest = (s: { phase: string | undefined; canaryWeight: number }) =>
      s.phase === 'Progressing' && s.canaryWeight === 100;
    const insiderTraffic = recorder.trafficWhile('insiders', abTest);
    const otherTraffic = recorder.trafficWhile('everyone', abTest);
    expect(canaryShare(insiderTraffic), JSON.stringify(insiderTraffic)).toBeGreaterThan(0.9);
    expect(otherTraffic[APP] ?? 0, JSON.stringify(otherTraffic)).toBe(0);
    expect(otherTraffic[`${APP}-primary`] ?? 0).toBeGreaterThan(50);

    // The app's own series, read from Prometheus: the canary pods answered every request.
    const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
    expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });
    expect(analysis['request-duration']?.passed).toBe(true);

    const events = await eventMessages(ns.kube, ns.name);
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
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.1.0`);
    const rules = await httpRouteRules(ns.kube, ns.name);
    expect(rules.flatMap((r) => Object.entries(r.weights)).filter(([, w]) => w > 0)).toEqual(
      rules.map(() => [`${APP}-primary`, 100]),
    );
    expect(await targetReplicas(ns.kube, ns.name)).toBe(0);
    // Once the primary's pods have rolled, every request is answered by it, as 1.1.0.
    await waitForPrimaryVersion(stack, '1.1.0');
    const before = insiders.counts();
    await eventually(
      'insider traffic answered by the primary as 1.1.0',
      async () => {
        const now = insiders.counts();
        const canary = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        const primary = (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const v110 = (now.byVersion['1.1.0'] ?? 0) - (before.byVersion['1.1.0'] ?? 0);
        return canary === 0 && primary > 10 && v110 === primary;
      },
      { timeoutMs: 30_000 },
    );
    await eventually('Slack told "promotion completed"', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: promotion completed`),
    );
  });
});
