import { describe, expect, it } from 'vitest';
import { handoverRun } from '../../bench/chaos/handover.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- handover` in a slice: two shards (--shard a and the unsharded replica), each
// leading on its own Lease, Canaries relabelled between them in a loop during rollouts. (The
// suite's control plane keeps no audit log, so two shards writing for one Canary at once are
// looked for by `npm run chaos`; here the receiver's record of hooks and step events says
// whether a step was repeated or skipped.)

const chaos = useChaosEnv('handover');

describe('chaos: shard handover', () => {
  it('hands relabelled Canaries over mid-rollout without repeating a step, and every rollout ends right', async () => {
    const figures = await chaos.clean(handoverRun, {
      relabels: 12,
      seed: 3,
      canaries: 4,
      leaseDuration: '5s',
      interval: '10s',
      timeoutS: 240,
    });
    expect(figures.relabels).toBe(12);
    expect(figures.relabels_mid_rollout).toBeGreaterThan(0);
  }, 600_000);
});
