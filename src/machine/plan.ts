import {
  DEFAULT_CHECK_EVERY,
  strategyOf,
  type CanarySpec,
  type HookType,
  type Strategy,
} from '../api/canary.ts';
import { durationMs } from '../api/duration.ts';
import { FieldMessageError } from '../api/validate.ts';

// The plan is the machine's view of a Canary spec: a short program of steps plus the few
// numbers the machine compares against. It is recomputed from the spec on every
// reconcile and passed in with each event, so the persisted snapshot never copies the spec.

/** One step of the analysis program the machine walks. */
export type ProgramStep =
  /** Pre-rollout webhooks at weight 0; the first step of every program. */
  | { kind: 'preRollout' }
  /** One passing round of checks (rollout webhooks + metrics) at the current routes. */
  | { kind: 'analysis' }
  /** Route this percentage of traffic to the canary. */
  | { kind: 'setWeight'; weight: number }
  /** Keep all traffic on the primary and mirror it to the canary. */
  | { kind: 'mirror' }
  /** A/B testing: requests matching `analysis.match` go to the canary. */
  | { kind: 'match' }
  /** Blue/green: all traffic to the canary for the final iteration. */
  | { kind: 'switch' }
  /** Hold for a duration, or (durationMs null) until resumed or promoted by a person. */
  | { kind: 'pause'; durationMs: number | null }
  /** The confirm-promotion gate (only stops the program when such webhooks exist). */
  | { kind: 'confirmPromotion' };

export interface Plan {
  strategy: Strategy;
  /** The program, from `preRollout` to the last analysis; promotion follows its end. */
  steps: ProgramStep[];
  /** The highest canary weight a step sets (100 for A/B and blue/green routes). */
  maxWeight: number;
  /** Weight moved back to the primary per interval while promoting; 0 switches at once. */
  stepWeightPromotion: number;
  iterations: number;
  mirror: boolean;
  /** Failed checks that roll the canary back. */
  threshold: number;
  /** Consecutive inconclusive rounds that pause the canary for a person. */
  inconclusiveLimit: number;
  intervalMs: number;
  progressDeadlineMs: number;
  /** The webhook types the Canary configures, sorted. */
  hooks: HookType[];
  /** A round runs the analysis: metric checks, the judge, or both. */
  hasMetrics: boolean;
  /**
   * Between rounds, look at the judge and the failFast metrics this often (ms; 0: no looks).
   * `analysis.checkEvery`, at most the interval.
   */
  lookEveryMs: number;
  skipAnalysis: boolean;
  suspend: boolean;
}

/** The slice of the Canary spec the plan reads (Flagger's field names). */
export type PlanSpec = Pick<CanarySpec, 'analysis'> &
  Partial<
    Pick<CanarySpec, 'progressDeadlineSeconds' | 'skipAnalysis' | 'suspend' | 'provider' | 'targetRef'>
  >;

export interface PlanOptions {
  /** The controller's default provider, used when the spec names none. */
  defaultProvider?: string;
  /** Prometheus' scrape interval: a look between steps sooner than it sees the same samples. */
  minLookEveryMs?: number;
}

export class PlanError extends FieldMessageError {}

/** Flagger runs this many blue/green iterations when the kubernetes provider has none set. */
const KUBERNETES_DEFAULT_ITERATIONS = 10;

/**
 * The plan holds one step per iteration: `iterations: 2147483648` ran the controller out of
 * memory, for every canary, again at each restart (found by `npm run chaos -- fuzz`).
 */
export const MAX_ITERATIONS = 1000;

