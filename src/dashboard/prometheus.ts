import { z } from 'zod';
import type { MetricPoint, WeightPoint } from './api.ts';

// Weight and metric history from the controller's own series in Prometheus
// (sluice_canary_weight, sluice_canary_metric_value), so a dashboard started in the middle
// of a rollout still draws it from the start.

const Matrix = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()),
        values: z.array(z.tuple([z.number(), z.string()])),
      }),
    ),
  }),
});

export interface PrometheusHistory {
  weights: WeightPoint[];
  metrics: Record<string, MetricPoint[]>;
}

/** A PromQL string literal: names and namespaces are DNS labels, but escape anyway. */
const literal = (value: string) =>
  `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export interface PrometheusDeps {
  url: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

async function queryRange(
  deps: PrometheusDeps,
  query: string,
  start: number,
  end: number,
  stepSeconds: number,
) {
  const url = new URL('api/v1/query_range', deps.url.endsWith('/') ? deps.url : `${deps.url}/`);
  url.searchParams.set('query', query);
  url.searchParams.set('start', String(start / 1000));
  url.searchParams.set('end', String(end / 1000));
  url.searchParams.set('step', String(stepSeconds));
  const response = await (deps.fetch ?? fetch)(url, { signal: AbortSignal.timeout(deps.timeoutMs ?? 5000) });
  if (!response.ok) throw new Error(`prometheus ${deps.url}: query_range answered ${response.status}`);
  const parsed = Matrix.safeParse(await response.json());
  if (!parsed.success) throw new Error(`prometheus ${deps.url}: query_range answer is not a matrix`);
  return parsed.data.data.result;
}

/** Steps of at least 5 s and at most ~400 points over the range. */
export function stepFor(start: number, end: number): number {
  return Math.max(5, Math.ceil((end - start) / 1000 / 400));
}

/** Only the points where the value changes (and the last one), so charts stay light. */
function changes(values: [number, string][]): [number, number][] {
  const out: [number, number][] = [];
  values.forEach(([t, v], i) => {
    const value = Number(v);
    if (!Number.isFinite(value)) return;
    if (out.at(-1)?.[1] !== value || i === values.length - 1) out.push([t * 1000, value]);
  });
  return out;
}

export async function prometheusHistory(
  deps: PrometheusDeps,
  canary: { namespace: string; name: string },
  start: number,
  end: number,
): Promise<PrometheusHistory> {
  const selector = `namespace=${literal(canary.namespace)},name=${literal(canary.name)}`;
  const step = stepFor(start, end);
  const [weights, metrics] = await Promise.all([
    queryRange(deps, `max(sluice_canary_weight{${selector},workload="canary"})`, start, end, step),
    queryRange(deps, `max by (metric) (sluice_canary_metric_value{${selector}})`, start, end, step),
  ]);
  return {
    weights: changes(weights[0]?.values ?? []).map(([at, weight]) => ({ at, weight })),
    metrics: Object.fromEntries(
      metrics.flatMap((series) => {
        const name = series.metric.metric;
        if (!name) return [];
        return [[name, changes(series.values).map(([at, value]) => ({ at, value, passed: null }))]];
      }),
    ),
  };
}

/** Prometheus points before the first point this server saw, then what it saw. */
export function mergeHistory<T extends { at: number }>(before: readonly T[], seen: readonly T[]): T[] {
  const first = seen[0]?.at ?? Infinity;
  return [...before.filter((p) => p.at < first), ...seen];
}
