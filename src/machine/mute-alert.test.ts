import { describe, expect, it } from 'vitest';
import { CanaryAnalysis } from '../api/canary.ts';
import { planFromSpec } from './plan.ts';
import { Simulation } from '../../test/support/simulate.ts';

// webhooks[].muteAlert (Flagger's): a failed check from hooks that all have it is still an
// Event and a failed check, but its notification is marked muted, so chat is not told.

const plan = planFromSpec({
  analysis: CanaryAnalysis.parse({
    stepWeight: 50,
    threshold: 3,
    webhooks: [{ name: 'load', type: 'rollout', url: 'http://load.test/', muteAlert: true }],
  }),
});

function haltAfterFailedHook(mutedHooks: ('rollout' | 'pre-rollout')[]) {
  const sim = new Simulation(plan, { world: { hooks: { rollout: false }, mutedHooks } });
  sim.initialize('rev-1');
  sim.observe({ type: 'REVISION', revision: 'rev-2' });
  sim.tick();
  sim.tick();
  const halt = sim.log
    .flatMap((entry) => entry.issued)
    .filter((e) => e.kind === 'notify' && e.message.startsWith('halt advancement'));
  return { sim, halt };
}

describe('muteAlert', () => {
  it('marks the notification of a check failed by muted hooks as muted; the Event stays', () => {
    const { sim, halt } = haltAfterFailedHook(['rollout']);
    expect(halt.length).toBeGreaterThan(0);
    expect(halt.every((effect) => effect.kind === 'notify' && effect.muted === true)).toBe(true);
    expect(sim.events().some((event) => event.includes('halt advancement: failed checks 1/3'))).toBe(true);
  });

  it('leaves the notification of a hook without muteAlert as it is', () => {
    const { halt } = haltAfterFailedHook([]);
    expect(halt.length).toBeGreaterThan(0);
    expect(halt.some((effect) => effect.kind === 'notify' && effect.muted)).toBe(false);
  });
});
