import { describe, expect, it } from 'vitest';
import { killRun } from '../../bench/chaos/kill.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- kill` in a slice: one canary of each kind (healthy, bad, gated, A/B),
// the controller SIGKILLed 5 times (seed 7) and restarted after 0–2 s.

const chaos = useChaosEnv('kill');

describe('chaos: SIGKILL the controller across concurrent rollouts', () => {
  it('ends every rollout by its metrics, with every invariant held and no step repeated or skipped', async () => {
    const figures = await chaos.clean(killRun, {
      kills: 5,
      seed: 7,
      canaries: 4,
      maxRestartDelayS: 2,
      interval: '10s',
      roundTimeoutS: 300,
      timeoutS: 300,
    });
    expect(figures.kills).toBe(5);
    expect(figures.rollouts).toBeGreaterThanOrEqual(4);
  }, 600_000);
});
