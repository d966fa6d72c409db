import lognormalCdf from '@stdlib/stats-base-dists-lognormal-cdf';
import poisson from '@stdlib/random-base-poisson';
import uniform from '@stdlib/random-base-uniform';
import { parseDuration } from '../src/api/duration.ts';
import { histogramQuantile } from '../src/analysis/judge/histogram.ts';
import {
  MetricError,
  oneLine,
  type MetricProvider,
  type QueryOptions,
} from '../src/analysis/providers/provider.ts';

// The judge benchmark's ground truth: generated traffic of a primary and a canary, second by
// second, and a metric provider that answers the rendered built-in queries over it, as
// Prometheus would over scraped counters (without its range extrapolation).
//
// Traffic model (docs/judge.md): Poisson arrivals at a rate that drifts slowly (±30 %,
// shared by both arms), split by the canary's share; a baseline error rate; heavy-tailed
// latency (a lognormal body and a slower lognormal tail of 1–3 % of requests); and bursts
// (about 1.5 per 12 minutes, 20–90 s each) that multiply errors by 3–10 and latency by
// 1.5–3 on both arms at once, as a failing dependency would.

/** Istio's default request-duration buckets (ms) up to 10 s; the +Inf bucket is the total. */
export const BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

export interface TrafficParams {
  /** Requests per second, both arms together. */
  rate: number;
  /** Canary's share of requests, 0–1. */
  share: number;
  /** Baseline error rate (both arms), 0–1. */
  errorRate: number;
  /** Seconds of traffic before the canary gets its share (the pre-rollout step). */
  canaryStartS: number;
  durationS: number;
}

export interface Regression {
  /** Added to the canary's error rate (0.01 = +1 percentage point). */
  addErrors?: number;
  /** Multiplies the canary's error rate. */
  multiplyErrors?: number;
  /** Multiplies every canary latency (so its p99, like every quantile). */
  multiplyLatency?: number;
}

export interface Latency {
  /** Median of the body (ms) and its log-sd. */
  bodyMedianMs: number;
  bodySigma: number;
  /** Share of requests in the slow tail, and the tail's median (ms) and log-sd. */
  tailShare: number;
  tailMedianMs: number;
  tailSigma: number;
}

/** Cumulative counts per second of one arm (index i: everything up to the end of second i). */
export interface ArmSeries {
  requests: Float64Array;
  errors: Float64Array;
  /** One cumulative series per bucket of BUCKETS_MS (observations ≤ bound). */
  buckets: Float64Array[];
}

export interface Traffic {
  params: TrafficParams;
  latency: Latency;
  canary: ArmSeries;
  primary: ArmSeries;
  /** Seconds in a burst, for the record. */
  burstSeconds: number;
}

/** A seeded source of the random numbers the model needs. */
export interface Random {
  uniform(low: number, high: number): number;
  logUniform(low: number, high: number): number;
  poisson(mean: number): number;
}

export function seededRandom(seed: number): Random {
  const draw = poisson.factory({ seed });
  const unit = uniform.factory(0, 1, { seed: (seed * 7919 + 17) >>> 0 });
  return {
    uniform: (low, high) => low + (high - low) * unit(),
    logUniform: (low, high) => Math.exp(Math.log(low) + (Math.log(high) - Math.log(low)) * unit()),
    poisson: (mean) => (mean > 0 ? draw(mean) : 0),
  };
}

/** A random latency shape for one trial. */
export function randomLatency(random: Random): Latency {
  const bodyMedianMs = random.uniform(20, 60);
  return {
    bodyMedianMs,
    bodySigma: random.uniform(0.4, 0.7),
    tailShare: random.uniform(0.01, 0.03),
    tailMedianMs: bodyMedianMs * random.uniform(4, 6),
    tailSigma: 0.5,
  };
}

/** P(latency ≤ bound) for each bucket bound, with every latency multiplied by `factor`. */
export function bucketProbabilities(latency: Latency, factor: number): number[] {
  const body = Math.log(latency.bodyMedianMs * factor);
  const tail = Math.log(latency.tailMedianMs * factor);
  return BUCKETS_MS.map(
    (bound) =>
      (1 - latency.tailShare) * lognormalCdf(bound, body, latency.bodySigma) +
      latency.tailShare * lognormalCdf(bound, tail, latency.tailSigma),
  );
}

interface Burst {
  start: number;
  end: number;
  errors: number;
  latency: number;
}

