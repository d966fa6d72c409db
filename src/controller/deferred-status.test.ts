import { describe, expect, it } from 'vitest';
import { CanaryAnalysis } from '../api/canary.ts';
import { planFromSpec } from '../machine/plan.ts';
import { Simulation } from '../machine/simulate.ts';
import { canWait } from './deferred-status.ts';
import { mergePatchDiff } from './merge-patch.ts';

/** What the reconciler would write after each tick: the machine's status and its snapshot. */
function written(sim: Simulation) {
  const result = sim.last!;
  return { ...result.status, machine: JSON.parse(JSON.stringify(result.snapshot)) as unknown };
}

describe('canWait', () => {
  it('holds back the canary or primary turning ready, with its deadline going away', () => {
    expect(
      canWait({
        deadlines: null,
        machine: { context: { canary: { ready: true, since: null, unreadyMs: 994 } } },
      }),
    ).toBe(true);
    expect(
      canWait({
        deadlines: { primaryReady: null },
        machine: { context: { primary: { ready: true, since: null, unreadyMs: 1013 } } },
      }),
    ).toBe(true);
  });

  it('writes at once a workload turning unready, a new deadline, or anything else', () => {
    expect(
      canWait({
        deadlines: { canaryReady: '2026-12-06T03:53:18.501Z' },
        machine: { context: { canary: { ready: false, since: 1, unreadyMs: 0 } } },
      }),
    ).toBe(false);
    expect(
      canWait({ machine: { context: { canary: { ready: true }, message: 'advance canary weight 25' } } }),
    ).toBe(false);
    expect(canWait({ machine: { context: { canary: { ready: true } } }, canaryWeight: 25 })).toBe(false);
    expect(canWait({ machine: { value: 'x', context: { canary: { ready: true } } } })).toBe(false);
    expect(canWait(undefined)).toBe(false);
  });

  it('matches the machine: a second tick waiting for the canary can wait, the one that moves traffic cannot', () => {
    const plan = planFromSpec({
      analysis: CanaryAnalysis.parse({ stepWeight: 25, metrics: [{ name: 'request-success-rate' }] }),
      progressDeadlineSeconds: 600,
    });
    const sim = new Simulation(plan);
    sim.initialize('rev-1');
    sim.world.canary = 'notReady';
    sim.observe({ type: 'REVISION', revision: 'rev-2' });
    sim.tick();
    const firstWait = written(sim);
    expect(firstWait.message).toBe('waiting for the canary to become ready');
    sim.tick();
    const secondWait = written(sim);
    expect(canWait(mergePatchDiff(firstWait, secondWait))).toBe(true);

    sim.world.canary = 'ready';
    sim.observe({ type: 'READINESS', canary: 'ready', primary: 'ready' });
    const ready = written(sim);
    expect(canWait(mergePatchDiff(secondWait, ready))).toBe(true);
    sim.tick();
    const advanced = written(sim);
    expect(advanced.canaryWeight).toBe(25);
    expect(canWait(mergePatchDiff(ready, advanced))).toBe(false);
  });
});
