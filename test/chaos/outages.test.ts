import { describe, expect, it } from 'vitest';
import { outagesRun } from '../../bench/chaos/outages.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- outages` in a slice, the faults that leave the shared control plane alone:
// Prometheus answering nothing, a hanging webhook, Slack down.

const chaos = useChaosEnv('outages');

describe('chaos: outages mid-rollout', () => {
  it('survives each fault and ends each rollout by the rules', async () => {
    const figures = await chaos.run(outagesRun, {
      only: ['prometheus-empty', 'webhook-hangs', 'slack-down'],
      interval: '10s',
    });
    expect(figures).toMatchObject({ faults: 3, survived: 3, unclean_exits: 0 });
  }, 900_000);
});
