import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests next to the code (no I/O), and integration tests under
// test/ that share one real control plane + Prometheus started by the global setup.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'bench/**/*.test.ts', 'web/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Files run in parallel, each in its own namespace; two cores, so keep it modest.
          maxWorkers: 3,
        },
      },
    ],
  },
});
