import { isPrimaryOnly, PRIMARY_ONLY } from '../api/routes.ts';
import { freshTrack, promotePending, restartedTrack, unreadyFor } from './clocks.ts';
import { hasHook, programKey, type Plan } from './plan.ts';
import { currentRevision, drop, enqueue, runWebhooks, say, sayStep, setRoutes } from './queue.ts';
import { cancelLook, cancelRound, INCONCLUSIVE } from './round.ts';
import type { Context, Readiness } from './types.ts';

// The bodies of the machine's transitions between phases: starting a rollout, promoting,
// and the one way every rollout ends (endRollout). Operations on a draft of the context.

// ---- Rollout state ----

/**
 * Clears what a running rollout keeps in the context: its round and the requests it
 * waits for, a promotion not carried out yet, its place in the program, pauses and
 * gates. The same whether a rollout starts or ends.
 */
function clearRolloutState(d: Context): void {
  cancelRound(d);
  cancelLook(d);
  drop(d, (effect) => effect.kind === 'promote' || effect.kind === 'runAnalysis');
  d.cursor = 0;
  d.pauseUntil = null;
  d.pauseReleased = false;
  // A pause for inconclusive analyses belongs to its rollout; a person's pause command stands.
  if (d.gateWaiting === INCONCLUSIVE) d.paused = false;
  d.inconclusiveRounds = 0;
  d.gateWaiting = null;
  d.promotionApplied = false;
}

// ---- Starting ----

function startAnalysis(d: Context, plan: Plan): void {
  clearRolloutState(d);
  d.restore = null;
  d.failedChecks = 0;
  d.iterations = 0;
  d.programKey = programKey(plan);
}

export function beginRollout(d: Context, plan: Plan, revision: string): void {
  startAnalysis(d, plan);
  d.revision = revision;
  say(d, 'Normal', 'NewRevision', 'new revision detected, starting canary analysis', 'info');
}

export function startCanary(d: Context, plan: Plan, now: number): void {
  cancelRound(d);
  d.gateWaiting = null;
  enqueue(d, { kind: 'scaleCanary', to: 'up' });
  d.canary = freshTrack();
  // The primary's readiness clock counts this rollout's wait for it, from zero.
  d.primary = restartedTrack(d.primary, now);
  d.nextTickAt = now + plan.intervalMs;
  startLooking(d, plan, now);
  d.message = 'scaling up the canary';
}

export function restartAnalysis(d: Context, plan: Plan, now: number, revision: string | undefined): void {
  startAnalysis(d, plan);
  if (!isPrimaryOnly(d.routes)) setRoutes(d, PRIMARY_ONLY);
  if (revision !== undefined) {
    d.revision = revision;
    say(d, 'Normal', 'NewRevision', 'new revision detected, restarting canary analysis', 'info');
  } else {
    say(d, 'Normal', 'Restarted', 'analysis steps changed, restarting canary analysis', 'info');
  }
  enqueue(d, { kind: 'scaleCanary', to: 'up' });
  d.canary = freshTrack();
  d.nextTickAt = now + plan.intervalMs;
  startLooking(d, plan, now);
}

/** The looks between rounds (judge, failFast metrics) start with the canary. */
function startLooking(d: Context, plan: Plan, now: number): void {
  if (plan.lookEveryMs > 0) d.nextLookAt = now + plan.lookEveryMs;
}

export function switchRevision(d: Context, revision: string): void {
  d.revision = revision;
  d.message = 'new revision detected while waiting for approval';
}

// ---- Promoting ----

export type PromotionCause = 'analysis' | 'command' | 'skipAnalysis';

export function startPromotion(d: Context, plan: Plan, now: number, cause: PromotionCause): void {
  cancelRound(d);
  cancelLook(d);
  d.gateWaiting = null;
  d.pauseUntil = null;
  // A person who promotes means "go on": a standing pause command ends here.
  if (cause === 'command') d.paused = false;
  if (cause === 'skipAnalysis' && !isPrimaryOnly(d.routes)) setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'promote', revision: currentRevision(d) });
  d.promotionApplied = false;
  d.primary = freshTrack();
  d.nextTickAt = now + plan.intervalMs;
  const why = {
    analysis: 'analysis passed',
    command: 'promoted by command, remaining steps skipped',
    skipAnalysis: 'canary analysis skipped',
  }[cause];
  say(
    d,
    'Normal',
    'Promoting',
    `${why}: copying the canary spec to the primary`,
    cause === 'analysis' ? undefined : 'info',
  );
}

export function shiftTrafficToPrimary(d: Context, plan: Plan, now: number): void {
  const canaryWeight = Math.max(0, d.routes.canaryWeight - plan.stepWeightPromotion);
  setRoutes(d, { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: d.routes.match });
  sayStep(d, 'Advance', `advance primary weight ${100 - canaryWeight}`);
  d.nextTickAt = now + plan.intervalMs;
}

