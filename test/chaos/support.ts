import { afterAll, beforeAll, expect } from 'vitest';
import { silentProgress, type Progress } from '../../src/dev/progress.ts';
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

/** A scenario of bench/chaos: `npm run chaos -- <name>` runs the same function. */
type Scenario<O, F> = (
  env: ChaosEnv,
  options: O,
  progress: Progress,
) => Promise<{ failures: string[]; figures: F }>;

export interface Chaos {
  env: ChaosEnv;
  /** The figures of `scenario` run with `options` on this env; it found no failure. */
  run<O, F>(scenario: Scenario<O, F>, options: O): Promise<F>;
  /** The same, and every invariant held (CLEAN_RUN). */
  clean<O, F>(scenario: Scenario<O, F>, options: O): Promise<F>;
}

export function useChaosEnv(name: string): Chaos {
  const chaos: Chaos = {
    env: undefined as unknown as ChaosEnv,
    async run(scenario, options) {
      const run = await scenario(chaos.env, options, silentProgress);
      expect(run.failures).toEqual([]);
      return run.figures;
    },
    async clean(scenario, options) {
      const figures = await chaos.run(scenario, options);
      expect(figures).toMatchObject(CLEAN_RUN);
      return figures;
    },
  };
  beforeAll(async () => {
    chaos.env = await startChaosEnv({ name, progress: silentProgress, cluster: testEnv() });
  });
  afterAll(async () => chaos.env?.stop());
  return chaos;
}
