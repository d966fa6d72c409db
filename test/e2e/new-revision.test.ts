import { describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import { canaryEvents } from '../support/sluice.ts';
import { expectInOrder, IMAGE, SUCCESS_RATE, useScenario } from './support.ts';

// Scenario 8: revision B arrives while revision A is at its first step. The analysis
// restarts for B (routes back to the primary, the program from the start), and B — never
// A — is promoted. Real traffic through the Istio stand-in; built-in success rate from
// the real Prometheus.

const s = useScenario('e2e-new-revision', {
  canary: () => ({
    provider: 'istio',
    analysis: { interval: '10s', threshold: 2, stepWeights: [25, 50], metrics: [SUCCESS_RATE] },
  }),
});
const { ns } = s;

describe('e2e: new revision during the analysis', () => {
  it('restarts the analysis for the newer revision and promotes that one', async () => {
    const initialized = await s.bootstrapped();

    await s.deploy('1.1.0');
    const atFirstStep = await s.waitFor(
      (c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 25,
      { timeoutMs: 60_000 },
    );
    await eventually(
      'revision A (1.1.0) answering real requests as the canary',
      async () => (s.main.counts().byVersion['1.1.0'] ?? 0) > 5,
      { timeoutMs: 20_000 },
    );

    await s.deploy('1.2.0');
    const restarted = await s.waitFor(
      (c) => c.status?.lastAppliedSpec !== atFirstStep.status?.lastAppliedSpec,
      { timeoutMs: 30_000 },
    );
    expect(restarted.status?.phase).toBe('Progressing');
    expect(restarted.status?.message).toBe('new revision detected, restarting canary analysis');

    const done = await s.outcome(initialized);
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expect(done.status?.lastAppliedSpec).toBe(restarted.status?.lastAppliedSpec);
    expect(done.status?.lastPromotedSpec).toBe(restarted.status?.lastAppliedSpec);
    expect(s.recorder.phases()).not.toContain('Failed');
    // Back to the primary on the restart, then B's program from its first step.
    expectInOrder(s.recorder.weights(), [25, 0, 25, 50, 0]);

    // Once B was at 50 %, the canary answers came from B only.
    const atHalf = s.recorder.samples.filter((x) => x.canaryWeight === 50);
    const first = atHalf[0]!.traffic.main!;
    const last = atHalf.at(-1)!.traffic.main!;
    const delta = (v: string) => (last.byVersion[v] ?? 0) - (first.byVersion[v] ?? 0);
    expect(delta('1.2.0'), JSON.stringify(last.byVersion)).toBeGreaterThan(10);
    expect(delta('1.1.0'), JSON.stringify(last.byVersion)).toBe(0);

    const primary = await s.primary();
    expect(primary.image).toBe(`${IMAGE}:1.2.0`);
    await s.expectIstioOnPrimary();
    const events = await canaryEvents(ns.kube, ns.name);
    expect(events.get('new revision detected, starting canary analysis')).toBe(1);
    expect(events.get('new revision detected, restarting canary analysis')).toBe(1);
    expect(events.get('advance canary weight 25')).toBe(2);
    expect(events.get('advance canary weight 50')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);
    await s.waitForSlack(
      'Slack told the restart and the promotion',
      'new revision detected, restarting canary analysis',
      'promotion completed',
    );
  });
});