/** The Finalising phase: all traffic back to the (promoted) primary, the canary scaled down. */
export function retireCanary(d: Context, plan: Plan, now: number): void {
  if (!isPrimaryOnly(d.routes) || d.routes.primaryWeight !== 100) setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  d.nextTickAt = now + plan.intervalMs;
  sayStep(d, 'Finalising', 'routing all traffic to the primary, scaling the canary down');
}

/** A rollback's route write is done and the primary is ready: it serves all traffic again. */
export function primaryRestored(d: Context): boolean {
  return (
    d.restore !== null &&
    d.restore.restoredAt === null &&
    d.primary.ready &&
    !d.pending.some((effect) => effect.kind === 'setRoutes')
  );
}

export function recordRestore(d: Context, now: number): void {
  if (d.restore) d.restore.restoredAt = now;
}

/** The routes and the scale-down of the Finalising phase are carried out. */
export function canaryRetired(d: Context): boolean {
  return !d.pending.some((effect) => effect.kind === 'setRoutes' || effect.kind === 'scaleCanary');
}

// ---- Ending ----

export type RollbackCause =
  | 'failedChecks'
  | 'canaryDeadline'
  | 'primaryDeadline'
  | 'rollbackHook'
  | 'aborted'
  | 'noProgress'
  | 'fastFail'
  | 'primaryNotReady';

/** How a rollout ends. */
export type RolloutEnd =
  /** Finalising is done: the primary runs the new revision and has all traffic. */
  | { outcome: 'promoted' }
  /** Traffic back to the primary, the canary down, the revision marked failed. */
  | { outcome: 'rolledBack'; cause: RollbackCause; now: number; detail?: string }
  /** The target went back to the primary's revision during a rollout (a revert in Git). */
  | { outcome: 'cancelled'; revision: string }
  /** The target of a failed canary went back to the primary's revision: nothing is left to roll out. */
  | { outcome: 'recovered'; revision: string };

/**
 * What each end does beyond clearing the rollout state and the next tick (the same for
 * all). These differences are intended; transitions.test.ts holds each of them.
 * - traffic: `force` re-sends primary-only routes even when the context has them (a
 *   rollback is the write that must land); `primary` sends them only when traffic moved;
 *   `asIs` leaves them (Finalising already moved them and waited; a rollback did).
 * - failedChecks stay after a rollback (why it failed), a promotion (what it passed
 *   despite) and a cancellation; a recovery clears them: the canary is healthy again.
 * - iterations stay to say how far a rollback or a cancelled rollout got; a promotion
 *   went all the way and starts the count again.
 */
const ENDS = {
  promoted: { traffic: 'asIs', failedChecks: 'keep', iterations: 'reset' },
  rolledBack: { traffic: 'force', failedChecks: 'keep', iterations: 'keep' },
  cancelled: { traffic: 'primary', failedChecks: 'keep', iterations: 'keep' },
  recovered: { traffic: 'asIs', failedChecks: 'reset', iterations: 'keep' },
} as const satisfies Record<
  RolloutEnd['outcome'],
  { traffic: 'asIs' | 'force' | 'primary'; failedChecks: 'keep' | 'reset'; iterations: 'keep' | 'reset' }
>;

/** Every rollout ends here: promoted, rolled back, cancelled or recovered. */
export function endRollout(d: Context, plan: Plan, end: RolloutEnd): void {
  // Read before the round goes: a rollback says what it was for.
  const rollbackHook = d.round?.rollback;
  const fastFail = d.look?.rollback;
  const failures = d.round?.failures ?? [];
  const primaryWhy = d.primary.message;
  clearRolloutState(d);
  d.nextTickAt = null;
  const rules = ENDS[end.outcome];
  if (rules.traffic !== 'asIs') {
    if (rules.traffic === 'force' || !isPrimaryOnly(d.routes)) setRoutes(d, PRIMARY_ONLY);
    enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  }
  if (rules.failedChecks === 'reset') d.failedChecks = 0;
  if (rules.iterations === 'reset') d.iterations = 0;
  switch (end.outcome) {
    case 'promoted':
      d.lastPromoted = currentRevision(d);
      d.primaryRevision = d.lastPromoted;
      say(d, 'Normal', 'Succeeded', 'promotion completed', 'info');
      if (hasHook(plan, 'post-rollout')) runWebhooks(d, 'post-rollout', 'Succeeded');
      return;
    case 'rolledBack': {
      d.restore = { decidedAt: end.now, restoredAt: null };
      if (end.cause === 'failedChecks') d.failedChecks += 1;
      const seconds = Math.round(plan.progressDeadlineMs / 1000);
      // The checks that failed this round: at threshold 1 no Halt Event said why, so the
      // rollback's own message (Event, status, Stalled condition, Slack) must.
      const reason = {
        failedChecks: `failed checks threshold reached ${d.failedChecks}${failures.length ? `: ${failures.join('; ')}` : ''}`,
        canaryDeadline: `canary not ready within the progress deadline (${seconds}s)`,
        primaryDeadline: `primary not ready within the progress deadline (${seconds}s) after promotion`,
        rollbackHook: rollbackHook ?? 'a rollback webhook asked for it',
        aborted: 'aborted by command',
        noProgress: `no progress within the progress deadline (${seconds}s): ${end.detail ?? 'effects kept failing'}`,
        fastFail: `fast-fail check between steps: ${fastFail ?? 'a decisive regression'}`,
        primaryNotReady: `primary not ready within the progress deadline (${seconds}s)${primaryWhy ? `: ${primaryWhy}` : ''}`,
      }[end.cause];
      say(d, 'Warning', 'RolledBack', `rolling back: ${reason}`, 'error');
      if (hasHook(plan, 'post-rollout') && d.revision !== null) runWebhooks(d, 'post-rollout', 'Failed');
      return;
    }
    case 'cancelled':
      d.revision = end.revision;
      say(
        d,
        'Normal',
        'RolloutCancelled',
        'target reverted to the last promoted revision: rollout cancelled',
        'info',
      );
      return;
    case 'recovered':
      d.revision = end.revision;
      say(
        d,
        'Normal',
        'Recovered',
        'target reverted to the revision the primary runs: nothing to roll out',
        'info',
      );
      return;
  }
}

