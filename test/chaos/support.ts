import { afterAll, beforeAll, expect } from 'vitest';
import { silentProgress, type Progress } from '../../src/dev/progress.ts';
import { startChaosEnv, type ChaosEnv } from '../../bench/chaos/env.ts';
import { testEnv } from '../support/env.ts';

// The chaos scenarios (bench/chaos) on the suite's control plane, in small, seeded slices:
// never the faults that kill the shared control plane's own processes.

/** The figures of a run in which every invariant held. */
export const CLEAN_RUN = {
  wrong_outcomes: 0,
  violations: 0,
  repeated_side_effects: 0,
  skipped_steps: 0,
  unclean_exits: 0,
} as const;

export interface ChaosSlice {
  env: ChaosEnv;
  /** Runs a scenario in this environment without progress output; a slice must report no failures. */
  run<O, R extends { failures: unknown[] }>(
    scenario: (env: ChaosEnv, options: O, progress: Progress) => Promise<R>,
    options: O,
  ): Promise<R>;
}

export function useChaosEnv(name: string): ChaosSlice {
  const holder: ChaosSlice = {
    env: undefined as unknown as ChaosEnv,
    async run(scenario, options) {
      const run = await scenario(holder.env, options, silentProgress);
      expect(run.failures).toEqual([]);
      return run;
    },
  };
  beforeAll(async () => {
    holder.env = await startChaosEnv({ name, progress: silentProgress, cluster: testEnv() });
  });
  afterAll(async () => holder.env?.stop());
  return holder;
}

/** What every rollout scenario's figures must show: the zero counts of issue 16's targets. */
export const HELD = CLEAN_RUN;
