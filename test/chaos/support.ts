import { afterAll, beforeAll, expect } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { startChaosEnv, type ChaosEnv } from '../../bench/chaos/env.ts';
import { testEnv } from '../support/env.ts';

// The chaos scenarios (bench/chaos) on the suite's control plane, in small, seeded slices:
// never the faults that kill the shared control plane's own processes.

/** The figures of a run in which every invariant held: the zero counts of issue 16's targets. */
export const CLEAN_RUN = {
  wrong_outcomes: 0,
  violations: 0,
  repeated_side_effects: 0,
  skipped_steps: 0,
  unclean_exits: 0,
} as const;

export function useChaosEnv(name: string): { env: ChaosEnv } {
  const holder = { env: undefined as unknown as ChaosEnv };
  beforeAll(async () => {
    holder.env = await startChaosEnv({ name, progress: silentProgress, cluster: testEnv() });
  });
  afterAll(async () => holder.env?.stop());
  return holder;
}

/** A rollout scenario's run found no failure, and every invariant held. */
export function expectClean(run: { failures: string[]; figures: Record<string, unknown> }): void {
  expect(run.failures).toEqual([]);
  expect(run.figures).toMatchObject(CLEAN_RUN);
}
