import { afterAll, beforeAll } from 'vitest';
import { silentProgress } from '../../src/dev/progress.ts';
import { startChaosEnv, type ChaosEnv } from '../../bench/chaos/env.ts';
import { testEnv } from '../support/env.ts';

// The chaos scenarios (bench/chaos) on the suite's control plane, in small, seeded slices:
// never the faults that kill the shared control plane's own processes.

export function useChaosEnv(name: string): { env: ChaosEnv } {
  const holder = { env: undefined as unknown as ChaosEnv };
  beforeAll(async () => {
    holder.env = await startChaosEnv({ name, progress: silentProgress, cluster: testEnv() });
  });
  afterAll(async () => holder.env?.stop());
  return holder;
}
