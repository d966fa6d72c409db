import { HttpMethod } from '@kubernetes/client-node';
import { tallyAuditLog, type RequestTally } from './audit.ts';
import { killProcess } from './chaos/faults.ts';
import { startController, type ControllerProcess } from './controllers.ts';
import type { ControllerKind } from './fixtures.ts';
import { workloadNames } from './fixtures.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { CONTROLLER_USER, type BenchEnv } from './harness.ts';
import { until } from './observer.ts';
import { loadAverage, ProcessMonitor } from './proc.ts';
import { sumOf, type Sample } from './prom-text.ts';
import type { Figures } from './report.ts';
import { median } from './stats.ts';
import { closeWindow, MB, openWindow, type WindowResult } from './window.ts';

// `idle`: N canaries Initialized with nothing to do; what the controller costs at rest. Then,
// on the same fleet:
// - relist: the apiserver killed and started again; what the controller's watches cost to
//   recover (lists, and no status writes: nothing changed);
// - cold start: the controller stopped and started again over N Initialized canaries, the time
//   until it is ready and what it asks of the apiserver in the minute after;
// - first step: a new revision of one canary, the time until its status says Progressing
//   (the rollout's first step) and until its first weight, with the N − 1 others idle.

export interface IdleOptions {
  canaries: number;
  /** Measured idling, seconds. */
  durationS: number;
  warmupS: number;
  interval: string;
  /** Length of the relist and cold-start windows, seconds. */
  afterS: number;
  /** Leave the namespace (and the fleet in it) to the control plane's teardown. */
  keepNamespace?: boolean;
}

