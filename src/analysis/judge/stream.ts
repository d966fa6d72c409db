import { z } from 'zod';
import {
  DEFAULT_PRIOR_CONCENTRATION,
  logBayesFactorOverSegments,
  logMeanExp,
  ratioBound,
  type RatioInterval,
  type SegmentCounts,
  type Side,
} from './sequential.ts';

// One judged metric across the looks of a rollout. Each look brings the two arms' counts
// since the judge started (a vector per arm: a rate metric's [events, total], a distribution's
// cumulative bucket counts [≤ b1, ≤ b2, …, total]). The state keeps what the test needs and
// nothing more: the counts of the last look, and per traffic split ("segment") the counts
// seen under it. A change of split (the next weight step) opens a new segment; the Bayes
// factor is the product of the segments' factors, which keeps it a test supermartingale.

/** At most this many segments are kept; older ones are folded into one number per event definition. */
export const MAX_SEGMENTS = 12;

const counts = z.array(z.number().min(0)).max(64);

export const Segment = z.object({ canary: counts, primary: counts });
export type Segment = z.output<typeof Segment>;

export const StreamState = z.object({
  /** Fingerprint of the metric's settings: a different one starts afresh. */
  key: z.string(),
  /** Cumulative counts of the last look (same shape as the observations). */
  last: Segment.nullable(),
  /** Counts per traffic split, oldest first; each vector is a sum of look-to-look increments. */
  segments: z.array(Segment).max(MAX_SEGMENTS),
  /** log Bayes factor per event definition of segments folded away. */
  folded: z.array(z.number()).max(128),
  /** Largest log e-value seen so far: the anytime p-value is exp(−maxLogE). */
  maxLogE: z.number(),
  /** Looks that brought traffic on both arms. */
  looks: z.int().min(0),
  /**
   * What the next increment with traffic on both arms does: `extend` the current segment,
   * `open` a new one, or be left out (`discard`) because it straddles a change of split (or
   * the start of the canary's traffic): a burst within it would fall on one arm's part only.
   */
  next: z.enum(['extend', 'open', 'discard']).default('discard'),
});
export type StreamState = z.output<typeof StreamState>;

/** One kind of event whose split between the arms is tested, read off the count vectors. */
export interface EventDefinition {
  /** Index into the canary vector of its event count, or `total - index` when `above`. */
  canaryIndex: number;
  primaryIndex: number;
  /** true: events are the observations above the bucket (total − cumulative count). */
  above: boolean;
  side: Side;
  /** The ratio r0 at the edge of "no worse". */
  ratio0: number;
}

export interface StreamSettings {
  key: string;
  alpha: number;
  definitions: readonly EventDefinition[];
  /** Prior concentration, default DEFAULT_PRIOR_CONCENTRATION. */
  concentration?: number;
}

export interface StreamEvidence {
  /** log of the e-value now (mean over the event definitions of their Bayes factors). */
  logE: number;
  /** log Bayes factor per event definition, now. */
  perDefinition: number[];
  /** The anytime-valid p-value: min over looks of 1 / e-value, at most 1. */
  pValue: number;
  /** true once the e-value has reached 1/α at any look (it stays decided). */
  rejected: boolean;
}

export function emptyStream(key: string): StreamState {
  return { key, last: null, segments: [], folded: [], maxLogE: 0, looks: 0, next: 'discard' };
}

const total = (vector: readonly number[]): number => vector.at(-1) ?? 0;

/** Cumulative counts made consistent: not negative, not decreasing along buckets, none above the total. */
export function tidy(vector: readonly number[]): number[] {
  const top = Math.max(0, total(vector));
  let floor = 0;
  return vector.map((value, i) => {
    if (i === vector.length - 1) return top;
    const clean = Math.min(top, Math.max(floor, Number.isFinite(value) ? value : 0));
    floor = clean;
    return clean;
  });
}

function minus(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => Math.max(0, value - (b[i] ?? 0)));
}

function plus(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value + (b[i] ?? 0));
}

function shareOf(segment: Segment): number {
  const canary = total(segment.canary);
  const primary = total(segment.primary);
  return canary / (canary + primary);
}

/** True when the look's split differs from the segment's beyond noise (a weight step). */
function splitChanged(segment: Segment, increment: Segment): boolean {
  const rho = shareOf(segment);
  const n = total(increment.canary) + total(increment.primary);
  const lookShare = total(increment.canary) / n;
  const noise = Math.sqrt((rho * (1 - rho)) / n);
  return Math.abs(lookShare - rho) > 5 * noise && Math.abs(Math.log(lookShare / rho)) > Math.log(1.15);
}