// ---- Initialization ----

export function initializePrimary(d: Context, revision: string): void {
  d.revision = revision;
  enqueue(d, { kind: 'promote', revision });
  d.primary = freshTrack();
  d.message = 'creating the primary from the target';
}

/** The status message (condition Stalled, reason PrimaryNotReady) of a bootstrap whose primary missed its deadline. */
export const PRIMARY_INIT_STALLED = 'primary not ready within the progress deadline';

/** Initializing, and the primary missed its deadline: Stalled, still waiting. */
export function initializationStalled(d: Context): boolean {
  return d.phase === 'Initializing' && d.message.startsWith(PRIMARY_INIT_STALLED);
}

/**
 * Initializing: the primary gets progressDeadlineSeconds of not being ready, or less when it
 * is found failing. Then the canary says so (a Warning Event, the status message with why,
 * condition Stalled) and goes on waiting: there is nothing to roll back to, and a primary
 * that turns ready later still finishes the bootstrap. The message keeps the why of the
 * deadline: the controller reads the pods for that one look only (podReadsFor).
 */
export function watchInitialization(
  d: Context,
  plan: Plan,
  now: number,
  event: { primary?: Readiness; primaryMessage?: string },
): void {
  if (d.revision === null || d.primary.ready || promotePending(d) || d.primary.since === null) return;
  // Said once, with the why read at the deadline (the pods then; the status alone after).
  if (initializationStalled(d)) return;
  const failing = event.primary === 'deadlineExceeded';
  if (!failing && unreadyFor(d.primary, now) < plan.progressDeadlineMs) return;
  const seconds = Math.round(plan.progressDeadlineMs / 1000);
  const why = event.primaryMessage ? `: ${event.primaryMessage}` : '';
  const message = `${PRIMARY_INIT_STALLED} (${seconds}s)${why}; the bootstrap goes on when it is`;
  say(d, 'Warning', 'PrimaryNotReady', message, 'error');
}

export function primaryInitialized(d: Context): boolean {
  return d.revision !== null && d.primaryRevision === d.revision && !promotePending(d) && d.primary.ready;
}

export function finishInitialization(d: Context): void {
  setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  d.lastPromoted = currentRevision(d);
  d.primaryRevision = d.lastPromoted;
  say(d, 'Normal', 'Initialized', 'initialization done', 'info');
}

// ---- Commands and suspension ----

export function pause(d: Context): void {
  if (d.paused) return;
  d.paused = true;
  say(d, 'Normal', 'Paused', 'advancement paused by command; checks go on');
}

export function resume(d: Context, plan: Plan): void {
  const step = plan.steps[d.cursor];
  const atIndefinitePause = step?.kind === 'pause' && step.durationMs === null;
  if (!d.paused && !atIndefinitePause) return;
  d.paused = false;
  if (d.gateWaiting === INCONCLUSIVE) {
    d.gateWaiting = null;
    d.inconclusiveRounds = 0;
  }
  if (atIndefinitePause) d.pauseReleased = true;
  say(d, 'Normal', 'Resumed', 'advancement resumed by command');
}

export function ignoreCommand(d: Context, command: string): void {
  say(d, 'Warning', 'CommandIgnored', `${command} ignored: the canary is ${d.phase}`);
}

export function freeze(d: Context, now: number): void {
  cancelRound(d);
  cancelLook(d);
  d.suspendedAt = now;
  say(d, 'Normal', 'Suspended', 'canary suspended: analysis frozen');
}

/** Resumes after spec.suspend: every clock is shifted by the time spent suspended. */
export function thaw(d: Context, now: number): void {
  const frozenFor = d.suspendedAt === null ? 0 : Math.max(0, now - d.suspendedAt);
  d.suspendedAt = null;
  if (d.pauseUntil !== null) d.pauseUntil += frozenFor;
  if (d.canary.since !== null) d.canary.since += frozenFor;
  if (d.primary.since !== null) d.primary.since += frozenFor;
  if (d.nextTickAt !== null) d.nextTickAt = now;
  say(d, 'Normal', 'Resumed', 'canary resumed');
}
