import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { fuzzRun } from '../../bench/chaos/fuzz.ts';
import { useChaosEnv } from './support.ts';

// `npm run chaos -- fuzz` in a slice: 100 hostile objects (seed 3) while a healthy canary
// rolls out and two canaries evaluate CEL bombs. Its steps may come up to three intervals
// late here (the suite runs files side by side on two cores); `npm run chaos -- fuzz` holds
// them to one.

const chaos = useChaosEnv('fuzz');

describe('chaos: malformed and hostile objects', () => {
  it('refuses or stalls each naming the field, never crashes, and keeps the healthy canary on schedule', async () => {
    const run = await fuzzRun(
      chaos.env,
      { cases: 100, seed: 3, interval: '10s', concurrency: 4, lagLimitIntervals: 3 },
      silentProgress,
    );
    expect(run.failures).toEqual([]);
    expect(run.figures.cases).toBe(100);
    expect(run.figures).toMatchObject({
      crashes: 0,
      unanswered: 0,
      without_field: 0,
      healthy_succeeded: 1,
      violations: 0,
    });
    expect(run.figures.rejected).toBeGreaterThan(0);
  }, 600_000);
});
