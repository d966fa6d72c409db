import type { MetricPoint, TimelineEntry, WeightPoint } from './api.ts';
import { analysisEntries, metricPoints, observedChanges } from './model.ts';

/** Bounds per canary: enough for a long rollout at a 10 s interval, small in memory. */
export const MAX_POINTS = 720;
export const MAX_OBSERVED = 200;

interface Track {
  weights: WeightPoint[];
  metrics: Map<string, MetricPoint[]>;
  observed: TimelineEntry[];
  lastAnalysis: string;
  status: Record<string, unknown> | undefined;
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * What the dashboard saw of each canary since it started: weight changes, each new set of
 * analysis results, webhook calls and gate answers. The dashboard keeps no database; this
 * is memory, bounded per canary, and Prometheus fills in what came before (prometheus.ts).
 */
export class History {
  readonly #tracks = new Map<string, Track>();
  readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
  }

  /** Records a status as seen at `at`; returns the timeline entries it added. */
  observe(key: string, status: Record<string, unknown> | undefined, at: number): TimelineEntry[] {
    let track = this.#tracks.get(key);
    if (!track) {
      track = { weights: [], metrics: new Map(), observed: [], lastAnalysis: '', status: undefined };
      this.#tracks.set(key, track);
    }
    const weight = typeof status?.canaryWeight === 'number' ? status.canaryWeight : 0;
    if (track.weights.at(-1)?.weight !== weight) push(track.weights, { at, weight }, MAX_POINTS);
    const analysis = JSON.stringify(status?.lastAnalysis ?? []);
    if (analysis !== track.lastAnalysis) {
      track.lastAnalysis = analysis;
      for (const [name, point] of Object.entries(metricPoints(analysisEntries(status), at))) {
        let points = track.metrics.get(name);
        if (!points) track.metrics.set(name, (points = []));
        push(points, point, MAX_POINTS);
      }
    }
    // The first sight of a canary is no change: nothing was called or answered then.
    const added =
      track.status === undefined ? [] : observedChanges(track.status, status, new Date(at).toISOString());
    for (const entry of added) push(track.observed, entry, MAX_OBSERVED);
    track.status = status;
    return added;
  }

  forget(key: string): void {
    this.#tracks.delete(key);
  }

  weights(key: string): WeightPoint[] {
    return [...(this.#tracks.get(key)?.weights ?? [])];
  }

  metrics(key: string): Record<string, MetricPoint[]> {
    return Object.fromEntries(
      [...(this.#tracks.get(key)?.metrics ?? new Map<string, MetricPoint[]>())].map(([k, v]) => [k, [...v]]),
    );
  }

  observed(key: string): TimelineEntry[] {
    return [...(this.#tracks.get(key)?.observed ?? [])];
  }
}
