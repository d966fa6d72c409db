import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  answersOf,
  APP,
  apply,
  canaryShare,
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

// Scenario 3: a release whose pods answer after 800 ms is rolled back on latency. The
// delay is real (the demo app's LATENCY_MS), measured by the traffic layer into
// istio_request_duration_milliseconds, and judged by the built-in request-duration (p99,
// max 500 ms) from the real Prometheus; the success rate passes throughout.

const ns = useNamespace('e2e-istio-latency');
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

describe('e2e: Istio canary, release answering in 800 ms', () => {
  it('fails request-duration while request-success-rate passes, and rolls back; the primary is untouched', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0', { env: { LATENCY_MS: '800' } }));
    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();

    expect(done.status?.phase, done.status?.message).toBe('Failed');
    expect(done.status?.canaryWeight).toBe(0);
    expect(done.status?.failedChecks).toBe(2);
    expectInOrder(recorder.phases(), ['Progressing', 'Failed']);
    expect(recorder.phases()).not.toContain('Promoting');
    expectInOrder(recorder.weights(), [50, 0]);

    // The canary really got half of the traffic, and answered all of it, slowly.
    const during = recorder.trafficWhile('main', (s) => s.phase === 'Progressing' && s.canaryWeight === 50);
    expect(canaryShare(during), JSON.stringify(during)).toBeGreaterThan(0.25);
    expect(canaryShare(during), JSON.stringify(during)).toBeLessThan(0.75);
    expect(traffic.counts().byStatus['500'] ?? 0).toBe(0);

    // Prometheus saw a p99 in the 500–1000 ms bucket and no errors on the canary's series.
    const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
    expect(analysis['request-duration']?.passed).toBe(false);
    expect(analysis['request-duration']?.value).toBeGreaterThan(800);
    expect(analysis['request-duration']?.value).toBeLessThanOrEqual(1000);
    expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });

    // All traffic back on the untouched primary; the canary scaled to zero.
    const primary = await primaryContainer(ns.kube, ns.name);
    expect(primary.image).toBe(`${IMAGE}:1.0.0`);
    expect(primary.env).not.toHaveProperty('LATENCY_MS');
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    expect(await targetReplicas(ns.kube, ns.name)).toBe(0);
    const answers = await answersOf(stack, `${APP}-primary`);
    expect(answers.map((a) => a.version)).toEqual(answers.map(() => '1.0.0'));
    const before = traffic.counts();
    await eventually(
      'real traffic answered by the primary only',
      async () => {
        const now = traffic.counts();
        const primaryCount =
          (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const canaryCount = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        return primaryCount > 20 && canaryCount === 0;
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
        /^rolling back: failed checks threshold reached 2: request-duration: [\d.]+ > max 500$/,
      ),
    );
    expect(done.status?.message).toMatch(
      /^rolling back: failed checks threshold reached 2: request-duration: [\d.]+ > max 500$/,
    );
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      message: done.status?.message,
    });
    expect(events).toContainEqual(
      expect.stringMatching(/^halt advancement: failed checks 1\/2: request-duration: [\d.]+ > max 500/),
    );
    expect(events).not.toContain('promotion completed');
    await eventually('Slack told the halt and the rollback', async () => {
      const lines = slackLines(stack);
      return (
        lines.some((l) => /: halt advancement: failed checks 1\/2: request-duration/.test(l)) &&
        lines.some((l) =>
          l.startsWith(
            `${APP}.${ns.name}: rolling back: failed checks threshold reached 2: request-duration`,
          ),
        )
      );
    });
  });
});
