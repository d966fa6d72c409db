import type { ControllerKind } from './fixtures.ts';
import { workloadNames } from './fixtures.ts';
import { startFleet } from './fleet.ts';
import type { BenchEnv } from './harness.ts';
import { loadAverage } from './proc.ts';
import type { Figures } from './report.ts';
import { median } from './stats.ts';
import { closeWindow, MB, openWindow, verbFigures, type WindowResult } from './window.ts';

// `idle`: N canaries Initialized with nothing to do; what the controller costs at rest.

export interface IdleOptions {
  canaries: number;
  /** Measured idling, seconds. */
  durationS: number;
  warmupS: number;
  interval: string;
}

export interface IdleRun {
  controller: ControllerKind;
  round: number;
  namespace: string;
  load: number[];
  figures: Figures;
  requests: WindowResult['requests'];
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
  const fleet = await startFleet(env, {
    kind,
    namespace,
    names: workloadNames(n),
    analysis: { interval: options.interval, threshold: 5, stepWeight: 10, maxWeight: 50 },
    initTimeoutS: Math.max(300, n),
    warmupS: options.warmupS,
    concurrency: 16,
  });
  try {
    const start = await openWindow(env, fleet.controller, fleet.monitor);
    await progress.step(
      `idling ${options.durationS}s (measured)`,
      () => new Promise((r) => setTimeout(r, options.durationS * 1000)),
    );
    const window = await closeWindow(env, fleet.controller, fleet.monitor, start);
    const rss = fleet.monitor.samples
      .filter((s) => s.at >= window.from && s.at <= window.to)
      .map((s) => s.rssBytes);
    const minutes = window.seconds / 60;
    const figures: Figures = {
      rss_mb: median(rss) / MB,
      rss_max_mb: window.windowRssBytes / MB,
      rss_peak_mb: window.peakRssBytes / MB,
      cpu_s: window.cpuSeconds,
      cpu_pct: (100 * window.cpuSeconds) / window.seconds,
      api_requests_per_min: window.requests.total / minutes,
      api_writes_per_min: window.requests.writes / minutes,
      ...verbFigures(window.requests),
      prom_queries_per_min: window.promQueries / minutes,
      window_s: window.seconds,
      init_s: fleet.initSeconds,
    };
    return { controller: kind, round, namespace, load, figures, requests: window.requests };
  } finally {
    await fleet.teardown();
  }
}
