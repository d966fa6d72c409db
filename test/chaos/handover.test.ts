import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { handoverRun } from '../../bench/chaos/handover.ts';
import { expectClean, useChaosEnv } from './support.ts';

// `npm run chaos -- handover` in a slice: two shards (--shard a and the unsharded replica), each
// leading on its own Lease, Canaries relabelled between them in a loop during rollouts. (The
// suite's control plane keeps no audit log, so two shards writing for one Canary at once are
// looked for by `npm run chaos`; here the receiver's record of hooks and step events says
// whether a step was repeated or skipped.)

const chaos = useChaosEnv('handover');

describe('chaos: shard handover', () => {
  it('hands relabelled Canaries over mid-rollout without repeating a step, and every rollout ends right', async () => {
    const run = await handoverRun(
      chaos.env,
      { relabels: 12, seed: 3, canaries: 4, leaseDuration: '5s', interval: '10s', timeoutS: 240 },
      silentProgress,
    );
    expectClean(run);
    expect(run.figures.relabels).toBe(12);
    expect(run.figures.relabels_mid_rollout).toBeGreaterThan(0);
  }, 600_000);
});
