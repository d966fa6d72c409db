import { z } from 'zod';
import type { JudgeDirection } from '../../api/canary.ts';
import type { JudgedKind, JudgedMetricConfig } from './config.ts';
import { histogramQuantile, type Bucket } from './histogram.ts';
import { DEFAULT_PRIOR_CONCENTRATION } from './sequential.ts';
import {
  StreamState,
  definitionCounts,
  definitionInterval,
  emptyStream,
  observe,
  type EventDefinition,
  type StreamEvidence,
  type StreamSettings,
} from './stream.ts';

// One judged metric at one look, pure: the two arms' counts since the judge started go in,
// the new state and a verdict come out. The verdict carries everything a person needs to
// check it: both arms' estimates, the effect with its anytime-valid interval, the evidence
// and the sample counts, and a one-line reason.

export type JudgeOutcome = 'pass' | 'fail' | 'undecided' | 'noData' | 'error';

/** What one arm showed since the judge started. */
export interface ArmEstimate {
  /** Rate metrics: the rate in percent. Distributions: the p99 (in the metric's unit). */
  value: number;
  /** Distributions only: the median. */
  p50?: number;
  /** Rate metrics: the bad events counted. */
  events?: number;
  /** Requests (rate: the total; distribution: observations). */
  count: number;
}

export interface JudgeEffect {
  /** What the ratio compares, e.g. `error rate` or `share of requests slower than 250ms`. */
  measure: string;
  /** canary / primary. */
  estimate: number;
  /** Anytime-valid confidence interval of the ratio at the judge's confidence. */
  lower: number;
  upper: number;
  /** The ratio at the edge of "no worse" (1 + relative tolerance, or its absolute equivalent). */
  limit: number;
}

export interface JudgeEvidence {
  /** The e-value now: the Bayes factor (mean over bucket bounds for distributions). */
  bayesFactor: number;
  /** Anytime-valid p-value: min over the looks so far of 1 / Bayes factor. */
  pValue: number;
  /** The Bayes factor that decides a regression: 1 / (1 − confidence). */
  threshold: number;
}

export interface JudgeVerdict {
  name: string;
  kind: JudgedKind;
  outcome: JudgeOutcome;
  critical: boolean;
  direction: JudgeDirection;
  unit: '%' | 'ms' | '';
  canary?: ArmEstimate;
  primary?: ArmEstimate;
  effect?: JudgeEffect;
  evidence?: JudgeEvidence;
  /** One line a person reads in an Event or a Slack message, starting with the name. */
  reason: string;
}

/** What one look brings per arm. */
export type RateCounts = { events: number; total: number };
export type ArmObservation = RateCounts | Bucket[];
export interface MetricObservation {
  canary: ArmObservation;
  primary: ArmObservation;
}

export const MetricState = StreamState.extend({
  /** Distributions: the finite bucket bounds, in the metric's unit, fixed at the first look. */
  bounds: z.array(z.number()).max(63).optional(),
});
export type MetricState = z.output<typeof MetricState>;

export interface JudgeMetricOptions {
  alpha: number;
  key: string;
  /**
   * Also compute the intervals and decide `pass` (a few milliseconds per distribution).
   * Without it, only a failing verdict carries its interval (NaN otherwise).
   */
  explain?: boolean;
  concentration?: number;
}

function isBuckets(observation: ArmObservation): observation is Bucket[] {
  return Array.isArray(observation);
}

/** A histogram as a count vector over `bounds` (+ total), reading the count at each bound. */
function bucketVector(buckets: readonly Bucket[], bounds: readonly number[], scale: number): number[] {
  const byBound = new Map(buckets.map((bucket) => [bucket.le * scale, bucket.count]));
  const top = buckets.find((bucket) => bucket.le === Number.POSITIVE_INFINITY)?.count;
  if (top === undefined) throw new Error('the histogram has no +Inf bucket (le="+Inf")');
  return [
    ...bounds.map((bound) => {
      const count = byBound.get(bound);
      if (count === undefined) throw new Error(`the histogram has no bucket le="${bound / scale}"`);
      return count;
    }),
    top,
  ];
}

function finiteBounds(buckets: readonly Bucket[], scale: number): number[] {
  return [...new Set(buckets.filter((b) => Number.isFinite(b.le)).map((b) => b.le * scale))].sort(
    (a, b) => a - b,
  );
}

