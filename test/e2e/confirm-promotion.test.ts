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

// Scenario 6: a confirm-promotion gate on the load tester (`sluice loadtester`, its own
// process; gate state in its ConfigMap). The analysis passes on real traffic and the
// built-in success rate from the real Prometheus, then the canary waits at the closed gate
// — holding its traffic and checks — until a person opens the gate with Flagger's payload.

const ns = useNamespace('e2e-gate');
let stack: AppStack;
let traffic: DemoLoad;
let recorder: Recorder;

async function gateChecks(answer: 'approved' | 'forbidden'): Promise<number> {
  const text = await (await fetch(`${stack.loadtesterUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('sluice_loadtester_gate_checks_total{') &&
        l.includes(`canary="${APP}.${ns.name}"`) &&
        l.includes('kind="gate"') &&
        l.includes(`answer="${answer}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeAll(async () => {
  stack = await startStack(ns.name, { proxies: [{ service: APP }], loadtester: true });
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
        metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
        webhooks: [{ name: 'approval', type: 'confirm-promotion', url: `${stack.loadtesterUrl}/gate/check` }],
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

describe('e2e: confirm-promotion gate through the load tester', () => {
  it('holds the canary at WaitingPromotion while the gate is closed, and promotes once it is opened', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    // WaitingPromotion comes once the last step's checks passed; the gate is asked (and the
    // message says so) after the checks of the next interval pass too.
    const waiting = await waitForCanary(
      ns.kube,
      ns.name,
      (c) =>
        c.status?.phase === 'WaitingPromotion' &&
        c.status.message === 'waiting for approval: confirm-promotion',
      { timeoutMs: 90_000 },
    );
    expect(waiting.status?.canaryWeight).toBe(50);

    // Held for more than two intervals: still waiting, still at 50 %, checks still passing,
    // and the gate asked again at each interval.
    const checksBefore = await gateChecks('forbidden');
    const heldSince = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    const held = recorder.samples.filter((s) => s.at >= heldSince);
    expect(new Set(held.map((s) => s.phase))).toEqual(new Set(['WaitingPromotion']));
    expect(new Set(held.map((s) => s.canaryWeight))).toEqual(new Set([50]));
    expect(await gateChecks('forbidden')).toBeGreaterThanOrEqual(checksBefore + 2);
    const still = await waitForCanary(ns.kube, ns.name, 'WaitingPromotion', { timeoutMs: 1000 });
    expect(still.status?.failedChecks).toBe(0);
    expect(still.status?.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'request-success-rate', passed: true, value: 100 }),
    ]);
    // Real traffic kept flowing to the canary at the held weight.
    const heldTraffic = recorder.trafficWhile('main', (s) => s.at >= heldSince);
    expect(canaryShare(heldTraffic), JSON.stringify(heldTraffic)).toBeGreaterThan(0.25);
    expect(canaryShare(heldTraffic), JSON.stringify(heldTraffic)).toBeLessThan(0.75);
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.0.0`);
    expect(await eventMessages(ns.kube, ns.name)).toContain('waiting for approval: confirm-promotion');
    await eventually('Slack told "waiting for approval"', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: waiting for approval: confirm-promotion`),
    );

    // A person opens the gate, as with Flagger's load tester.
    const opened = await fetch(`${stack.loadtesterUrl}/gate/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: APP, namespace: ns.name }),
    });
    expect(opened.status).toBe(202);
    const gates = await ns.kube.core.readNamespacedConfigMap({
      name: 'sluice-loadtester-gates',
      namespace: ns.name,
    });
    expect(gates.data?.[`gate.${ns.name}.${APP}`]).toBe('open');

    const done = await waitForOutcome(stack, initialized, 60_000);
    await recorder.catchUp();
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(recorder.phases(), ['Progressing', 'WaitingPromotion', 'Succeeded']);
    expect(await gateChecks('approved')).toBeGreaterThanOrEqual(1);
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.1.0`);
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    await eventually('Slack told "promotion completed"', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: promotion completed`),
    );
  });
});
