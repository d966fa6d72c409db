// What a benchmark sees of each canary: the moments its status changed phase, weight or
// failed checks, as the benchmark's watch delivered them. Sluice and Flagger write the same
// status fields (phase, canaryWeight, failedChecks), so one reading serves both.

export interface CanaryState {
  at: number;
  phase: string;
  weight: number;
  failedChecks: number;
  /** status.message: for the report (why a step waited); steps and lags read phase and weight only. */
  message?: string;
}

export type Timeline = CanaryState[];

/** Appends `state` when it differs from the last one in phase, weight, failed checks or message. */
export function record(timeline: Timeline, state: CanaryState): boolean {
  const last = timeline.at(-1);
  if (
    last &&
    last.phase === state.phase &&
    last.weight === state.weight &&
    last.failedChecks === state.failedChecks &&
    last.message === state.message
  ) {
    return false;
  }
  timeline.push(state);
  return true;
}

export function stateOf(object: unknown, at: number): CanaryState {
  const status = (object as { status?: Record<string, unknown> }).status ?? {};
  return {
    at,
    phase: typeof status.phase === 'string' ? status.phase : '',
    weight: typeof status.canaryWeight === 'number' ? status.canaryWeight : 0,
    failedChecks: typeof status.failedChecks === 'number' ? status.failedChecks : 0,
    ...(typeof status.message === 'string' ? { message: status.message } : {}),
  };
}

const ACTIVE = new Set(['Progressing', 'Waiting', 'WaitingPromotion', 'Promoting', 'Finalising']);

export interface RolloutOutcome {
  /** Succeeded or Failed; undefined while still running. */
  result: 'Succeeded' | 'Failed' | undefined;
  /** When the canary reached the result (epoch ms). */
  endedAt: number | undefined;
  /** Changes of phase or weight from the revision to the end (both counted). */
  steps: number;
}

/**
 * How the rollout started by a revision at `since` went: it must have become active
 * (Progressing, …) before a terminal phase counts, so a Succeeded left from before is not read
 * as the end.
 */
export function rolloutOutcome(timeline: Timeline, since: number): RolloutOutcome {
  let active = false;
  let steps = 0;
  let previous: CanaryState | undefined;
  for (const state of timeline) {
    if (state.at < since) {
      previous = state;
      continue;
    }
    if (!previous || previous.phase !== state.phase || previous.weight !== state.weight) steps += 1;
    previous = state;
    if (ACTIVE.has(state.phase)) active = true;
    if (active && (state.phase === 'Succeeded' || state.phase === 'Failed')) {
      return { result: state.phase, endedAt: state.at, steps };
    }
  }
  return { result: undefined, endedAt: undefined, steps };
}

/**
 * Tick lag seen from outside: for each pair of consecutive weight increases in Progressing
 * (each one analysis interval apart by spec), how much longer than the interval the gap was
 * (ms; negative when shorter). The same reading for any controller, whatever its scheduler.
 */
export function stepLags(timeline: Timeline, since: number, intervalMs: number): number[] {
  const increases: number[] = [];
  let previous: CanaryState | undefined;
  for (const state of timeline) {
    if (
      state.at >= since &&
      previous &&
      state.phase === 'Progressing' &&
      previous.phase === 'Progressing' &&
      state.weight > previous.weight
    ) {
      increases.push(state.at);
    }
    previous = state;
  }
  const lags: number[] = [];
  for (let i = 1; i < increases.length; i += 1) {
    lags.push((increases[i] as number) - (increases[i - 1] as number) - intervalMs);
  }
  return lags;
}
