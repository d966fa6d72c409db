import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  APP,
  apply,
  canaryShare,
  controllerMetric,
  demoCanary,
  demoDeployment,
  eventMessages,
  expectInOrder,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  targetReplicas,
  virtualServiceWeights,
  waitForBootstrap,
  waitForOutcome,
  waitForPrimaryVersion,
} from './support.ts';

// Scenario 1: a healthy release on Istio is promoted. Real requests go through the
// traffic layer's stand-in for the Istio sidecars, which routes by the VirtualService
// Sluice writes and exports istio_requests_total / istio_request_duration_milliseconds to
// the real Prometheus; the built-in metrics read them at every step.

const ns = useNamespace('e2e-istio-ok');
let stack: AppStack;
let traffic: DemoLoad;
let recorder: Recorder;

beforeAll(async () => {
  stack = await startStack(ns.name, { proxies: [{ service: APP }] });
  await apply(ns.kube, demoDeployment(ns.name, '1.0.0'));
  await apply(
    ns.kube,
    demoCanary(ns.name, {
      provider: 'istio',
      analysis: {
        interval: '10s',
        threshold: 2,
        stepWeight: 50,
        maxWeight: 50,
        metrics: [
          { name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: '20s', thresholdRange: { max: 500 } },
        ],
      },
    }),
  );
  traffic = load(stack.runtime.proxies[0]!.url);
  recorder = new Recorder(ns.kube, ns.name, { main: traffic }).start();
});

afterAll(async () => {
  recorder?.stop();
  await traffic?.stop();
  await stack?.stop();
});

describe('e2e: Istio canary, healthy release', () => {
  it('shifts real traffic to the new revision, checks it in Prometheus, and promotes it', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();

    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(recorder.phases(), ['Progressing', 'Succeeded']);
    expect(recorder.phases()).not.toContain('Failed');
    expectInOrder(recorder.weights(), [50, 0]);

    // At weight 50, about half of the real requests reached the canary.
    const during = recorder.trafficWhile('main', (s) => s.phase === 'Progressing' && s.canaryWeight === 50);
    expect(canaryShare(during), JSON.stringify(during)).toBeGreaterThan(0.25);
    expect(canaryShare(during), JSON.stringify(during)).toBeLessThan(0.75);

    // The analysis read real values: every request succeeded, quickly.
    const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
    expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });
    expect(analysis['request-duration']?.passed).toBe(true);
    expect(analysis['request-duration']?.value).toBeLessThan(500);

    // The primary runs the new revision and takes all traffic again; the canary is idle.
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.1.0`);
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    expect(await targetReplicas(ns.kube, ns.name)).toBe(0);
    await waitForPrimaryVersion(stack, '1.1.0');
    const before = traffic.counts();
    await eventually(
      'real traffic answered by the primary only, as 1.1.0',
      async () => {
        const now = traffic.counts();
        const primary = (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const canary = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        return primary > 20 && canary === 0;
      },
      { timeoutMs: 20_000 },
    );

    expect(await eventMessages(ns.kube, ns.name)).toEqual(
      expect.arrayContaining([
        'new revision detected, starting canary analysis',
        'advance canary weight 50',
        'promotion completed',
      ]),
    );
    // The controller's delivery metrics count one rollout (the bootstrap is none), promoted.
    const byNamespace = { namespace: ns.name, strategy: 'canary' };
    expect(await controllerMetric(stack, 'sluice_canary_rollouts_started_total', byNamespace)).toBe(1);
    expect(await controllerMetric(stack, 'sluice_canary_promotions_total', byNamespace)).toBe(1);
    expect(await controllerMetric(stack, 'sluice_canary_rollbacks_total', byNamespace)).toBe(0);
    await eventually('Slack told "promotion completed"', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: promotion completed`),
    );
  });
});
