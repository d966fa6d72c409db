import type { TestProject } from 'vitest/node';
import { down, env, recordedPids, up } from '../../src/dev/cluster.ts';
import { killAllSync } from '../../src/dev/process.ts';
import { consoleProgress } from '../../src/dev/progress.ts';
import type { SluiceTestEnv } from './env.ts';

/**
 * One real control plane + Prometheus for the whole integration run; every test file
 * works in a namespace of its own so files run in parallel.
 *
 * SLUICE_TEST_CLUSTER=<state dir> reuses a running `sluice dev up` cluster instead (fast
 * local iterations); it is left running afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.SLUICE_TEST_CLUSTER;
  let stateDir: string;
  let owned = false;
  let cluster;
  if (reuse) {
    cluster = await env(reuse);
    if (!cluster)
      throw new Error(
        `SLUICE_TEST_CLUSTER=${reuse}: no running local control plane there (sluice dev up --dir ${reuse})`,
      );
    stateDir = reuse;
  } else {
    stateDir = `.sluice/test-${process.pid}`;
    owned = true;
    const started = Date.now();
    cluster = await up({ stateDir, progress: consoleProgress() });
    process.stderr.write(
      `integration control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
    // If the runner dies without teardown, don't leave the processes behind.
    process.once('exit', () => killAllSync(recordedPids(stateDir)));
  }
  const provided: SluiceTestEnv = {
    kubeconfig: cluster.kubeconfig,
    prometheusUrl: cluster.prometheusUrl,
    prometheusTargetsDir: cluster.prometheusTargetsDir,
    stateDir: cluster.stateDir,
  };
  project.provide('sluiceEnv', provided);
  return async () => {
    if (owned) await down(stateDir);
  };
}
