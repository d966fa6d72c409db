import betainc from '@stdlib/math-base-special-betainc';
import betaln from '@stdlib/math-base-special-betaln';

// The judge's one statistical building block: a sequential test of where events fall.
//
// Requests reach the canary and the primary as two Poisson processes whose intensity moves
// with load; bad events (errors, slow answers) are a thinning of each. Given that an event
// happened, it happened on the canary with probability θ = ρr / (ρr + 1 − ρ), where ρ is the
// canary's share of requests and r the ratio of the per-request event rates (Lindon & Malek,
// "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022). Shared drift and
// bursts change both arms at once and cancel out of θ. "The canary is no worse" is r ≤ r0.
//
// The evidence against it is a Bayes factor with a Beta prior on θ, truncated to the
// alternative side, against the boundary θ0 = θ(ρ, r0). For every θ' ≤ θ0 its expectation
// under θ' is at most 1 at every event, so it is a test supermartingale: by Ville's
// inequality it exceeds 1/α with probability at most α however often it is looked at.

export type Side = 'greater' | 'less';

/** Prior concentration k: the Beta prior is Beta(kθ0, k(1 − θ0)) (tuned by `npm run bench -- judge`). */
export const DEFAULT_PRIOR_CONCENTRATION = 10;

/** The probability that an event falls on the canary: share ρ, rate ratio r (canary / primary). */
export function eventShare(share: number, ratio: number): number {
  if (!Number.isFinite(ratio)) return 1;
  return (share * ratio) / (share * ratio + 1 - share);
}

/** The rate ratio r that makes events fall on the canary with probability θ at share ρ. */
export function ratioOf(share: number, theta: number): number {
  return (theta * (1 - share)) / (share * (1 - theta));
}

/** log P(θ > x) (side greater) or log P(θ < x) for θ ~ Beta(a, b); −∞ when it underflows. */
export function logBetaTail(x: number, a: number, b: number, side: Side): number {
  const p = betainc(x, a, b, true, side === 'greater');
  return p > 0 ? Math.log(p) : Number.NEGATIVE_INFINITY;
}

/**
 * log Bayes factor of `canary` events against `primary` events for H0: θ = θ0 against a
 * Beta(kθ0, k(1 − θ0)) mixture; with `side`, the mixture is truncated to θ > θ0 (greater)
 * or θ < θ0 (less), which tests the one-sided null. Counts may be fractional (increase()).
 */
export function logBayesFactor(
  canary: number,
  primary: number,
  theta0: number,
  k: number = DEFAULT_PRIOR_CONCENTRATION,
  side?: Side,
): number {
  if (canary <= 0 && primary <= 0) return 0;
  if (!(theta0 > 0 && theta0 < 1)) throw new RangeError(`theta0 must be within (0, 1), got ${theta0}`);
  const a = k * theta0;
  const b = k * (1 - theta0);
  let log =
    betaln(a + canary, b + primary) -
    betaln(a, b) -
    canary * Math.log(theta0) -
    primary * Math.log1p(-theta0);
  if (side) log += logBetaTail(theta0, a + canary, b + primary, side) - logBetaTail(theta0, a, b, side);
  return log;
}

/** Events on each arm over a stretch of time with one traffic split. */
export interface SegmentCounts {
  canary: number;
  primary: number;
  /** The canary's share of requests over the stretch, in (0, 1). */
  share: number;
}

/** log Bayes factor over several stretches (a product of per-stretch factors) for H0: r = r0 or r ≤ r0. */
export function logBayesFactorOverSegments(
  segments: readonly SegmentCounts[],
  ratio0: number,
  k: number,
  side?: Side,
): number {
  let log = 0;
  for (const segment of segments) {
    log += logBayesFactor(segment.canary, segment.primary, eventShare(segment.share, ratio0), k, side);
  }
  return log;
}

/** log((e^a + e^b + …) / n) without overflow. */
export function logMeanExp(logs: readonly number[]): number {
  if (logs.length === 0) return 0;
  const max = Math.max(...logs);
  if (max === Number.NEGATIVE_INFINITY) return max;
  const sum = logs.reduce((total, log) => total + Math.exp(log - max), 0);
  return max + Math.log(sum / logs.length);
}

