import type { Plan } from './plan.ts';
import { say } from './queue.ts';
import type { Context, Readiness, ReadinessTrack } from './types.ts';

// Readiness clocks: how long the canary and the primary have been not ready, summed over
// every stretch, against the progress deadline. Timestamps in the context, never timers
// (xstate `after` timers do not survive a restore).

export function freshTrack(): ReadinessTrack {
  return { ready: false, since: null, unreadyMs: 0 };
}

/** Starts the deadline clock: not ready from now on. */
export function startedTrack(now: number): ReadinessTrack {
  return { ready: false, since: now, unreadyMs: 0 };
}

/** A new rollout's clock: the readiness known, the not-ready time counted from zero (from now if not ready). */
export function restartedTrack(track: ReadinessTrack, now: number): ReadinessTrack {
  return track.ready
    ? { ready: true, since: null, unreadyMs: 0 }
    : { ...startedTrack(now), ...(track.message ? { message: track.message } : {}) };
}

export function observe(track: ReadinessTrack, readiness: Readiness, now: number, message?: string): void {
  if (readiness === 'ready') {
    if (track.since !== null) track.unreadyMs += Math.max(0, now - track.since);
    track.since = null;
    track.ready = true;
    delete track.message;
  } else {
    if (track.ready || track.since === null) track.since = now;
    track.ready = false;
    if (message) track.message = message;
  }
}

/** Time spent not ready, summed over every stretch since the clock started. */
export function unreadyFor(track: ReadinessTrack, now: number): number {
  return track.unreadyMs + (track.since === null ? 0 : Math.max(0, now - track.since));
}

/** When the deadline runs out if the workload stays not ready (null while ready or not counting). */
export function deadlineAt(track: ReadinessTrack, deadlineMs: number): number | null {
  if (track.ready || track.since === null) return null;
  return track.since + Math.max(0, deadlineMs - track.unreadyMs);
}

export function scaleUpPending(d: Context): boolean {
  return d.pending.some((effect) => effect.kind === 'scaleCanary' && effect.to === 'up');
}

export function promotePending(d: Context): boolean {
  return d.pending.some((effect) => effect.kind === 'promote');
}

/** Readiness observed while the matching effect is still pending describes the old spec: ignored. */
export function observeReadiness(
  d: Context,
  event: { canary?: Readiness; primary?: Readiness; primaryMessage?: string },
  now: number,
): void {
  if (event.canary && !scaleUpPending(d)) observe(d.canary, event.canary, now);
  // Why the primary is not ready is kept only where a rollout waits on it (written to status
  // with the wait); while it rolls out a promotion its changing words would only cost writes.
  const why = d.phase === 'Progressing' || d.phase === 'WaitingPromotion' ? event.primaryMessage : undefined;
  if (event.primary && !promotePending(d)) observe(d.primary, event.primary, now, why);
}

/** A step found the workload not ready: look again one interval later. */
export function waitFor(d: Context, plan: Plan, now: number, what: 'canary' | 'primary'): void {
  d.nextTickAt = now + plan.intervalMs;
  d.message = `waiting for the ${what} to become ready`;
}

/** The status message (and condition reason PrimaryNotReady) of a rollout held for its primary. */
export const PRIMARY_WAIT = 'waiting for the primary to become ready before moving traffic';

/** The rollout is held because the primary has no ready pods (status reason PrimaryNotReady). */
export function waitingForPrimary(d: Context): boolean {
  return d.message.startsWith(PRIMARY_WAIT);
}

/**
 * No round opens and no step moves traffic while the primary is not ready: the one fallback
 * must be able to take the traffic back. Announced with one Event per wait; the progress
 * deadline runs on the primary's readiness clock.
 */
export function waitForPrimaryBeforeTraffic(d: Context, plan: Plan, now: number): void {
  const announced = waitingForPrimary(d);
  waitFor(d, plan, now, 'primary');
  const message = `${PRIMARY_WAIT}${d.primary.message ? `: ${d.primary.message}` : ''}`;
  if (announced) d.message = message;
  else say(d, 'Warning', 'PrimaryNotReady', message);
}
