import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { addAdmins, down, installCrds, recordedPids, up, type ClusterEnv } from '../src/dev/cluster.ts';
import { killAllSync } from '../src/dev/process.ts';
import type { Progress } from '../src/dev/progress.ts';
import {
  apply,
  connect,
  isAlreadyExists,
  isNotFound,
  loadKubeConfig,
  type Kube,
} from '../src/kube/client.ts';
import { auditApiserverArgs, auditPolicy } from './audit.ts';
import { buildSluice } from './controllers.ts';
import { BenchExporter } from './exporter.ts';
import { ensureFlagger, indentQuotedContinuations, type FlaggerBuild } from './flagger.ts';
import type { ControllerKind } from './fixtures.ts';
import { mapLimit } from './stats.ts';

// The benchmarks' control plane: the project's local harness (kube-apiserver, etcd,
// controller-manager, scheduler, kwok, Prometheus) in .sluice/bench-<name>, with an audit
// log of the benchmarked controllers' requests, one client identity per controller, and the
// Istio series exporter registered with Prometheus.

/** The identity (client-certificate CN) each controller runs under; the audit log filters on it. */
export const CONTROLLER_USER: Record<ControllerKind, string> = {
  sluice: 'sluice-bench',
  flagger: 'flagger-bench',
};

/**
 * The ClusterIP allocator of the benchmarks' control plane (docs/performance.md, "Idle at
 * scale"): kube-apiserver 1.36's allocator (MultiCIDRServiceAllocator, locked on since 1.34)
 * creates an IPAddress object through the apiserver's own API for each ClusterIP, under one
 * lock; with the apiserver busy with a bootstrap's other writes that came to 0.5–5 Services a
 * second here, and each canary needs three. The whole control plane emulates 1.33 (1.36 goes
 * back that far), where that allocator can still be turned off for the bitmap one (one etcd
 * key): 12.5 Services a second under the same load. Kube-controller-manager and
 * kube-scheduler emulate 1.33 too, or they wait on 1.34's APIs (resource.k8s.io/v1) that the
 * apiserver then does not serve. Sluice's CRDs (CEL rules) and server-side apply are the same
 * at 1.33.
 */
export const BENCH_EMULATED_VERSION = ['--emulated-version=1.33'];
export const BENCH_APISERVER_ARGS = [
  ...BENCH_EMULATED_VERSION,
  '--feature-gates=MultiCIDRServiceAllocator=false',
];

/**
 * Test-bed settings of the benchmarks' control plane, not of Sluice: what the one 2-core machine
 * needs so that thousands of Deployments, ReplicaSets and pods are created in minutes, not hours
 * (docs/performance.md, "Bootstrapping thousands of canaries"). Measured at 1000 canaries:
 * - kube-controller-manager's deployment workers wait on the apiserver (0.2–0.6 s a write
 *   here), not on CPU: 10 workers left 1600 Deployments queued; 50 keep the apiserver busy.
 * - its 1.36 consistency check (StaleControllerConsistencyReplicaSet, beta) fails a ReplicaSet
 *   sync while its informer lags its own write, and every retry of every ReplicaSet shares one
 *   10-a-second bucket: 2000 such failures for 1000 canaries here.
 * - kube-scheduler binds with a client limited to 50 requests a second (a binding and an Event
 *   per pod); the harness gives kube-controller-manager 200, the scheduler gets as much.
 */
export const BENCH_CONTROLLER_MANAGER_ARGS = [
  '--concurrent-deployment-syncs=50',
  '--concurrent-replicaset-syncs=50',
  '--kube-api-qps=500',
  '--kube-api-burst=1000',
  // Emulating 1.33 (BENCH_EMULATED_VERSION) also turns off its 1.36 consistency check
  // (StaleControllerConsistencyReplicaSet, not yet in 1.33; naming the gate is then refused).
  ...BENCH_EMULATED_VERSION,
];
export const BENCH_SCHEDULER_ARGS = ['--kube-api-qps=200', '--kube-api-burst=400', ...BENCH_EMULATED_VERSION];

