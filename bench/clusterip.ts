import { get } from 'node:https';
import { resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { down, up } from '../src/dev/cluster.ts';
import type { Progress } from '../src/dev/progress.ts';
import { apply, connect, loadKubeConfig, type Kube } from '../src/kube/client.ts';
import {
  BENCH_APISERVER_ARGS,
  BENCH_CONTROLLER_MANAGER_ARGS,
  BENCH_EMULATED_VERSION,
  BENCH_SCHEDULER_ARGS,
  createNamespace,
} from './harness.ts';
import { parsePrometheusText, sumOf } from './prom-text.ts';
import { mapLimit, percentile } from './stats.ts';
import type { Figures } from './report.ts';

// `clusterip`: how fast the benchmarks' control plane creates ClusterIP Services, alone or
// while Deployments are applied beside them (as in a bootstrap of thousands of canaries), with
// one ClusterIP allocator or the other; the one variable between the two is the allocator:
// - ipaddress: an IPAddress object per ClusterIP (MultiCIDRServiceAllocator), created through
//   the apiserver's own API under one lock: what kube-apiserver 1.36 does, locked on;
// - bitmap: one etcd key holding the range, the allocator before it, which the control plane
//   can still choose while it emulates 1.33 (the benchmarks' setting, bench/harness.ts).
// Both emulate 1.33 so that nothing else differs.

export type Allocator = 'ipaddress' | 'bitmap';

export interface ClusterIpOptions {
  services: number;
  deployments: number;
  concurrency: number;
  allocator: Allocator;
  keep: boolean;
}

/** The apiserver flags of each allocator (`ipaddress` without the 1.33 dual write to the bitmap, as 1.36). */
export function allocatorArgs(allocator: Allocator): string[] {
  return allocator === 'bitmap'
    ? BENCH_APISERVER_ARGS
    : [...BENCH_EMULATED_VERSION, '--feature-gates=DisableAllocatorDualWrite=true'];
}

/** The apiserver's /metrics, read as the admin of the kubeconfig. */
async function apiserverMetrics(kc: KubeConfig): Promise<string> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig: the current context has no cluster server');
  const options: { timeout: number } = { timeout: 30_000 };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolveText, reject) => {
    const request = get(`${server}/metrics`, options, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        response.statusCode === 200
          ? resolveText(body)
          : reject(new Error(`kube-apiserver /metrics: HTTP ${response.statusCode ?? 0}`)),
      );
    });
    request.on('timeout', () => request.destroy(new Error('kube-apiserver /metrics: no answer in 30 s')));
    request.on('error', reject);
  });
}

const deployment = (i: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `load-${i}`, namespace: 'clusterip' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: `load-${i}` } },
    template: {
      metadata: { labels: { app: `load-${i}` } },
      spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
    },
  },
});

const service = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `svc-${i}`, namespace: 'clusterip' },
  spec: { type: 'ClusterIP', selector: { app: `svc-${i}` }, ports: [{ port: 80, targetPort: 8080 }] },
});

/** Applies `count` Services `concurrency` at once, each retried until created; their latencies. */
async function createServices(
  kube: Kube,
  options: ClusterIpOptions,
  update: (detail: string) => void,
): Promise<{ latenciesMs: number[]; failures: number }> {
  let done = 0;
  let failures = 0;
  const indices = Array.from({ length: options.services }, (_, i) => i);
  const latenciesMs = await mapLimit(indices, options.concurrency, async (i) => {
    const started = Date.now();
    // A Service whose allocation outlasts the request's 60 s comes back as a 504: count it, apply again.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await apply(kube, service(i), { fieldManager: 'kubectl' });
        break;
      } catch (error) {
        failures += 1;
        if (attempt === 5)
          throw new Error(`Service clusterip/svc-${i}: not created in 5 attempts`, { cause: error });
      }
    }
    done += 1;
    if (done % 50 === 0) update(`${done}/${options.services}, ${failures} failed attempts`);
    return Date.now() - started;
  });
  return { latenciesMs, failures };
}

export async function clusterIpRun(options: ClusterIpOptions, progress: Progress): Promise<Figures> {
  const stateDir = resolve('.sluice', `bench-clusterip-${options.allocator}`);
  await down(stateDir);
  const cluster = await up({
    stateDir,
    progress,
    nodes: Math.max(2, Math.ceil((options.deployments * 2) / 4000)),
    apiserverArgs: allocatorArgs(options.allocator),
    controllerManagerArgs: BENCH_CONTROLLER_MANAGER_ARGS,
    schedulerArgs: BENCH_SCHEDULER_ARGS,
  });
  try {
    const kc = loadKubeConfig(cluster.kubeconfig);
    const kube = connect(kc);
    await createNamespace(kube, 'clusterip');
    // The competing writes: Deployments 32 at once, with the ReplicaSets, pods, bindings and
    // status updates kube-controller-manager, kube-scheduler and kwok make of them. They start
    // 20 s ahead so the Services meet them in full flow.
    let applied = 0;
    let stop = false;
    const load = mapLimit(
      Array.from({ length: options.deployments }, (_, i) => i),
      32,
      async (i) => {
        if (stop) return;
        await apply(kube, deployment(i), { fieldManager: 'kubectl' });
        applied += 1;
      },
    );
    if (options.deployments > 0)
      await progress.step(
        'Deployments flowing (20 s head start)',
        () => new Promise((r) => setTimeout(r, 20_000)),
      );
    const appliedBefore = applied;
    const started = Date.now();
    const { latenciesMs, failures } = await progress.step(
      `creating ${options.services} ClusterIP Services, ${options.concurrency} at once (${options.allocator} allocator)`,
      (update) => createServices(kube, options, update),
    );
    const seconds = (Date.now() - started) / 1000;
    const appliedDuring = applied - appliedBefore;
    stop = true;
    await load;
    const metrics = parsePrometheusText(await apiserverMetrics(kc));
    const allocations = sumOf(
      metrics,
      'kube_apiserver_clusterip_allocator_allocation_duration_seconds_count',
    );
    const allocationSeconds = sumOf(
      metrics,
      'kube_apiserver_clusterip_allocator_allocation_duration_seconds_sum',
    );
    return {
      services_per_s: options.services / seconds,
      seconds,
      create_p50_ms: percentile(latenciesMs, 50),
      create_p99_ms: percentile(latenciesMs, 99),
      failed_attempts: failures,
      deployments_applied_meanwhile: appliedDuring,
      ...(allocations > 0 ? { allocation_mean_ms: (allocationSeconds / allocations) * 1000 } : {}),
    };
  } finally {
    if (options.keep) progress.info(`control plane left running in ${stateDir} (--keep)`);
    else await down(stateDir);
  }
}