export interface RatioInterval {
  lower: number;
  upper: number;
}

const LOG_RATIO_LIMIT = 9; // ratios from 1/8000 to 8000: beyond that, report 0 or +∞

/**
 * One end of an anytime-valid confidence interval for the rate ratio r, from the same
 * one-sided tests the judge decides with: the lower end (side greater) is the largest r0
 * whose "r ≤ r0" the evidence rejects at level α, the upper end (side less) the smallest r0
 * whose "r ≥ r0" it rejects. So a regression is decided exactly when the lower end passes the
 * limit, and each end holds at all looks at once with probability at least 1 − α.
 */
export function ratioBound(
  segments: readonly SegmentCounts[],
  alpha: number,
  side: Side,
  k: number = DEFAULT_PRIOR_CONCENTRATION,
): number {
  const threshold = Math.log(1 / alpha);
  const rejects = (logRatio: number) =>
    logBayesFactorOverSegments(segments, Math.exp(logRatio), k, side) >= threshold;
  // The evidence against r ≤ r0 falls as r0 rises (and against r ≥ r0 as r0 falls): bisect.
  const far = side === 'greater' ? -LOG_RATIO_LIMIT : LOG_RATIO_LIMIT;
  if (!rejects(far)) return side === 'greater' ? 0 : Number.POSITIVE_INFINITY;
  const near = -far;
  if (rejects(near)) return Math.exp(near);
  let inside = far;
  let outside = near;
  for (let i = 0; i < 40; i++) {
    const mid = (inside + outside) / 2;
    if (rejects(mid)) inside = mid;
    else outside = mid;
  }
  return Math.exp(inside);
}

/**
 * Confidence sequence for the rate ratio r: every r whose point null the two-sided mixture
 * has not rejected at level α. It covers the true r at all times at once with probability
 * at least 1 − α.
 */
export function ratioConfidenceSequence(
  segments: readonly SegmentCounts[],
  alpha: number,
  k: number = DEFAULT_PRIOR_CONCENTRATION,
): RatioInterval {
  const threshold = Math.log(1 / alpha);
  const evidence = (logRatio: number) =>
    logBayesFactorOverSegments(segments, Math.exp(logRatio), k) - threshold;
  // The evidence is smallest near the estimate; search a coarse grid, then bisect each edge.
  const centre = pooledLogRatio(segments);
  let best = centre;
  let bestValue = evidence(centre);
  for (let x = -LOG_RATIO_LIMIT; x <= LOG_RATIO_LIMIT; x += 0.5) {
    const value = evidence(x);
    if (value < bestValue) {
      best = x;
      bestValue = value;
    }
  }
  if (bestValue >= 0) return { lower: Math.exp(best), upper: Math.exp(best) };
  const edge = (outside: number): number => {
    if (evidence(outside) < 0) return outside;
    let inside = best;
    let out = outside;
    for (let i = 0; i < 40; i++) {
      const mid = (inside + out) / 2;
      if (evidence(mid) < 0) inside = mid;
      else out = mid;
    }
    return inside;
  };
  const low = edge(-LOG_RATIO_LIMIT);
  const high = edge(LOG_RATIO_LIMIT);
  return {
    lower: low <= -LOG_RATIO_LIMIT ? 0 : Math.exp(low),
    upper: high >= LOG_RATIO_LIMIT ? Number.POSITIVE_INFINITY : Math.exp(high),
  };
}

/** log of the pooled ratio estimate (with half an event added to each arm so it stays finite). */
function pooledLogRatio(segments: readonly SegmentCounts[]): number {
  let canary = 0.5;
  let primary = 0.5;
  let share = 0;
  let weight = 0;
  for (const segment of segments) {
    canary += segment.canary;
    primary += segment.primary;
    const events = segment.canary + segment.primary;
    share += segment.share * events;
    weight += events;
  }
  const rho = weight > 0 ? share / weight : (segments[0]?.share ?? 0.5);
  return Math.log(ratioOf(rho, canary / (canary + primary)));
}