/** Rate ratio r0 at the edge of "no worse" for a rate metric. */
function rateLimits(metric: JudgedMetricConfig, primaryRate: number): { up: number; down: number } {
  const tolerance = metric.tolerance;
  if ('relative' in tolerance) {
    return { up: 1 + tolerance.relative, down: Math.max(1e-6, 1 - tolerance.relative) };
  }
  // An absolute tolerance in percentage points, at the primary's current rate.
  const relative = tolerance.absolute / 100 / primaryRate;
  return { up: 1 + relative, down: Math.max(1e-6, 1 - relative) };
}

/** The event definitions of a rate metric. */
function rateDefinitions(
  metric: JudgedMetricConfig,
  limits: { up: number; down: number },
): EventDefinition[] {
  const up: EventDefinition = {
    canaryIndex: 0,
    primaryIndex: 0,
    above: false,
    side: 'greater',
    ratio0: limits.up,
  };
  const down: EventDefinition = { ...up, side: 'less', ratio0: limits.down };
  return metric.direction === 'increase' ? [up] : metric.direction === 'decrease' ? [down] : [up, down];
}

/**
 * The event definitions of a distribution: per bucket bound of the primary, "slower than it"
 * against the canary's share slower than the bound the tolerance allows (the first canary
 * bound at or above bound × (1 + relative) or bound + absolute); "faster" mirrors it.
 */
export function distributionDefinitions(
  metric: JudgedMetricConfig,
  bounds: readonly number[],
): EventDefinition[] {
  const tolerance = metric.tolerance;
  const raise = (bound: number) =>
    'relative' in tolerance ? bound * (1 + tolerance.relative) : bound + tolerance.absolute;
  const lower = (bound: number) =>
    'relative' in tolerance ? bound / (1 + tolerance.relative) : bound - tolerance.absolute;
  const epsilon = 1e-9;
  const definitions: EventDefinition[] = [];
  if (metric.direction !== 'decrease') {
    bounds.forEach((bound, i) => {
      const k = bounds.findIndex((candidate) => candidate >= raise(bound) * (1 - epsilon));
      if (k >= 0)
        definitions.push({ canaryIndex: k, primaryIndex: i, above: true, side: 'greater', ratio0: 1 });
    });
  }
  if (metric.direction !== 'increase') {
    bounds.forEach((bound, i) => {
      const k = bounds.findLastIndex((candidate) => candidate <= lower(bound) * (1 + epsilon));
      if (k >= 0)
        definitions.push({ canaryIndex: k, primaryIndex: i, above: false, side: 'greater', ratio0: 1 });
    });
  }
  return definitions;
}

/** Sorted cumulative buckets → the {le, count} list over bounds, for quantiles. */
function asBuckets(vector: readonly number[], bounds: readonly number[]): Bucket[] {
  return [
    ...bounds.map((le, i) => ({ le, count: vector[i] ?? 0 })),
    { le: Number.POSITIVE_INFINITY, count: vector.at(-1) ?? 0 },
  ];
}

function describeRatio(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (value === 0) return '0';
  return `${value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(2)}×`;
}

export function formatValue(value: number, unit: JudgedMetricConfig['unit']): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : unit === '%' ? 3 : 2;
  const text = String(Number(value.toFixed(digits)));
  return unit === '%' ? `${text} %` : unit === 'ms' ? `${text}ms` : text;
}

function formatEvidence(e: JudgeEvidence): string {
  const bf =
    e.bayesFactor >= 1e6 ? e.bayesFactor.toExponential(1) : String(Number(e.bayesFactor.toPrecision(3)));
  const p = e.pValue < 1e-4 ? e.pValue.toExponential(1) : String(Number(e.pValue.toPrecision(2)));
  return `Bayes factor ${bf} (needs ${Number(e.threshold.toPrecision(4))}), p ≤ ${p}`;
}