/** Generates one trial's traffic: the same environment for any `regression` with the same random source. */
export function generateTraffic(
  random: Random,
  params: TrafficParams,
  latency: Latency,
  regression: Regression,
): Traffic {
  const n = params.durationS + 1;
  const period = random.uniform(600, 1800);
  const phase = random.uniform(0, 2 * Math.PI);
  const bursts: Burst[] = [];
  const burstCount = random.poisson((1.5 * params.durationS) / 720);
  for (let i = 0; i < burstCount; i++) {
    const start = Math.floor(random.uniform(0, params.durationS));
    bursts.push({
      start,
      end: start + Math.floor(random.uniform(20, 90)),
      errors: random.uniform(3, 10),
      latency: random.uniform(1.5, 3),
    });
  }
  const arm = (): ArmSeries => ({
    requests: new Float64Array(n),
    errors: new Float64Array(n),
    buckets: BUCKETS_MS.map(() => new Float64Array(n)),
  });
  const canary = arm();
  const primary = arm();
  const probabilities = new Map<number, number[]>();
  const cdf = (factor: number) => {
    let found = probabilities.get(factor);
    if (!found) {
      found = bucketProbabilities(latency, factor);
      probabilities.set(factor, found);
    }
    return found;
  };
  let burstSeconds = 0;
  const canaryErrorRate = Math.min(
    1,
    params.errorRate * (regression.multiplyErrors ?? 1) + (regression.addErrors ?? 0),
  );
  for (let t = 1; t < n; t++) {
    const load = params.rate * (1 + 0.3 * Math.sin((2 * Math.PI * t) / period + phase));
    const burst = bursts.find((b) => t >= b.start && t < b.end);
    if (burst) burstSeconds += 1;
    const errorFactor = burst?.errors ?? 1;
    const latencyFactor = burst?.latency ?? 1;
    const share = t > params.canaryStartS ? params.share : 0;
    const arms: [ArmSeries, number, number, number][] = [
      [canary, load * share, canaryErrorRate, latencyFactor * (regression.multiplyLatency ?? 1)],
      [primary, load * (1 - share), params.errorRate, latencyFactor],
    ];
    for (const [series, mean, errorRate, factor] of arms) {
      // Poisson arrivals thinned into latency buckets are independent Poisson counts.
      const probabilities = cdf(factor);
      let below = 0;
      let requests = 0;
      for (let b = 0; b <= BUCKETS_MS.length; b++) {
        const p = (probabilities[b] ?? 1) - (b === 0 ? 0 : probabilities[b - 1]!);
        const count = random.poisson(mean * Math.max(0, p));
        requests += count;
        if (b < BUCKETS_MS.length) {
          below += count;
          series.buckets[b]![t] = series.buckets[b]![t - 1]! + below;
        }
      }
      // Bucket series are cumulative over bounds as well: add the lower buckets' counts.
      series.requests[t] = series.requests[t - 1]! + requests;
      const errors = Math.min(requests, random.poisson(requests * Math.min(1, errorRate * errorFactor)));
      series.errors[t] = series.errors[t - 1]! + errors;
    }
  }
  return { params, latency, canary, primary, burstSeconds };
}

/** A provider over generated traffic that answers the built-in Istio queries at `options.at`. */
export function trafficProvider(traffic: Traffic, startMs: number, target: string): MetricProvider {
  const arms = (query: string): ArmSeries =>
    query.includes(`destination_workload=~"${target}-primary"`) ? traffic.primary : traffic.canary;
  const last = traffic.params.durationS;
  const window = (query: string, at: number): [number, number] => {
    const range = /\[([0-9smh]+)\]/.exec(query)?.[1];
    const ms = range ? parseDuration(range) : undefined;
    if (ms === undefined) throw new Error(`bench provider: no range in ${query}`);
    const end = Math.min(last, Math.max(0, Math.round((at - startMs) / 1000)));
    return [Math.max(0, end - Math.round(ms / 1000)), end];
  };
  const increase = (series: Float64Array, [from, to]: [number, number]) => series[to]! - series[from]!;
  const noData = (query: string, what: string): MetricError =>
    new MetricError('notANumber', {
      provider: 'prometheus',
      query,
      message: `prometheus returned NaN (${what}): ${query}`,
    });

  const answer = (raw: string, options?: QueryOptions): number | { le: number; value: number }[] => {
    const query = oneLine(raw);
    const at = options?.at;
    if (at === undefined) throw new Error('bench provider: every query must carry its instant');
    const series = arms(query);
    const span = window(query, at);
    const seconds = span[1] - span[0];
    const buckets = () => [
      ...BUCKETS_MS.map((le, b) => ({ le, value: increase(series.buckets[b]!, span) })),
      { le: Number.POSITIVE_INFINITY, value: increase(series.requests, span) },
    ];
    if (query.startsWith('histogram_quantile(0.99')) {
      const counts = buckets();
      const p99 = histogramQuantile(
        0.99,
        counts.map((b) => ({ le: b.le, count: b.value })),
      );
      if (!Number.isFinite(p99)) throw noData(query, 'no requests in the window');
      return p99;
    }
    if (query.includes('response_code!~"5.*"')) {
      const requests = increase(series.requests, span);
      if (requests === 0 || seconds === 0) throw noData(query, '0/0: no requests in the window');
      return (100 * (requests - increase(series.errors, span))) / requests;
    }
    if (query.startsWith('sum by (le)')) return buckets();
    if (query.includes('response_code=~"5.*"')) return increase(series.errors, span);
    return increase(series.requests, span);
  };

  return {
    type: 'prometheus',
    async runQuery(query, options) {
      const value = answer(query, options);
      if (Array.isArray(value)) throw new Error(`bench provider: ${query} returns buckets`);
      return value;
    },
    async runSeriesQuery(query, options) {
      const value = answer(query, options);
      if (!Array.isArray(value)) throw new Error(`bench provider: ${query} returns a number`);
      return value.map((b) => ({
        labels: { le: Number.isFinite(b.le) ? String(b.le) : '+Inf' },
        value: b.value,
      }));
    },
    async isOnline() {
      return { online: true };
    },
  };
}
