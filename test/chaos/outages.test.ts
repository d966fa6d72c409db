import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { outagesRun } from '../../bench/chaos/outages.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- outages` in a slice, the faults that leave the shared control plane alone:
// Prometheus answering nothing, a hanging webhook, Slack down.

const chaos = useChaosEnv('outages');

describe('chaos: outages mid-rollout', () => {
  it('survives each fault and ends each rollout by the rules', async () => {
    const run = await outagesRun(
      chaos.env,
      { only: ['prometheus-empty', 'webhook-hangs', 'slack-down'], interval: '10s' },
      silentProgress,
    );
    expect(run.failures).toEqual([]);
    expect(run.figures).toMatchObject({ faults: 3, survived: 3, unclean_exits: 0 });
  }, 900_000);
});