/** Judges one metric at one look. Throws (naming the problem) on observations of the wrong shape. */
export function judgeMetric(
  metric: JudgedMetricConfig,
  previous: MetricState | undefined,
  observation: MetricObservation,
  options: JudgeMetricOptions,
  scale = 1,
): { state: MetricState; verdict: JudgeVerdict } {
  const fresh = !previous || previous.key !== options.key;
  let state: MetricState = fresh ? emptyStream(options.key) : previous;
  let canary: number[];
  let primary: number[];
  let definitions: EventDefinition[];
  let bounds: number[] | undefined;
  if (metric.kind === 'rate') {
    if (isBuckets(observation.canary) || isBuckets(observation.primary)) {
      throw new Error('a rate metric needs two counts per workload, not histogram buckets');
    }
    canary = [observation.canary.events, observation.canary.total];
    primary = [observation.primary.events, observation.primary.total];
    // Half an event and one request more keep an absolute tolerance finite while the primary shows none.
    const primaryRate = (Math.max(0, primary[0]!) + 0.5) / (Math.max(0, primary[1]!) + 1);
    definitions = rateDefinitions(metric, rateLimits(metric, primaryRate));
  } else {
    if (!isBuckets(observation.canary) || !isBuckets(observation.primary)) {
      throw new Error('a distribution metric needs histogram buckets (one series per le) per workload');
    }
    bounds = state.bounds ?? finiteBounds(observation.primary, scale);
    if (bounds.length === 0) throw new Error('the histogram has no finite bucket bounds');
    canary = bucketVector(observation.canary, bounds, scale);
    primary = bucketVector(observation.primary, bounds, scale);
    definitions = distributionDefinitions(metric, bounds);
    state = { ...state, bounds };
  }
  const settings: StreamSettings = {
    key: options.key,
    alpha: options.alpha,
    definitions,
    concentration: options.concentration ?? DEFAULT_PRIOR_CONCENTRATION,
  };
  const observed = observe(state, canary, primary, settings);
  const next: MetricState = bounds ? { ...observed.state, bounds } : observed.state;
  return { state: next, verdict: verdictOf(metric, next, observed.evidence, settings, options) };
}

function verdictOf(
  metric: JudgedMetricConfig,
  state: MetricState,
  found: StreamEvidence,
  settings: StreamSettings,
  options: JudgeMetricOptions,
): JudgeVerdict {
  const base = {
    name: metric.name,
    kind: metric.kind,
    critical: metric.critical,
    direction: metric.direction,
    unit: metric.unit,
  };
  const last = state.last!;
  const arms = estimates(metric, last, state.bounds);
  if (state.segments.length === 0 && state.folded.length === 0) {
    return {
      ...base,
      outcome: 'noData',
      ...arms,
      reason:
        last.canary.at(-1) && last.primary.at(-1)
          ? `${metric.name}: traffic on both arms from this look on; the comparison starts at the next look`
          : `${metric.name}: no traffic on ${last.canary.at(-1) ? 'the primary' : 'the canary'} yet, nothing to compare`,
    };
  }
  const threshold = 1 / options.alpha;
  const judged: JudgeEvidence = {
    bayesFactor: Math.exp(found.logE),
    pValue: found.pValue,
    threshold,
  };
  // The definition with the most evidence is the one shown; a distribution's intervals are
  // corrected for the number of bounds so that the one shown is valid whichever it is.
  // Definitions without events (a bound no request exceeded) have nothing to show; with no
  // evidence anywhere, a distribution shows the primary's first bound above its p99.
  const shown = settings.definitions
    .map((definition, i) => ({
      definition,
      log: found.perDefinition[i]!,
      counts: definitionCounts(state, definition),
    }))
    .filter((entry) => entry.counts.some((s) => s.canary + s.primary > 0));
  const strongest = shown.reduce<(typeof shown)[number] | undefined>(
    (best, entry) => (!best || entry.log > best.log ? entry : best),
    undefined,
  );
  const p99 = arms.primary?.value ?? Number.NaN;
  const tail =
    metric.kind === 'distribution' && state.bounds && (strongest?.log ?? 0) <= 0
      ? shown.find((entry) => (state.bounds![entry.definition.primaryIndex] ?? 0) >= p99)
      : undefined;
  const definition = (tail ?? strongest)?.definition ?? settings.definitions[0]!;
  const intervalAlpha = options.alpha / settings.definitions.length;
  const k = settings.concentration ?? DEFAULT_PRIOR_CONCENTRATION;
  // Intervals cost a search each: computed when asked for, and for every decided regression.
  const interval =
    options.explain || found.rejected
      ? definitionInterval(state, definition, intervalAlpha, k)
      : { lower: Number.NaN, upper: Number.NaN };
  const counts = definitionCounts(state, definition);
  const sum = counts.reduce(
    (acc, s) => ({ canary: acc.canary + s.canary, primary: acc.primary + s.primary }),
    { canary: 0, primary: 0 },
  );
  const totals = state.segments.reduce(
    (acc, s) => ({
      canary: acc.canary + (s.canary.at(-1) ?? 0),
      primary: acc.primary + (s.primary.at(-1) ?? 0),
    }),
    { canary: 0, primary: 0 },
  );
  const estimate =
    sum.primary > 0 && totals.canary > 0
      ? sum.canary / totals.canary / (sum.primary / totals.primary)
      : sum.canary > 0
        ? Number.POSITIVE_INFINITY
        : Number.NaN;
  const effect: JudgeEffect = {
    measure: measureOf(metric, definition, state.bounds),
    estimate,
    lower: interval.lower,
    upper: interval.upper,
    limit: definition.ratio0,
  };

  let outcome: JudgeOutcome = found.rejected ? 'fail' : 'undecided';
  if (!found.rejected && options.explain) {
    const inside = settings.definitions.every((d) => {
      const ci = d === definition ? interval : definitionInterval(state, d, intervalAlpha, k);
      return d.side === 'greater' ? ci.upper <= d.ratio0 : ci.lower >= d.ratio0;
    });
    if (inside) outcome = 'pass';
  }
  const range = Number.isNaN(interval.lower)
    ? ''
    : ` [${describeRatio(interval.lower)}, ${describeRatio(interval.upper)}]`;
  const compare = `${effect.measure} canary/primary ${describeRatio(estimate)}${range}, limit ${describeRatio(effect.limit)}`;
  const armText = arms.canary && arms.primary ? `${armLine(metric, arms.canary, arms.primary)}; ` : '';
  const verdictText =
    outcome === 'fail'
      ? `regression (${metric.direction})`
      : outcome === 'pass'
        ? 'no regression beyond the tolerance'
        : 'no regression shown so far';
  return {
    ...base,
    outcome,
    ...arms,
    effect,
    evidence: judged,
    reason: `${metric.name}: ${armText}${compare}; ${formatEvidence(judged)}: ${verdictText}`,
  };
}