export interface BenchEnv {
  name: string;
  cluster: ClusterEnv;
  /** Admin client for the benchmark's own reads and writes (not counted). */
  kube: Kube;
  kubeconfigs: Record<ControllerKind, string>;
  auditLog: string;
  exporter: BenchExporter;
  flagger: FlaggerBuild | undefined;
  /** The compiled `sluice` entry point (bin/sluice.js over dist/). */
  sluiceEntry: string;
  progress: Progress;
  logDir: string;
  stop(): Promise<void>;
}

export async function startBenchEnv(options: {
  name: string;
  progress: Progress;
  withFlagger: boolean;
  keep: boolean;
  nodes?: number;
}): Promise<BenchEnv> {
  const { progress } = options;
  const stateDir = resolve('.sluice', `bench-${options.name}`);
  // Always a fresh control plane: figures must not depend on what an earlier run left behind.
  await down(stateDir);
  const auditDir = join(stateDir, 'audit');
  await mkdir(auditDir, { recursive: true });
  const policy = join(auditDir, 'policy.json');
  const auditLog = join(auditDir, 'audit.log');
  await writeFile(policy, auditPolicy(Object.values(CONTROLLER_USER)));
  // Flagger first: a cold build takes minutes and needs no cluster.
  const flagger = options.withFlagger ? await ensureFlagger(progress) : undefined;
  const sluiceEntry = await buildSluice(progress);
  const cluster = await up({
    stateDir,
    progress,
    nodes: options.nodes ?? 2,
    apiserverArgs: [...auditApiserverArgs(policy, auditLog), ...BENCH_APISERVER_ARGS],
    controllerManagerArgs: BENCH_CONTROLLER_MANAGER_ARGS,
    schedulerArgs: BENCH_SCHEDULER_ARGS,
  });
  if (!options.keep) process.once('exit', () => killAllSync(recordedPids(stateDir)));
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  if (flagger) {
    await progress.step(`installing Flagger ${flagger.version} CRDs (flagger.app)`, async () => {
      const fixed = join(stateDir, 'flagger-crds.yaml');
      await writeFile(fixed, indentQuotedContinuations(await readFile(flagger.crds, 'utf8')));
      await installCrds(kc, [fixed]);
    });
  }
  const kubeconfigs = await addAdmins(stateDir, CONTROLLER_USER);
  const exporter = new BenchExporter();
  await exporter.start(cluster.prometheusTargetsDir);
  const logDir = join(stateDir, 'logs', 'bench');
  await mkdir(logDir, { recursive: true });
  return {
    name: options.name,
    cluster,
    kube: connect(loadKubeConfig(cluster.kubeconfig)),
    kubeconfigs,
    auditLog,
    exporter,
    flagger,
    sluiceEntry,
    progress,
    logDir,
    async stop() {
      await exporter.stop();
      if (options.keep) progress.info(`control plane left running in ${stateDir} (--keep)`);
      else await down(stateDir);
    },
  };
}

export async function createNamespace(kube: Kube, name: string): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name, labels: { 'bench.sluice.dev': 'true' } } } });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/** Deletes a namespace and waits until the namespace controller has emptied and removed it. */
export async function deleteNamespace(kube: Kube, name: string, progress: Progress): Promise<void> {
  await progress.step(`deleting namespace ${name}`, async () => {
    try {
      await kube.core.deleteNamespace({ name });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    const deadline = Date.now() + 15 * 60_000;
    while (Date.now() < deadline) {
      try {
        await kube.core.readNamespace({ name });
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`namespace ${name} still exists after 15 minutes`);
  });
}

/** Applies many objects as a person would (field manager kubectl), a bounded number at once. */
export async function applyAll(
  kube: Kube,
  objects: readonly object[],
  progress: Progress,
  title: string,
  concurrency = 16,
): Promise<number[]> {
  return progress.step(title, async (update) => {
    let done = 0;
    return mapLimit(objects, concurrency, async (object) => {
      await apply(kube, object as Parameters<typeof apply>[1], { fieldManager: 'kubectl' });
      done += 1;
      if (done % 50 === 0) update(`${done}/${objects.length}`);
      return Date.now();
    });
  });
}
