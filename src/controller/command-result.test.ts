import { describe, expect, it } from 'vitest';
import { CanaryAnalysis } from '../api/canary.ts';
import { COMMAND_ACCEPTED, commandResult } from '../api/commands.ts';
import { planFromSpec } from '../machine/plan.ts';
import { Simulation } from '../../test/support/simulate.ts';

// status.lastCommand.result comes from the effects of the step a command was fed into: the
// machine's own CommandIgnored Event when it did not fit the phase, Accepted otherwise.

describe('commandResult', () => {
  const plan = planFromSpec({ analysis: CanaryAnalysis.parse({ stepWeight: 50 }) });

  it('is the machine’s reason when it ignores the command', () => {
    const sim = new Simulation(plan, { now: Date.UTC(2025, 0, 1) });
    sim.initialize('rev-1');
    expect(sim.phase).toBe('Initialized');
    const step = sim.send({ type: 'MANUAL', command: 'abort' });
    expect(commandResult(step.issued)).toBe('abort ignored: the canary is Initialized');
  });

  it('is Accepted when the machine acts on it', () => {
    const sim = new Simulation(plan, { now: Date.UTC(2025, 0, 1) });
    sim.initialize('rev-1');
    sim.observe({ type: 'REVISION', revision: 'rev-2' });
    sim.tick();
    const step = sim.send({ type: 'MANUAL', command: 'pause' });
    expect(commandResult(step.issued)).toBe(COMMAND_ACCEPTED);
  });
});
