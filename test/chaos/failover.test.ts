import { describe, expect, it } from 'vitest';
import { failoverRun } from '../../bench/chaos/failover.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- failover` in a slice: two replicas, the leader SIGKILLed twice. (The suite's
// control plane keeps no audit log, so writes by the non-leader are counted by `npm run chaos`.)

const chaos = useChaosEnv('failover');

describe('chaos: leader failover', () => {
  it('hands the Lease over each time and the rollouts go on', async () => {
    const figures = await chaos.clean(failoverRun, {
      kills: 2,
      seed: 5,
      canaries: 2,
      leaseDuration: '5s',
      maxRestartDelayS: 2,
      interval: '10s',
      timeoutS: 300,
    });
    expect(figures.kills).toBe(2);
  }, 600_000);
});