export interface IdleRun {
  controller: ControllerKind;
  round: number;
  namespace: string;
  load: number[];
  figures: Figures;
  requests: WindowResult['requests'];
  relistRequests: RequestTally;
  coldRequests: RequestTally;
}

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Simulated nodes for N canaries: a target and a primary pod each while they bootstrap, 4000 a node (kwok's nodes take 5000). */
export function idleNodes(canaries: number): number {
  return Math.max(2, Math.ceil((canaries * 2) / 4000));
}

/** Requests per minute, all and by verb: `<prefix>`, `<prefix>_get`, … */
export function perMinute(prefix: string, tally: RequestTally, seconds: number): Figures {
  const minutes = seconds / 60;
  const figures: Figures = { [prefix]: tally.total / minutes };
  for (const verb of VERBS) figures[`${prefix}_${verb}`] = (tally.byVerb[verb] ?? 0) / minutes;
  return figures;
}

/** Growth of a counter between two scrapes of the controller's /metrics (Sluice only). */
function counterDelta(before: Sample[], after: Sample[], name: string): number {
  return sumOf(after, name) - sumOf(before, name);
}

async function requestsBetween(env: BenchEnv, kind: ControllerKind, from: number, to: number) {
  // The audit line of a request is written when its response completes: give the last ones a moment.
  await sleep(1500);
  return tallyAuditLog(env.auditLog, { user: CONTROLLER_USER[kind], from, to });
}

/** The idle window: memory, CPU, requests, queries, and Sluice's reconciles and ticks (none expected). */
async function idleWindow(env: BenchEnv, fleet: Fleet, options: IdleOptions) {
  const start = await openWindow(env, fleet.controller, fleet.monitor);
  await env.progress.step(`idling ${options.durationS}s (measured)`, () => sleep(options.durationS * 1000));
  const window = await closeWindow(env, fleet.controller, fleet.monitor, start);
  const rss = fleet.monitor.samples
    .filter((s) => s.at >= window.from && s.at <= window.to)
    .map((s) => s.rssBytes);
  const minutes = window.seconds / 60;
  const { controllerBefore: before, controllerAfter: after } = window;
  const figures: Figures = {
    rss_mb: median(rss) / MB,
    rss_max_mb: window.windowRssBytes / MB,
    rss_peak_mb: window.peakRssBytes / MB,
    cpu_s: window.cpuSeconds,
    cpu_pct: (100 * window.cpuSeconds) / window.seconds,
    ...perMinute('api_rpm', window.requests, window.seconds),
    api_requests_per_min: window.requests.total / minutes,
    api_writes_per_min: window.requests.writes / minutes,
    prom_queries_per_min: window.promQueries / minutes,
    // Per-canary work while idle (Sluice's own counters): every reconcile and scheduler tick.
    ...(before && after
      ? {
          reconciles: counterDelta(before, after, 'sluice_reconcile_duration_seconds_count'),
          ticks: counterDelta(before, after, 'sluice_tick_lag_seconds_count'),
        }
      : {}),
    window_s: window.seconds,
  };
  return { figures, requests: window.requests };
}

/** The apiserver SIGKILLed and started again after `downS`; the controller's requests over `afterS` from then. */
async function relist(env: BenchEnv, fleet: Fleet, options: IdleOptions) {
  const { progress, kube } = env;
  const restart = await progress.step('killing kube-apiserver', () =>
    killProcess(env.cluster.stateDir, 'apiserver'),
  );
  await sleep(5000);
  const from = Date.now();
  await restart();
  const up = await progress.step('waiting for kube-apiserver', () =>
    until(
      () =>
        kube.wire.request(HttpMethod.GET, '/api/v1/namespaces/default').then(
          () => true,
          () => false,
        ),
      120_000,
      { everyMs: 250 },
    ),
  );
  if (!up) throw new Error('kube-apiserver did not come back within 120s after the relist restart');
  const upMs = Date.now() - from;
  const cpuBefore = (await fleet.monitor.sample()).cpuSeconds;
  await progress.step(`watching the relist ${options.afterS}s (measured)`, () =>
    sleep(options.afterS * 1000),
  );
  const to = Date.now();
  const sample = await fleet.monitor.sample();
  const requests = await requestsBetween(env, fleet.kind, from, to);
  const seconds = (to - from) / 1000;
  return {
    figures: {
      relist_apiserver_up_ms: upMs,
      relist_requests: requests.total,
      relist_lists: requests.byVerb.list ?? 0,
      relist_writes: requests.writes,
      relist_cpu_s: sample.cpuSeconds - cpuBefore,
      relist_rss_max_mb: fleet.monitor.maxRssBetween(from, to) / MB,
      relist_window_s: seconds,
    },
    requests,
  };
}

/** The controller stopped and started again over the Initialized fleet: time to ready, then `afterS` measured. */
async function coldStart(env: BenchEnv, fleet: Fleet, options: IdleOptions) {
  const { progress } = env;
  await progress.step(`stopping ${fleet.kind}`, () => fleet.controller.stop());
  const from = Date.now();
  const controller = await progress.step(
    `starting ${fleet.kind} again over ${options.canaries} canaries`,
    () => startController(env, fleet.kind, fleet.namespace),
  );
  const readyMs = Date.now() - from;
  const monitor = new ProcessMonitor(controller.pid);
  monitor.start(1000);
  await progress.step(`after the cold start ${options.afterS}s (measured)`, () =>
    sleep(options.afterS * 1000),
  );
  const to = Date.now();
  const sample = await monitor.sample();
  const metrics = controller.kind === 'sluice' ? await controller.metrics() : undefined;
  const requests = await requestsBetween(env, fleet.kind, from, to);
  monitor.stop();
  return {
    controller,
    monitor,
    figures: {
      cold_ready_ms: readyMs,
      cold_requests: requests.total,
      cold_lists: requests.byVerb.list ?? 0,
      cold_writes: requests.writes,
      cold_cpu_s: sample.cpuSeconds,
      cold_rss_peak_mb: sample.peakRssBytes / MB,
      ...(metrics ? { cold_reconciles: sumOf(metrics, 'sluice_reconcile_duration_seconds_count') } : {}),
      cold_window_s: (to - from) / 1000,
    },
    requests,
  };
}

/** A new revision of one canary: ms until its status says Progressing, and until its first weight. */
async function firstStep(env: BenchEnv, fleet: Fleet): Promise<Figures> {
  const name = fleet.names[0]!; // the one workload the exporter serves series for
  const timeline = () => fleet.observer.timelines.get(name) ?? [];
  const since = Date.now();
  await fleet.revise([name], 1, `a new revision of ${name}`);
  const first = (test: (state: { phase: string; weight: number }) => boolean) =>
    timeline().find((state) => state.at >= since && test(state))?.at;
  await env.progress.step(`waiting for ${name}'s first weight`, () =>
    until(() => first((s) => s.weight > 0) !== undefined, 120_000, { everyMs: 100 }),
  );
  const progressing = first((s) => s.phase === 'Progressing');
  const weighted = first((s) => s.weight > 0);
  if (weighted === undefined) {
    // Say where it waited (the status' own words), or the run's log cannot tell why.
    const said = timeline()
      .filter((state) => state.at >= since)
      .map((state) => `+${state.at - since} ms ${state.phase}: ${state.message ?? ''}`);
    env.progress.info(`${name} had no weight 120 s after its new revision; its status since:\n${said.join('\n')}`);
  }
  return {
    first_step_ms: progressing === undefined ? Number.NaN : progressing - since,
    first_weight_ms: weighted === undefined ? Number.NaN : weighted - since,
  };
}

export async function idleRun(
  env: BenchEnv,
  kind: ControllerKind,
  round: number,
  options: IdleOptions,
): Promise<IdleRun> {
  const { progress } = env;
  const n = options.canaries;
  const namespace = `idle-${kind}-${round}`;
  const load = await loadAverage();
  progress.info(`— idle: ${kind}, ${n} canaries, round ${round + 1} (load ${load.join(' ')})`);
  const names = workloadNames(n);
  const fleet = await startFleet(env, {
    kind,
    namespace,
    names,
    // Only the canary given a new revision is analysed (firstStep); series for the N − 1 idle
    // ones would be the exporter's and Prometheus' work, not the controller's (12 series each,
    // scraped every second: 120 000 at 10 000 canaries).
    exported: names.slice(0, 1),
    analysis: { interval: options.interval, threshold: 5, stepWeight: 10, maxWeight: 50 },
    // Bootstrap waits on the shared apiserver and kube-controller-manager: seconds, not a rate.
    initTimeoutS: Math.max(900, 3 * n),
    warmupS: options.warmupS,
    concurrency: 16,
  });
  let restarted: ControllerProcess | undefined;
  try {
    const idle = await idleWindow(env, fleet, options);
    const relisted = await relist(env, fleet, options);
    const cold = await coldStart(env, fleet, options);
    restarted = cold.controller;
    const step = await firstStep(env, fleet);
    return {
      controller: kind,
      round,
      namespace,
      load,
      // The headline figures first on the key=value line.
      figures: {
        rss_mb: idle.figures.rss_mb!,
        api_rpm: idle.figures.api_rpm!,
        ...step,
        ...idle.figures,
        ...relisted.figures,
        ...cold.figures,
        init_s: fleet.initSeconds,
        rss_start_mb: fleet.startRssBytes / MB,
      },
      requests: idle.requests,
      relistRequests: relisted.requests,
      coldRequests: cold.requests,
    };
  } finally {
    await restarted?.stop();
    await fleet.teardown({ deleteNamespace: !options.keepNamespace });
  }
}
