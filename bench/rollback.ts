import { parseDuration } from '../src/api/duration.ts';
import { workloadNames, type ControllerKind } from './fixtures.ts';
import { startFleet } from './fleet.ts';
import type { BenchEnv } from './harness.ts';
import { RouteObserver, until } from './observer.ts';
import { loadAverage } from './proc.ts';
import type { Figures } from './report.ts';
import { median } from './stats.ts';

// `rollback-latency`: a canary holds at stepWeight % when its error ratio jumps at a known
// instant; measured is the time until its VirtualService sends 0 % to the canary, from the
// jump and from the moment the failure is visible in Prometheus (the success-rate query the
// controllers run first answers below the threshold). Each repetition uses a workload of its
// own, so no repetition's errors are still inside another one's query window.

export interface RollbackOptions {
  repetitions: number;
  interval: string;
  threshold: number;
  stepWeight: number;
  errorRatio: number;
}

export interface Repetition {
  name: string;
  /** How long after reaching stepWeight the errors started (ms). */
  offsetMs: number;
  flipAt: number;
  visibleAt: number | undefined;
  zeroAt: number | undefined;
  phase: string | undefined;
}

export interface RollbackRun {
  controller: ControllerKind;
  round: number;
  namespace: string;
  load: number[];
  figures: Figures;
  repetitions: Repetition[];
}

const MIN_SUCCESS_RATE = 99;

/** The built-in Istio success rate (the controllers' own query) for one workload, window 1m. */
export function successRateQuery(namespace: string, name: string): string {
  const selector = `reporter="destination",destination_workload_namespace="${namespace}",destination_workload=~"${name}"`;
  return `sum(rate(istio_requests_total{${selector},response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{${selector}}[1m])) * 100`;
}

async function instantQuery(prometheusUrl: string, query: string): Promise<number | undefined> {
  const url = `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { data?: { result?: { value?: [number, string] }[] } };
  const value = body.data?.result?.[0]?.value?.[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * When, after reaching the weight, the errors start: spread evenly over the interval (less
 * 3 s, so the failure is visible before the next tick), the same offsets for every controller.
 */
export function offsets(repetitions: number, intervalMs: number): number[] {
  const span = Math.max(0, intervalMs - 3000);
  return Array.from({ length: repetitions }, (_, i) => Math.round(((i + 0.5) / repetitions) * span));
}

export async function rollbackRun(
  env: BenchEnv,
  kind: ControllerKind,
  round: number,
  options: RollbackOptions,
): Promise<RollbackRun> {
  const { progress } = env;
  const intervalMs = parseDuration(options.interval) ?? 10_000;
  const namespace = `rollback-${kind}-${round}`;
  const names = workloadNames(options.repetitions, 'rb');
  const load = await loadAverage();
  progress.info(`— rollback-latency: ${kind}, round ${round + 1} (load ${load.join(' ')})`);
  const fleet = await startFleet(env, {
    kind,
    namespace,
    names,
    analysis: {
      interval: options.interval,
      threshold: options.threshold,
      stepWeight: options.stepWeight,
      maxWeight: Math.min(100, options.stepWeight * 3),
      minSuccessRate: MIN_SUCCESS_RATE,
    },
    initTimeoutS: 300,
    warmupS: 10,
    concurrency: 8,
  });
  const routes = new RouteObserver(env.kube, namespace);
  const repetitions: Repetition[] = [];
  try {
    await routes.start();
    const spread = offsets(options.repetitions, intervalMs);
    for (const [i, name] of names.entries()) {
      const offsetMs = spread[i] as number;
      const repetition = await progress.step(
        `${kind} repetition ${i + 1}/${names.length}: errors ${offsetMs} ms after ${options.stepWeight}%`,
        async () => {
          const [revisedAt] = await fleet.revise([name], 1, `new revision of ${name}`);
          const reached = await until(
            () => routes.firstAt(name, options.stepWeight, revisedAt as number) !== undefined,
            12 * intervalMs,
          );
          if (!reached) {
            throw new Error(
              `${kind}: ${namespace}/${name} never reached ${options.stepWeight}% (phase ${fleet.observer.phase(name)}); log: ${fleet.controller.logFile}`,
            );
          }
          const weightAt = routes.firstAt(name, options.stepWeight, revisedAt as number) as number;
          await new Promise((r) => setTimeout(r, Math.max(0, weightAt + offsetMs - Date.now())));
          const flipAt = Date.now();
          env.exporter.setErrorRatio(namespace, name, options.errorRatio, flipAt);
          let visibleAt: number | undefined;
          const query = successRateQuery(namespace, name);
          await until(
            async () => {
              if (visibleAt === undefined) {
                const rate = await instantQuery(env.cluster.prometheusUrl, query).catch(() => undefined);
                if (rate !== undefined && rate < MIN_SUCCESS_RATE) visibleAt = Date.now();
              }
              return routes.firstAt(name, 0, flipAt) !== undefined;
            },
            (options.threshold + 3) * intervalMs,
            { everyMs: 100 },
          );
          return {
            name,
            offsetMs,
            flipAt,
            visibleAt,
            zeroAt: routes.firstAt(name, 0, flipAt),
            phase: fleet.observer.phase(name),
          };
        },
      );
      repetitions.push(repetition);
    }
  } finally {
    await routes.stop().catch(() => undefined);
    await fleet.teardown();
  }
  const rolledBack = repetitions.filter((r) => r.zeroAt !== undefined);
  const fromFlip = rolledBack.map((r) => ((r.zeroAt as number) - r.flipAt) / 1000);
  const fromVisible = rolledBack
    .filter((r) => r.visibleAt !== undefined)
    .map((r) => ((r.zeroAt as number) - (r.visibleAt as number)) / 1000);
  const visibleAfter = repetitions
    .filter((r) => r.visibleAt !== undefined)
    .map((r) => ((r.visibleAt as number) - r.flipAt) / 1000);
  const figures: Figures = {
    rolled_back: rolledBack.length,
    latency_p50_s: median(fromVisible),
    latency_max_s: fromVisible.length ? Math.max(...fromVisible) : Number.NaN,
    from_flip_p50_s: median(fromFlip),
    from_flip_max_s: fromFlip.length ? Math.max(...fromFlip) : Number.NaN,
    visible_after_flip_p50_s: median(visibleAfter),
  };
  return { controller: kind, round, namespace, load, figures, repetitions };
}