function eventCounts(definition: EventDefinition, segment: Segment): SegmentCounts {
  const read = (vector: readonly number[], index: number) =>
    definition.above ? total(vector) - (vector[index] ?? 0) : (vector[index] ?? 0);
  return {
    canary: Math.max(0, read(segment.canary, definition.canaryIndex)),
    primary: Math.max(0, read(segment.primary, definition.primaryIndex)),
    share: shareOf(segment),
  };
}

function segmentLogBf(definition: EventDefinition, segments: readonly Segment[], k: number): number {
  return logBayesFactorOverSegments(
    segments.map((segment) => eventCounts(definition, segment)),
    definition.ratio0,
    k,
    definition.side,
  );
}

/**
 * Takes one look: the cumulative counts of both arms since the judge started. Increments with
 * no traffic on one arm are left out (nothing to compare). Returns the new state and the
 * evidence as of this look; pure.
 */
export function observe(
  state: StreamState,
  canary: readonly number[],
  primary: readonly number[],
  settings: StreamSettings,
): { state: StreamState; evidence: StreamEvidence } {
  const k = settings.concentration ?? DEFAULT_PRIOR_CONCENTRATION;
  const now = { canary: tidy(canary), primary: tidy(primary) };
  const last = state.last ?? { canary: now.canary.map(() => 0), primary: now.primary.map(() => 0) };
  if (last.canary.length !== now.canary.length || last.primary.length !== now.primary.length) {
    throw new Error(
      `the metric's buckets changed during the rollout (${last.canary.length - 1} → ${now.canary.length - 1})`,
    );
  }
  const increment = { canary: minus(now.canary, last.canary), primary: minus(now.primary, last.primary) };
  const next: StreamState = { ...state, last: now, segments: [...state.segments], folded: [...state.folded] };
  if (total(increment.canary) <= 0 || total(increment.primary) <= 0) {
    // No traffic on one arm: nothing to compare, and the next increment straddles its start.
    next.next = 'discard';
    return { state: next, evidence: evidence(next, settings) };
  }

  next.looks += 1;
  const current = next.segments.at(-1);
  if (state.next === 'discard') {
    next.next = 'open';
  } else if (state.next === 'extend' && current && !splitChanged(current, increment)) {
    next.segments[next.segments.length - 1] = {
      canary: plus(current.canary, increment.canary),
      primary: plus(current.primary, increment.primary),
    };
  } else if (state.next === 'extend') {
    // The split changed within this increment: leave it out, open a segment at the next one.
    next.next = 'open';
  } else {
    next.next = 'extend';
    next.segments.push(increment);
    if (next.segments.length > MAX_SEGMENTS) {
      const oldest = next.segments.shift()!;
      next.folded = settings.definitions.map(
        (definition, i) => (next.folded[i] ?? 0) + segmentLogBf(definition, [oldest], k),
      );
    }
  }
  const found = evidence(next, settings);
  next.maxLogE = Math.max(next.maxLogE, found.logE);
  return { state: next, evidence: found };
}

/** The evidence as of the state's last look. */
export function evidence(state: StreamState, settings: StreamSettings): StreamEvidence {
  const k = settings.concentration ?? DEFAULT_PRIOR_CONCENTRATION;
  const perDefinition = settings.definitions.map(
    (definition, i) => (state.folded[i] ?? 0) + segmentLogBf(definition, state.segments, k),
  );
  const logE = perDefinition.length ? logMeanExp(perDefinition) : 0;
  const maxLogE = Math.max(state.maxLogE, logE);
  return {
    logE,
    perDefinition,
    pValue: Math.min(1, Math.exp(-maxLogE)),
    rejected: maxLogE >= Math.log(1 / settings.alpha),
  };
}

/** The definition's events on each arm over the segments kept, with the canary's share. */
export function definitionCounts(state: StreamState, definition: EventDefinition): SegmentCounts[] {
  return state.segments.map((segment) => eventCounts(definition, segment));
}

/**
 * Anytime-valid interval for the definition's rate ratio (segments kept): each end from the
 * one-sided test at level `alpha`, so the lower end passes the limit when the test decides.
 */
export function definitionInterval(
  state: StreamState,
  definition: EventDefinition,
  alpha: number,
  concentration = DEFAULT_PRIOR_CONCENTRATION,
): RatioInterval {
  const segments = definitionCounts(state, definition).filter((s) => s.canary + s.primary > 0);
  if (segments.length === 0) return { lower: 0, upper: Number.POSITIVE_INFINITY };
  return {
    lower: ratioBound(segments, alpha, 'greater', concentration),
    upper: ratioBound(segments, alpha, 'less', concentration),
  };
}

/** The sum of all segments kept, per arm. */
export function segmentTotals(state: StreamState): Segment | undefined {
  const [first, ...rest] = state.segments;
  if (!first) return undefined;
  return rest.reduce(
    (sum, segment) => ({
      canary: plus(sum.canary, segment.canary),
      primary: plus(sum.primary, segment.primary),
    }),
    first,
  );
}
