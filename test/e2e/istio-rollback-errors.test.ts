import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  answersOf,
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
} from './support.ts';

// Scenario 2: a release whose pods answer 30 % of requests with 500 is rolled back. The
// error rate is real (the demo app's ERROR_RATE), seen by the traffic layer's Istio
// series, and judged by the built-in request-success-rate (min 99) from the real Prometheus.

const ns = useNamespace('e2e-istio-errors');
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

describe('e2e: Istio canary, release with 30% errors', () => {
  it('halts at the first failed check and rolls back at the threshold; the primary is untouched', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0', { env: { ERROR_RATE: '0.3' } }));
    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();

    expect(done.status?.phase, done.status?.message).toBe('Failed');
    expect(done.status?.canaryWeight).toBe(0);
    expect(done.status?.failedChecks).toBe(2);
    expectInOrder(recorder.phases(), ['Progressing', 'Failed']);
    expect(recorder.phases()).not.toContain('Promoting');
    expectInOrder(recorder.weights(), [50, 0]);

    // The canary really got half of the traffic, and really failed some of it.
    const during = recorder.trafficWhile('main', (s) => s.phase === 'Progressing' && s.canaryWeight === 50);
    expect(canaryShare(during), JSON.stringify(during)).toBeGreaterThan(0.25);
    expect(canaryShare(during), JSON.stringify(during)).toBeLessThan(0.75);
    expect(traffic.counts().byStatus['500'] ?? 0).toBeGreaterThan(5);

    // Prometheus saw about 70 % success on the canary's own series.
    const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
    expect(analysis['request-success-rate']?.passed).toBe(false);
    expect(analysis['request-success-rate']?.value).toBeGreaterThan(50);
    expect(analysis['request-success-rate']?.value).toBeLessThan(90);
    expect(analysis['request-duration']?.passed).toBe(true);

    // All traffic back on the untouched primary; the canary scaled to zero.
    const primary = await primaryContainer(ns.kube, ns.name);
    expect(primary.image).toBe(`${IMAGE}:1.0.0`);
    expect(primary.env).not.toHaveProperty('ERROR_RATE');
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    expect(await targetReplicas(ns.kube, ns.name)).toBe(0);
    const answers = await answersOf(stack, `${APP}-primary`);
    expect(answers.map((a) => a.version)).toEqual(answers.map(() => '1.0.0'));
    const before = traffic.counts();
    await eventually(
      'real traffic answered by the primary only, without errors',
      async () => {
        const now = traffic.counts();
        const primaryCount =
          (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const canaryCount = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        const errors = (now.byStatus['500'] ?? 0) - (before.byStatus['500'] ?? 0);
        return primaryCount > 20 && canaryCount === 0 && errors === 0;
      },
      { timeoutMs: 20_000 },
    );

    const events = await eventMessages(ns.kube, ns.name);
    expect(events).toEqual(
      expect.arrayContaining(['new revision detected, starting canary analysis', 'advance canary weight 50']),
    );
    // The rollback says which check failed, in the Event, the status and its Stalled condition.
    expect(events).toContainEqual(
      expect.stringMatching(
        /^rolling back: failed checks threshold reached 2: request-success-rate: [\d.]+ < min 99$/,
      ),
    );
    expect(done.status?.message).toMatch(
      /^rolling back: failed checks threshold reached 2: request-success-rate: [\d.]+ < min 99$/,
    );
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      message: done.status?.message,
    });
    expect(events).toContainEqual(
      expect.stringMatching(/^halt advancement: failed checks 1\/2: request-success-rate: [\d.]+ < min 99/),
    );
    expect(events).not.toContain('promotion completed');
    // The controller's delivery metrics count one rollout (the bootstrap is none) and one rollback.
    const byNamespace = { namespace: ns.name, strategy: 'canary' };
    expect(await controllerMetric(stack, 'sluice_canary_rollouts_started_total', byNamespace)).toBe(1);
    expect(await controllerMetric(stack, 'sluice_canary_rollbacks_total', byNamespace)).toBe(1);
    expect(await controllerMetric(stack, 'sluice_canary_promotions_total', byNamespace)).toBe(0);
    await eventually('Slack told the halt and the rollback', async () => {
      const lines = slackLines(stack);
      return (
        lines.some((l) => /: halt advancement: failed checks 1\/2: request-success-rate/.test(l)) &&
        lines.some((l) =>
          l.startsWith(
            `${APP}.${ns.name}: rolling back: failed checks threshold reached 2: request-success-rate`,
          ),
        )
      );
    });
  });
});
