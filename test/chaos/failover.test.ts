import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { failoverRun } from '../../bench/chaos/failover.ts';
import { expectClean, useChaosEnv } from './support.ts';

// `npm run chaos -- failover` in a slice: two replicas, the leader SIGKILLed twice. (The suite's
// control plane keeps no audit log, so writes by the non-leader are counted by `npm run chaos`.)

const chaos = useChaosEnv('failover');

describe('chaos: leader failover', () => {
  it('hands the Lease over each time and the rollouts go on', async () => {
    const run = await failoverRun(
      chaos.env,
      {
        kills: 2,
        seed: 5,
        canaries: 2,
        leaseDuration: '5s',
        maxRestartDelayS: 2,
        interval: '10s',
        timeoutS: 300,
      },
      silentProgress,
    );
    expectClean(run);
    expect(run.figures.kills).toBe(2);
  }, 600_000);
});
