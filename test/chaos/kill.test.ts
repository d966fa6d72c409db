import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { killRun } from '../../bench/chaos/kill.ts';
import { expectClean, useChaosEnv } from './support.ts';

// `npm run chaos -- kill` in a slice: one canary of each kind (healthy, bad, gated, A/B),
// the controller SIGKILLed 5 times (seed 7) and restarted after 0–2 s.

const chaos = useChaosEnv('kill');

describe('chaos: SIGKILL the controller across concurrent rollouts', () => {
  it('ends every rollout by its metrics, with every invariant held and no step repeated or skipped', async () => {
    const run = await killRun(
      chaos.env,
      {
        kills: 5,
        seed: 7,
        canaries: 4,
        maxRestartDelayS: 2,
        interval: '10s',
        roundTimeoutS: 300,
        timeoutS: 300,
      },
      silentProgress,
    );
    expectClean(run);
    expect(run.figures.kills).toBe(5);
    expect(run.figures.rollouts).toBeGreaterThanOrEqual(4);
  }, 600_000);
});