function armLine(metric: JudgedMetricConfig, canary: ArmEstimate, primary: ArmEstimate): string {
  if (metric.kind === 'rate') {
    const arm = (a: ArmEstimate) =>
      `${formatValue(a.value, '%')} (${Math.round(a.events ?? 0)}/${Math.round(a.count)})`;
    return `canary ${arm(canary)} vs primary ${arm(primary)}`;
  }
  const arm = (a: ArmEstimate) =>
    `p50 ${formatValue(a.p50 ?? Number.NaN, metric.unit)} p99 ${formatValue(a.value, metric.unit)} (n=${Math.round(a.count)})`;
  return `canary ${arm(canary)} vs primary ${arm(primary)}`;
}

function measureOf(
  metric: JudgedMetricConfig,
  definition: EventDefinition,
  bounds: readonly number[] | undefined,
): string {
  if (metric.kind === 'rate') return 'rate';
  const at = (index: number) => formatValue(bounds?.[index] ?? Number.NaN, metric.unit);
  const canaryBound = at(definition.canaryIndex);
  const primaryBound = at(definition.primaryIndex);
  const where =
    canaryBound === primaryBound ? canaryBound : `${canaryBound} (canary) / ${primaryBound} (primary)`;
  return definition.above ? `share slower than ${where}` : `share faster than ${where}`;
}

function estimates(
  metric: JudgedMetricConfig,
  last: { canary: number[]; primary: number[] },
  bounds: readonly number[] | undefined,
): { canary?: ArmEstimate; primary?: ArmEstimate } {
  const arm = (vector: number[]): ArmEstimate => {
    const count = vector.at(-1) ?? 0;
    if (metric.kind === 'rate') {
      const events = vector[0] ?? 0;
      return { value: count > 0 ? (100 * events) / count : Number.NaN, events, count };
    }
    const buckets = asBuckets(vector, bounds ?? []);
    return { value: histogramQuantile(0.99, buckets), p50: histogramQuantile(0.5, buckets), count };
  };
  return { canary: arm(last.canary), primary: arm(last.primary) };
}