/** Normalizes a Canary spec into the plan the machine walks. */
export function planFromSpec(spec: PlanSpec, options: PlanOptions = {}): Plan {
  const analysis = spec.analysis;
  const provider = spec.provider ?? options.defaultProvider;
  let strategy = strategyOf(analysis);
  let iterations = analysis.iterations ?? 0;
  let mirror = analysis.mirror ?? false;
  // The kubernetes provider switches Service selectors: no weights, no mirroring, no
  // header matches, so Flagger turns every Canary into blue/green there. A StatefulSet
  // moves pods, not traffic: its steps stand whatever the provider.
  if (provider === 'kubernetes' && spec.targetRef?.kind !== 'StatefulSet') {
    strategy = 'blueGreen';
    iterations = iterations > 0 ? iterations : KUBERNETES_DEFAULT_ITERATIONS;
    mirror = false;
  }
  if (iterations > MAX_ITERATIONS)
    throw new PlanError('spec.analysis.iterations', `expected at most ${MAX_ITERATIONS}, got ${iterations}`);
  const hooks = [...new Set((analysis.webhooks ?? []).map((hook) => hook.type))].sort();

  let steps: ProgramStep[];
  if (strategy === 'abTesting') {
    steps = [{ kind: 'preRollout' }, { kind: 'match' }, ...repeat(iterations), { kind: 'confirmPromotion' }];
  } else if (strategy === 'blueGreen') {
    steps = [
      { kind: 'preRollout' },
      ...(mirror ? [{ kind: 'mirror' } as const] : []),
      ...repeat(iterations),
      { kind: 'confirmPromotion' },
      { kind: 'switch' },
      { kind: 'analysis' },
    ];
  } else {
    steps = [
      { kind: 'preRollout' },
      ...(mirror ? [{ kind: 'mirror' } as const, { kind: 'analysis' } as const] : []),
    ];
    steps.push(...canarySteps(analysis));
    // Promotion always follows a passing analysis at the final routes.
    if (steps.at(-1)?.kind !== 'analysis') steps.push({ kind: 'analysis' });
    steps.push({ kind: 'confirmPromotion' });
  }

  const weights = steps.flatMap((step) => (step.kind === 'setWeight' ? [step.weight] : []));
  const intervalMs = durationMs(analysis.interval ?? '60s', 'spec.analysis.interval');
  const looks = analysis.judge !== undefined || (analysis.metrics ?? []).some((metric) => metric.failFast);
  return {
    strategy,
    steps,
    maxWeight: strategy === 'canary' ? Math.max(0, ...weights) : 100,
    stepWeightPromotion: analysis.stepWeightPromotion ?? 0,
    iterations,
    mirror,
    threshold: analysis.threshold ?? 1,
    inconclusiveLimit: analysis.inconclusiveLimit ?? 1,
    intervalMs,
    progressDeadlineMs: (spec.progressDeadlineSeconds ?? 600) * 1000,
    hooks,
    hasMetrics: (analysis.metrics?.length ?? 0) > 0 || analysis.judge !== undefined,
    lookEveryMs: looks
      ? Math.min(
          intervalMs,
          Math.max(
            durationMs(analysis.checkEvery ?? DEFAULT_CHECK_EVERY, 'spec.analysis.checkEvery'),
            options.minLookEveryMs ?? 0,
          ),
        )
      : 0,
    skipAnalysis: spec.skipAnalysis ?? false,
    suspend: spec.suspend ?? false,
  };
}

function repeat(count: number): ProgramStep[] {
  return Array.from({ length: count }, () => ({ kind: 'analysis' }) as const);
}

/** The weighted part of a canary program: explicit steps, stepWeights, or stepWeight up to maxWeight. */
function canarySteps(analysis: PlanSpec['analysis']): ProgramStep[] {
  if (analysis.steps?.length) {
    return analysis.steps.map((step, i): ProgramStep => {
      if (step.setWeight !== undefined) return { kind: 'setWeight', weight: clampWeight(step.setWeight) };
      if (step.pause !== undefined) {
        const duration = step.pause.duration;
        return {
          kind: 'pause',
          durationMs:
            duration === undefined ? null : durationMs(duration, `spec.analysis.steps[${i}].pause.duration`),
        };
      }
      if (step.analysis !== undefined) return { kind: 'analysis' };
      throw new PlanError(`spec.analysis.steps[${i}]`, 'expected one of setWeight, pause or analysis');
    });
  }
  const weights = analysisWeights(analysis);
  if (weights.length === 0) {
    throw new PlanError('spec.analysis', 'expected one of stepWeight, stepWeights, iterations or steps');
  }
  return weights.flatMap((weight) => [{ kind: 'setWeight', weight } as const, { kind: 'analysis' } as const]);
}

/** Flagger's weights: the stepWeights list (capped at 100), or stepWeight increments up to maxWeight. */
export function analysisWeights(analysis: PlanSpec['analysis']): number[] {
  if (analysis.stepWeights?.length) {
    const capped = analysis.stepWeights.map(clampWeight);
    return capped.filter((weight, i) => weight > 0 && (i === 0 || weight > capped[i - 1]!));
  }
  const step = analysis.stepWeight ?? 0;
  if (step <= 0) return [];
  // Unlike Flagger, the last step stops at maxWeight instead of overshooting it.
  const max = clampWeight(analysis.maxWeight ?? 100);
  const weights: number[] = [];
  for (let weight = step; weight < max; weight += step) weights.push(weight);
  weights.push(max);
  return weights;
}

function clampWeight(weight: number): number {
  return Math.min(100, Math.max(0, Math.round(weight)));
}

/** True when the Canary configures at least one webhook of this type. */
export function hasHook(plan: Plan, type: HookType): boolean {
  return plan.hooks.includes(type);
}

/** A short fingerprint of a value's JSON (FNV-1a), to notice plan changes without storing the plan. */
export function fingerprint(value: unknown): string {
  const text = JSON.stringify(value);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

/** Fingerprint of the whole plan: a change makes the driver send SPEC_CHANGED first. */
export function planKey(plan: Plan): string {
  return fingerprint(plan);
}

/** Fingerprint of what the step cursor points into: a change mid-analysis restarts it. */
export function programKey(plan: Plan): string {
  return fingerprint([plan.strategy, plan.steps]);
}
