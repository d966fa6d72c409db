import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { canaryEvents } from '../support/sluice.ts';
import {
  APP,
  apply,
  demoCanary,
  demoDeployment,
  expectInOrder,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  virtualServiceWeights,
  waitForBootstrap,
  waitForOutcome,
  waitForCanary,
} from './support.ts';

// Scenario 8: revision B arrives while revision A is at its first step. The analysis
// restarts for B (routes back to the primary, the program from the start), and B — never
// A — is promoted. Real traffic through the Istio stand-in; built-in success rate from
// the real Prometheus.

const ns = useNamespace('e2e-new-revision');
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
        stepWeights: [25, 50],
        metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
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

describe('e2e: new revision during the analysis', () => {
  it('restarts the analysis for the newer revision and promotes that one', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    const atFirstStep = await waitForCanary(
      ns.kube,
      ns.name,
      (c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 25,
      { timeoutMs: 60_000 },
    );
    await eventually(
      'revision A (1.1.0) answering real requests as the canary',
      async () => (traffic.counts().byVersion['1.1.0'] ?? 0) > 5,
      { timeoutMs: 20_000 },
    );

    await apply(ns.kube, demoDeployment(ns.name, '1.2.0'));
    const restarted = await waitForCanary(
      ns.kube,
      ns.name,
      (c) => c.status?.lastAppliedSpec !== atFirstStep.status?.lastAppliedSpec,
      { timeoutMs: 30_000 },
    );
    expect(restarted.status?.phase).toBe('Progressing');
    expect(restarted.status?.message).toBe('new revision detected, restarting canary analysis');

    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expect(done.status?.lastAppliedSpec).toBe(restarted.status?.lastAppliedSpec);
    expect(done.status?.lastPromotedSpec).toBe(restarted.status?.lastAppliedSpec);
    expect(recorder.phases()).not.toContain('Failed');
    // Back to the primary on the restart, then B's program from its first step.
    expectInOrder(recorder.weights(), [25, 0, 25, 50, 0]);

    // Once B was at 50 %, the canary answers came from B only.
    const atHalf = recorder.samples.filter((s) => s.canaryWeight === 50);
    const first = atHalf[0]!.traffic.main!;
    const last = atHalf.at(-1)!.traffic.main!;
    const delta = (v: string) => (last.byVersion[v] ?? 0) - (first.byVersion[v] ?? 0);
    expect(delta('1.2.0'), JSON.stringify(last.byVersion)).toBeGreaterThan(10);
    expect(delta('1.1.0'), JSON.stringify(last.byVersion)).toBe(0);

    const primary = await primaryContainer(ns.kube, ns.name);
    expect(primary.image).toBe(`${IMAGE}:1.2.0`);
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    const events = await canaryEvents(ns.kube, ns.name);
    expect(events.get('new revision detected, starting canary analysis')).toBe(1);
    expect(events.get('new revision detected, restarting canary analysis')).toBe(1);
    expect(events.get('advance canary weight 25')).toBe(2);
    expect(events.get('advance canary weight 50')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);
    await eventually('Slack told the restart and the promotion', async () => {
      const lines = slackLines(stack);
      return (
        lines.includes(`${APP}.${ns.name}: new revision detected, restarting canary analysis`) &&
        lines.includes(`${APP}.${ns.name}: promotion completed`)
      );
    });
  });
});
