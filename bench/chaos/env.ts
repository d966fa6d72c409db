import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { down, recordedPids, up } from '../../src/dev/cluster.ts';
import { killAllSync } from '../../src/dev/process.ts';
import type { Progress } from '../../src/dev/progress.ts';
import { connect, isAlreadyExists, isNotFound, loadKubeConfig, type Kube } from '../../src/kube/client.ts';
import { BenchExporter } from '../exporter.ts';
import { timestamp } from '../report.ts';

// Where a chaos scenario runs: its own local control plane (`npm run chaos`, in
// .sluice/chaos-<name>) or the test suite's (test/chaos), plus the Istio series exporter the
// canaries' metrics come from.

export interface ChaosCluster {
  kubeconfig: string;
  prometheusUrl: string;
  prometheusTargetsDir: string;
  stateDir: string;
}

export interface ChaosEnv {
  cluster: ChaosCluster;
  kube: Kube;
  exporter: BenchExporter;
  /** Whether the scenario owns the control plane (and may kill its processes). */
  owned: boolean;
  logDir: string;
  stop(): Promise<void>;
}

export async function startChaosEnv(options: {
  name: string;
  progress: Progress;
  /** Use this control plane instead of starting one (not owned: never killed). */
  cluster?: ChaosCluster;
  apiserverArgs?: string[];
  keep?: boolean;
}): Promise<ChaosEnv> {
  let cluster = options.cluster;
  const owned = !cluster;
  const stateDir = cluster?.stateDir ?? resolve('.sluice', `chaos-${options.name}`);
  if (!cluster) {
    await down(stateDir);
    const started = await up({
      stateDir,
      progress: options.progress,
      ...(options.apiserverArgs ? { apiserverArgs: options.apiserverArgs } : {}),
    });
    if (!options.keep) process.once('exit', () => killAllSync(recordedPids(stateDir)));
    cluster = {
      kubeconfig: started.kubeconfig,
      prometheusUrl: started.prometheusUrl,
      prometheusTargetsDir: started.prometheusTargetsDir,
      stateDir: started.stateDir,
    };
  }
  const exporter = new BenchExporter({ fileName: `chaos-${options.name}-${randomBytes(3).toString('hex')}` });
  await exporter.start(cluster.prometheusTargetsDir);
  // Outside the state directory, which `down` removes: the controllers' logs outlive the run.
  const logDir = resolve('.sluice', 'chaos-logs', `${options.name}-${timestamp()}`);
  await mkdir(logDir, { recursive: true });
  return {
    cluster,
    kube: connect(loadKubeConfig(cluster.kubeconfig)),
    exporter,
    owned,
    logDir,
    async stop() {
      await exporter.stop();
      if (owned && !options.keep) await down(stateDir);
    },
  };
}

export async function createNamespace(kube: Kube, name: string): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name, labels: { 'chaos.sluice.dev': 'true' } } } });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/** Deletes a namespace without waiting for it to go (the next scenario uses a new one). */
export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  try {
    await kube.core.deleteNamespace({ name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A short random suffix for namespace names. */
export const suffix = () => randomBytes(3).toString('hex');
