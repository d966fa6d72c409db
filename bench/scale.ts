import { parseDuration } from '../src/api/duration.ts';
import { workloadNames, type AnalysisOptions, type ControllerKind } from './fixtures.ts';
import { startFleet } from './fleet.ts';
import type { BenchEnv } from './harness.ts';
import { until } from './observer.ts';
import { loadAverage } from './proc.ts';
import { histogramBuckets } from './prom-text.ts';
import type { Figures } from './report.ts';
import { bucketDelta, histogramQuantile, median, summarize } from './stats.ts';
import { rolloutOutcome, stepLags, type Timeline } from './timeline.ts';
import { closeWindow, MB, openWindow, verbFigures, type WindowResult } from './window.ts';

// `scale`: N Deployments with N Canaries on one controller, then a new revision for all N at
// once; measured from the revision until every canary has finished (Succeeded or Failed).

export interface ScaleOptions {
  analysis: AnalysisOptions;
  /** Seconds of settling after every canary is Initialized, before the window opens (excluded). */
  warmupS: number;
  /** Give up waiting for the rollouts after this long (seconds). */
  timeoutS: number;
  /** Give up waiting for N Initialized canaries after this long (seconds). */
  initTimeoutS: number;
  concurrency: number;
}

export interface ScaleRun {
  controller: ControllerKind;
  n: number;
  round: number;
  namespace: string;
  load: number[];
  figures: Figures;
  requests: WindowResult['requests'];
  /** Timelines of a few canaries (the first and the slowest), times relative to their revision. */
  samples: Record<string, Timeline>;
}

export async function scaleRun(
  env: BenchEnv,
  kind: ControllerKind,
  n: number,
  round: number,
  options: ScaleOptions,
): Promise<ScaleRun> {
  const { progress } = env;
  const namespace = `scale-${kind}-${n}-${round}`;
  const names = workloadNames(n);
  const intervalMs = parseDuration(options.analysis.interval) ?? 10_000;
  const load = await loadAverage();
  progress.info(`— scale: ${kind}, ${n} canaries, round ${round + 1} (load ${load.join(' ')})`);
  const fleet = await startFleet(env, { kind, namespace, names, ...options });
  try {
    const { observer, controller, monitor } = fleet;
    const start = await openWindow(env, controller, monitor);
    const stamps = await fleet.revise(names, 1, `new revision for all ${n} Deployments`);
    const firstRevision = Math.min(...stamps);
    const finished = () =>
      names.filter((name) => rolloutOutcome(observer.timelines.get(name) ?? [], firstRevision).result).length;
    await progress.step(`waiting for ${n} rollouts`, (update) =>
      until(() => finished() === n, options.timeoutS * 1000, {
        everyMs: 1000,
        onPoll: () => update(`${finished()}/${n} finished`),
      }),
    );
    const window = await closeWindow(env, controller, monitor, start);

    const rollouts: number[] = [];
    const lags: number[] = [];
    const steps: number[] = [];
    let succeeded = 0;
    let failed = 0;
    names.forEach((name, i) => {
      const since = stamps[i] as number;
      const timeline = observer.timelines.get(name) ?? [];
      const outcome = rolloutOutcome(timeline, since);
      if (outcome.result === 'Succeeded') succeeded += 1;
      if (outcome.result === 'Failed') failed += 1;
      if (outcome.endedAt !== undefined) {
        rollouts.push((outcome.endedAt - since) / 1000);
        steps.push(outcome.steps);
      }
      lags.push(...stepLags(timeline, since, intervalMs));
    });
    const lag = summarize(lags);
    const rollout = summarize(rollouts);
    const totalSteps = steps.reduce((sum, s) => sum + s, 0);
    const figures: Figures = {
      done_pct: (100 * (succeeded + failed)) / n,
      succeeded,
      failed,
      tick_lag_p50_ms: lag.p50,
      tick_lag_p99_ms: lag.p99,
      tick_lag_max_ms: lag.max,
      ...schedLag(window),
      rollout_p50_s: rollout.p50,
      rollout_p99_s: rollout.p99,
      cpu_s: window.cpuSeconds,
      rss_mb: window.peakRssBytes / MB,
      rss_window_mb: window.windowRssBytes / MB,
      api_requests: window.requests.total,
      api_writes: window.requests.writes,
      writes_per_step: totalSteps ? window.requests.writes / totalSteps : Number.NaN,
      writes_per_canary: window.requests.writes / n,
      reads_per_step: totalSteps ? window.requests.reads / totalSteps : Number.NaN,
      ...verbFigures(window.requests),
      prom_queries: window.promQueries,
      queries_per_step: totalSteps ? window.promQueries / totalSteps : Number.NaN,
      steps_per_rollout: median(steps),
      window_s: window.seconds,
      init_s: fleet.initSeconds,
    };
    const relative = (name: string, since: number) =>
      (observer.timelines.get(name) ?? [])
        .filter((x) => x.at >= since - 1000)
        .map((x) => ({ ...x, at: x.at - since }));
    const bySlowness = names
      .map((name, i) => ({
        name,
        i,
        end: rolloutOutcome(observer.timelines.get(name) ?? [], stamps[i] as number).endedAt,
      }))
      .sort((a, b) => (b.end ?? Infinity) - (a.end ?? Infinity));
    const samples: Record<string, Timeline> = {};
    for (const { name, i } of [...bySlowness.slice(0, 2), { name: names[0] as string, i: 0 }])
      samples[name] = relative(name, stamps[i] as number);
    return { controller: kind, n, round, namespace, load, figures, requests: window.requests, samples };
  } finally {
    await fleet.teardown();
  }
}

/**
 * Sluice's own view over the window: its tick lag (sluice_tick_lag_seconds: timer fired − step
 * due) and how long one reconcile took (sluice_reconcile_duration_seconds).
 */
function schedLag(window: WindowResult): Figures {
  const { controllerBefore: before, controllerAfter: after } = window;
  if (!before || !after) return {};
  const quantiles = (metric: string, prefix: string): Figures => {
    const buckets = bucketDelta(histogramBuckets(before, metric), histogramBuckets(after, metric));
    return {
      [`${prefix}_p50_ms`]: histogramQuantile(0.5, buckets) * 1000,
      [`${prefix}_p99_ms`]: histogramQuantile(0.99, buckets) * 1000,
    };
  };
  return {
    ...quantiles('sluice_tick_lag_seconds', 'sched_lag'),
    ...quantiles('sluice_reconcile_duration_seconds', 'reconcile'),
  };
}
