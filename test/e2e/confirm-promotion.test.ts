import { describe, expect, it } from 'vitest';
import { APP, canaryShare, expectInOrder, IMAGE, SUCCESS_RATE, useScenario, istioAt50 } from './support.ts';

// Scenario 6: a confirm-promotion gate on the load tester (`sluice loadtester`, its own
// process; gate state in its ConfigMap). The analysis passes on real traffic and the
// built-in success rate from the real Prometheus, then the canary waits at the closed gate
// — holding its traffic and checks — until a person opens the gate with Flagger's payload.

const s = useScenario('e2e-gate', {
  loadtester: true,
  canary: (stack) =>
    istioAt50({
      metrics: [SUCCESS_RATE],
      webhooks: [{ name: 'approval', type: 'confirm-promotion', url: `${stack.loadtesterUrl}/gate/check` }],
    }),
});
const { ns } = s;

async function gateChecks(answer: 'approved' | 'forbidden'): Promise<number> {
  const text = await (await fetch(`${s.stack.loadtesterUrl}/metrics`)).text();
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

describe('e2e: confirm-promotion gate through the load tester', () => {
  it('holds the canary at WaitingPromotion while the gate is closed, and promotes once it is opened', async () => {
    const initialized = await s.bootstrapped();

    await s.deploy('1.1.0');
    // WaitingPromotion comes once the last step's checks passed; the gate is asked (and the
    // message says so) after the checks of the next interval pass too.
    const waiting = await s.waitFor(
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
    const held = s.recorder.samples.filter((x) => x.at >= heldSince);
    expect(new Set(held.map((x) => x.phase))).toEqual(new Set(['WaitingPromotion']));
    expect(new Set(held.map((x) => x.canaryWeight))).toEqual(new Set([50]));
    expect(await gateChecks('forbidden')).toBeGreaterThanOrEqual(checksBefore + 2);
    const still = await s.waitFor('WaitingPromotion', { timeoutMs: 1000 });
    expect(still.status?.failedChecks).toBe(0);
    expect(still.status?.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'request-success-rate', passed: true, value: 100 }),
    ]);
    // Real traffic kept flowing to the canary at the held weight.
    const heldTraffic = s.recorder.trafficWhile('main', (x) => x.at >= heldSince);
    expect(canaryShare(heldTraffic), JSON.stringify(heldTraffic)).toBeGreaterThan(0.25);
    expect(canaryShare(heldTraffic), JSON.stringify(heldTraffic)).toBeLessThan(0.75);
    expect((await s.primary()).image).toBe(`${IMAGE}:1.0.0`);
    expect(await s.events()).toContain('waiting for approval: confirm-promotion');
    await s.waitForSlack('Slack told "waiting for approval"', 'waiting for approval: confirm-promotion');

    // A person opens the gate, as with Flagger's load tester.
    const opened = await fetch(`${s.stack.loadtesterUrl}/gate/open`, {
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

    const done = await s.outcome(initialized, 60_000);
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(s.recorder.phases(), ['Progressing', 'WaitingPromotion', 'Succeeded']);
    expect(await gateChecks('approved')).toBeGreaterThanOrEqual(1);
    expect((await s.primary()).image).toBe(`${IMAGE}:1.1.0`);
    await s.expectIstioOnPrimary();
    await s.waitForSlack('Slack told "promotion completed"', 'promotion completed');
  });
});
