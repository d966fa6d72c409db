import type { HookType } from '../api/canary.ts';
import { formatDuration } from '../api/duration.ts';
import { isPrimaryOnly, PRIMARY_ONLY, type Routes } from '../api/routes.ts';
import { hasHook, programKey, type Plan, type ProgramStep } from './plan.ts';
import type {
  Context,
  EffectRequest,
  GateType,
  Phase,
  Readiness,
  ReadinessTrack,
  Round,
  Severity,
} from './types.ts';

// Pure operations on a draft of the context. The machine's actions clone the context,
// apply one of these and return the draft, so every decision stays a function of
// (context, plan, event) and the persisted snapshot is all there is to restore.

/** Messages (events, notifications, fire-and-forget hooks) kept pending at most; older ones are dropped. */
export const MAX_PENDING_MESSAGES = 16;

/** Requests that answer with a result and belong to a round (or a promotion, for `promote`). */
const SUPERSEDED_BY_KIND = new Set(['setRoutes', 'scaleCanary', 'promote']);

function isMessage(effect: EffectRequest): boolean {
  return (
    effect.kind === 'notify' ||
    effect.kind === 'recordEvent' ||
    (effect.kind === 'runWebhooks' && (effect.type === 'post-rollout' || effect.type === 'event'))
  );
}

/**
 * Queues an effect and returns its id. Absolute effects (routes, scale, promote) replace an
 * unconfirmed one of the same kind, since only the latest matters; messages are capped.
 */
export function enqueue(d: Context, effect: EffectRequest): number {
  const id = ++d.seq;
  if (SUPERSEDED_BY_KIND.has(effect.kind)) d.pending = d.pending.filter((p) => p.kind !== effect.kind);
  if (isMessage(effect)) {
    const messages = d.pending.filter(isMessage);
    const excess = messages.length - (MAX_PENDING_MESSAGES - 1);
    if (excess > 0) {
      const dropped = new Set(messages.slice(0, excess).map((m) => m.id));
      d.pending = d.pending.filter((p) => !dropped.has(p.id));
    }
  }
  d.pending.push({ ...effect, id } as Context['pending'][number]);
  if (effect.kind === 'setRoutes') {
    d.routes = {
      primaryWeight: effect.primaryWeight,
      canaryWeight: effect.canaryWeight,
      mirror: effect.mirror,
      match: effect.match,
    };
  }
  return id;
}

function drop(d: Context, predicate: (effect: Context['pending'][number]) => boolean): void {
  d.pending = d.pending.filter((effect) => !predicate(effect));
}

export function setRoutes(d: Context, routes: Routes): void {
  enqueue(d, { kind: 'setRoutes', ...routes });
}

/** Records an Event (and optionally a notification) and makes it the status message. */
export function say(
  d: Context,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  notify?: Severity,
): void {
  d.message = message;
  enqueue(d, { kind: 'recordEvent', type, reason, message });
  if (notify) enqueue(d, { kind: 'notify', severity: notify, message });
}

/** A routine step of a rollout: the status message, and an Event marked as a step. */
export function sayStep(d: Context, reason: string, message: string): void {
  d.message = message;
  enqueue(d, { kind: 'recordEvent', type: 'Normal', reason, message, step: true });
}

export function currentRevision(d: Context): string {
  if (d.revision === null) throw new Error('canary state machine: no revision recorded in this state');
  return d.revision;
}

function runWebhooks(d: Context, type: HookType, phase: Phase): number {
  return enqueue(d, { kind: 'runWebhooks', type, phase, revision: currentRevision(d) });
}

// ---- Readiness and the progress deadline ----

export function freshTrack(): ReadinessTrack {
  return { ready: false, since: null, unreadyMs: 0 };
}

/** Starts the deadline clock: not ready from now on. */
export function startedTrack(now: number): ReadinessTrack {
  return { ready: false, since: now, unreadyMs: 0 };
}

export function observe(track: ReadinessTrack, readiness: Readiness, now: number): void {
  if (readiness === 'ready') {
    if (track.since !== null) track.unreadyMs += Math.max(0, now - track.since);
    track.since = null;
    track.ready = true;
  } else {
    if (track.ready || track.since === null) track.since = now;
    track.ready = false;
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
  event: { canary?: Readiness; primary?: Readiness },
  now: number,
): void {
  if (event.canary && !scaleUpPending(d)) observe(d.canary, event.canary, now);
  if (event.primary && !promotePending(d)) observe(d.primary, event.primary, now);
}

// ---- Effect completion ----

export function confirmEffect(d: Context, effectId: number, now: number): void {
  const effect = d.pending.find((p) => p.id === effectId);
  if (!effect) return;
  drop(d, (p) => p.id === effectId);
  if (effect.kind === 'promote') {
    d.primaryRevision = effect.revision;
    d.promotionApplied = true;
    // The primary rolls out the new spec now; its deadline clock starts here.
    d.primary = startedTrack(now);
  } else if (effect.kind === 'scaleCanary' && effect.to === 'up') {
    d.canary = startedTrack(now);
  }
}

/** A result nobody waits for any more (stale, or a fire-and-forget hook): confirm, report failures. */
export function recordLateResult(
  d: Context,
  event: { effectId: number; passed?: boolean; name?: string; message?: string },
  now: number,
): void {
  const effect = d.pending.find((p) => p.id === event.effectId);
  confirmEffect(d, event.effectId, now);
  if (effect?.kind === 'runWebhooks' && effect.type === 'post-rollout' && event.passed === false) {
    const who = event.name ? `post-rollout webhook ${event.name}` : 'post-rollout webhook';
    say(d, 'Warning', 'PostRolloutFailed', `${who} failed${event.message ? `: ${event.message}` : ''}`);
  }
}

// ---- Rounds: one interval's checks ----

function newRound(now: number): Round {
  return { openedAt: now, awaiting: [], failures: [], rollback: null, gate: null };
}

function request(d: Context, round: Round, id: number): void {
  round.awaiting.push(id);
  d.round = round;
}

/** Drops an open round and the requests nobody will wait for any more. */
export function cancelRound(d: Context): void {
  const round = d.round;
  if (round) {
    const ids = new Set([...round.awaiting, ...(round.gate ? [round.gate.id] : [])]);
    drop(d, (effect) => ids.has(effect.id));
  }
  d.round = null;
}

/** Starts the checks of one interval: rollback hooks, then pre-rollout hooks or rollout hooks + metrics. */
export function openRound(d: Context, plan: Plan, now: number): void {
  d.nextTickAt = now + plan.intervalMs;
  const round = newRound(now);
  d.round = round;
  const phase = d.phase;
  if (hasHook(plan, 'rollback')) request(d, round, runWebhooks(d, 'rollback', phase));
  if (plan.steps[d.cursor]?.kind === 'preRollout') {
    if (hasHook(plan, 'pre-rollout')) request(d, round, runWebhooks(d, 'pre-rollout', phase));
  } else {
    if (hasHook(plan, 'rollout')) request(d, round, runWebhooks(d, 'rollout', phase));
    if (plan.hasMetrics) request(d, round, enqueue(d, { kind: 'runAnalysis', revision: currentRevision(d) }));
  }
}

/** Asks a confirm gate within the current round (opening one when there is none). */
export function requestGate(d: Context, plan: Plan, now: number, type: GateType): void {
  const round = d.round ?? newRound(now);
  const id = runWebhooks(d, type, d.phase);
  round.gate = { id, type, passed: null };
  request(d, round, id);
}

export function recordRoundResult(
  d: Context,
  event:
    | { type: 'WEBHOOK_RESULT'; effectId: number; passed: boolean; name?: string; message?: string }
    | {
        type: 'ANALYSIS_RESULT';
        effectId: number;
        outcome: 'passed' | 'failed' | 'noData';
        reasons?: string[];
      },
  now: number,
): void {
  const round = d.round;
  const effect = d.pending.find((p) => p.id === event.effectId);
  if (!round || !effect) return;
  round.awaiting = round.awaiting.filter((id) => id !== event.effectId);
  confirmEffect(d, event.effectId, now);
  if (event.type === 'ANALYSIS_RESULT') {
    if (event.outcome !== 'passed') {
      const why = event.reasons?.length ? event.reasons.join('; ') : 'no reason given';
      round.failures.push(event.outcome === 'noData' ? `no data: ${why}` : why);
    }
    return;
  }
  if (effect.kind !== 'runWebhooks') return;
  const who = `${effect.type} webhook${event.name ? ` ${event.name}` : ''}`;
  if (effect.type === 'rollback') {
    if (event.passed) round.rollback = `${who} asked for it`;
  } else if (round.gate?.id === effect.id) {
    round.gate.passed = event.passed;
  } else if (!event.passed) {
    round.failures.push(`${who} failed${event.message ? `: ${event.message}` : ''}`);
  }
}

// ---- Round outcomes ----

export function countFailedCheck(d: Context, plan: Plan): void {
  const reasons = d.round?.failures.join('; ') ?? '';
  d.round = null;
  d.failedChecks += 1;
  say(
    d,
    'Warning',
    'Halt',
    `halt advancement: failed checks ${d.failedChecks}/${plan.threshold}: ${reasons}`,
    'warn',
  );
}

export function holdAtGate(d: Context): void {
  const gate = d.round?.gate;
  d.round = null;
  if (!gate) return;
  if (gate.passed && d.paused) {
    d.message = 'advancement paused by command; checks go on';
    return;
  }
  if (d.gateWaiting !== gate.type) {
    d.gateWaiting = gate.type;
    say(d, 'Normal', 'WaitingApproval', `waiting for approval: ${gate.type}`, 'warn');
  } else {
    d.message = `waiting for approval: ${gate.type}`;
  }
}

function stepRoutes(step: ProgramStep, current: Routes): Routes | null {
  switch (step.kind) {
    case 'setWeight':
      return { primaryWeight: 100 - step.weight, canaryWeight: step.weight, mirror: false, match: false };
    case 'mirror':
      return { ...PRIMARY_ONLY, mirror: true };
    case 'match':
      // With match on, the weights apply to matching requests only; the rest stay on the primary.
      return { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    case 'switch':
      return { primaryWeight: 0, canaryWeight: 100, mirror: false, match: false };
    default:
      return current;
  }
}

function routesMessage(step: ProgramStep, routes: Routes): string {
  switch (step.kind) {
    case 'mirror':
      return 'mirroring traffic to the canary';
    case 'match':
      return 'routing matching requests to the canary';
    case 'switch':
      return 'routing all traffic to the canary';
    default:
      return `advance canary weight ${routes.canaryWeight}`;
  }
}

function raisesTraffic(next: Routes, current: Routes): boolean {
  return next.canaryWeight > current.canaryWeight || (next.mirror && !current.mirror);
}

/**
 * Walks the program after a passing round (`round`) or an approved gate (`gateApproved`):
 * applies route steps, consumes the pass at an analysis step, and stops at the first step
 * that has to wait. Leaves the cursor at a confirm-promotion gate or past the end; the
 * machine's guards take it from there.
 */
export function advance(
  d: Context,
  plan: Plan,
  now: number,
  credit: { round: boolean; gateApproved: boolean },
): void {
  const round = d.round;
  d.round = null;
  if (d.paused) {
    d.message = 'advancement paused by command; checks go on';
    return;
  }
  if (credit.gateApproved) d.gateWaiting = null;
  let passed = credit.round;
  let approved = credit.gateApproved;
  for (;;) {
    const step = plan.steps[d.cursor];
    if (!step) return;
    switch (step.kind) {
      case 'preRollout':
      case 'analysis':
        if (!passed) return;
        passed = false;
        if (step.kind === 'analysis' && plan.strategy !== 'canary') {
          // The check after blue/green's final switch is not another iteration.
          if (d.iterations < plan.iterations) {
            d.iterations += 1;
            sayStep(d, 'Advance', `advance canary iteration ${d.iterations}/${plan.iterations}`);
          } else {
            sayStep(d, 'Advance', 'final check passed with all traffic on the canary');
          }
        }
        d.cursor += 1;
        continue;
      case 'pause':
        if (step.durationMs === null) {
          if (!d.pauseReleased) {
            if (d.gateWaiting !== 'pause') {
              d.gateWaiting = 'pause';
              say(
                d,
                'Normal',
                'Paused',
                'paused until promoted (sluice promote) or resumed (sluice resume)',
                'info',
              );
            }
            return;
          }
          d.pauseReleased = false;
          d.gateWaiting = null;
        } else {
          if (d.pauseUntil === null) {
            d.pauseUntil = now + step.durationMs;
            sayStep(d, 'Paused', `pausing for ${formatDuration(step.durationMs)}`);
            return;
          }
          if (now < d.pauseUntil) return;
          d.pauseUntil = null;
        }
        d.cursor += 1;
        continue;
      case 'setWeight':
      case 'mirror':
      case 'match':
      case 'switch': {
        const next = stepRoutes(step, d.routes) ?? d.routes;
        const gated = (step.kind === 'setWeight' || step.kind === 'mirror') && raisesTraffic(next, d.routes);
        if (gated && hasHook(plan, 'confirm-traffic-increase') && !approved) {
          if (round) d.round = { ...round, awaiting: [], failures: [], gate: null };
          requestGate(d, plan, now, 'confirm-traffic-increase');
          return;
        }
        approved = false;
        // A pass earned at the old routes says nothing about the new ones.
        passed = false;
        setRoutes(d, next);
        sayStep(d, 'Advance', routesMessage(step, next));
        d.cursor += 1;
        continue;
      }
      case 'confirmPromotion':
        if (hasHook(plan, 'confirm-promotion') && !approved) return;
        approved = false;
        d.cursor += 1;
        continue;
    }
  }
}

// ---- Phase changes ----

function resetAnalysis(d: Context, plan: Plan): void {
  cancelRound(d);
  drop(d, (effect) => effect.kind === 'promote' || effect.kind === 'runAnalysis');
  d.failedChecks = 0;
  d.iterations = 0;
  d.cursor = 0;
  d.programKey = programKey(plan);
  d.pauseUntil = null;
  d.pauseReleased = false;
  d.gateWaiting = null;
  d.promotionApplied = false;
}

export function beginRollout(d: Context, plan: Plan, revision: string): void {
  resetAnalysis(d, plan);
  d.revision = revision;
  say(d, 'Normal', 'NewRevision', 'new revision detected, starting canary analysis', 'info');
}

export function requestConfirmRollout(d: Context, plan: Plan, now: number): void {
  d.nextTickAt = now + plan.intervalMs;
  const round = newRound(now);
  d.round = round;
  if (hasHook(plan, 'rollback')) request(d, round, runWebhooks(d, 'rollback', d.phase));
  requestGate(d, plan, now, 'confirm-rollout');
}

export function startCanary(d: Context, plan: Plan, now: number): void {
  cancelRound(d);
  d.gateWaiting = null;
  enqueue(d, { kind: 'scaleCanary', to: 'up' });
  d.canary = freshTrack();
  d.nextTickAt = now + plan.intervalMs;
  d.message = 'scaling up the canary';
}

export function restartAnalysis(d: Context, plan: Plan, now: number, revision: string | undefined): void {
  resetAnalysis(d, plan);
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
}

export function switchRevision(d: Context, revision: string): void {
  d.revision = revision;
  d.message = 'new revision detected while waiting for approval';
}

export function cancelRollout(d: Context, revision: string): void {
  cancelRound(d);
  drop(d, (effect) => effect.kind === 'promote');
  if (!isPrimaryOnly(d.routes)) setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  d.revision = revision;
  d.nextTickAt = null;
  d.cursor = 0;
  d.pauseUntil = null;
  d.gateWaiting = null;
  say(
    d,
    'Normal',
    'RolloutCancelled',
    'target reverted to the last promoted revision: rollout cancelled',
    'info',
  );
}

/** A failed canary whose target is back on the primary's revision (a revert in Git). */
export function recoverByRevert(d: Context, revision: string): void {
  d.revision = revision;
  d.failedChecks = 0;
  d.nextTickAt = null;
  d.cursor = 0;
  say(
    d,
    'Normal',
    'Recovered',
    'target reverted to the revision the primary runs: nothing to roll out',
    'info',
  );
}

export type PromotionCause = 'analysis' | 'command' | 'skipAnalysis';

export function startPromotion(d: Context, plan: Plan, now: number, cause: PromotionCause): void {
  cancelRound(d);
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

export function waitFor(d: Context, plan: Plan, now: number, what: 'canary' | 'primary'): void {
  d.nextTickAt = now + plan.intervalMs;
  d.message = `waiting for the ${what} to become ready`;
}

export function shiftTrafficToPrimary(d: Context, plan: Plan, now: number): void {
  const canaryWeight = Math.max(0, d.routes.canaryWeight - plan.stepWeightPromotion);
  setRoutes(d, { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: d.routes.match });
  sayStep(d, 'Advance', `advance primary weight ${100 - canaryWeight}`);
  d.nextTickAt = now + plan.intervalMs;
}

export function finalise(d: Context, plan: Plan, now: number): void {
  if (!isPrimaryOnly(d.routes) || d.routes.primaryWeight !== 100) setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  d.nextTickAt = now + plan.intervalMs;
  sayStep(d, 'Finalising', 'routing all traffic to the primary, scaling the canary down');
}

export function finalisingSettled(d: Context): boolean {
  return !d.pending.some((effect) => effect.kind === 'setRoutes' || effect.kind === 'scaleCanary');
}

export function completePromotion(d: Context, plan: Plan): void {
  d.lastPromoted = currentRevision(d);
  d.primaryRevision = d.lastPromoted;
  d.nextTickAt = null;
  d.iterations = 0;
  d.cursor = 0;
  say(d, 'Normal', 'Succeeded', 'promotion completed', 'info');
  if (hasHook(plan, 'post-rollout')) runWebhooks(d, 'post-rollout', 'Succeeded');
}

export type RollbackCause =
  'failedChecks' | 'canaryDeadline' | 'primaryDeadline' | 'rollbackHook' | 'aborted';

export function rollBack(d: Context, plan: Plan, cause: RollbackCause): void {
  const rollbackHook = d.round?.rollback;
  // The checks that failed this round: at threshold 1 no Halt Event said why, so the
  // rollback's own message (Event, status, Stalled condition, Slack) must.
  const failures = d.round?.failures ?? [];
  cancelRound(d);
  drop(d, (effect) => effect.kind === 'promote' || effect.kind === 'runAnalysis');
  if (cause === 'failedChecks') d.failedChecks += 1;
  const seconds = Math.round(plan.progressDeadlineMs / 1000);
  const reason = {
    failedChecks: `failed checks threshold reached ${d.failedChecks}${failures.length ? `: ${failures.join('; ')}` : ''}`,
    canaryDeadline: `canary not ready within the progress deadline (${seconds}s)`,
    primaryDeadline: `primary not ready within the progress deadline (${seconds}s) after promotion`,
    rollbackHook: rollbackHook ?? 'a rollback webhook asked for it',
    aborted: 'aborted by command',
  }[cause];
  setRoutes(d, PRIMARY_ONLY);
  enqueue(d, { kind: 'scaleCanary', to: 'zero' });
  d.nextTickAt = null;
  d.pauseUntil = null;
  d.pauseReleased = false;
  d.gateWaiting = null;
  d.cursor = 0;
  say(d, 'Warning', 'RolledBack', `rolling back: ${reason}`, 'error');
  if (hasHook(plan, 'post-rollout') && d.revision !== null) runWebhooks(d, 'post-rollout', 'Failed');
}

// ---- Initialization ----

export function initializePrimary(d: Context, revision: string): void {
  d.revision = revision;
  enqueue(d, { kind: 'promote', revision });
  d.primary = freshTrack();
  d.message = 'creating the primary from the target';
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
  if (atIndefinitePause) d.pauseReleased = true;
  say(d, 'Normal', 'Resumed', 'advancement resumed by command');
}

export function ignoreCommand(d: Context, command: string): void {
  say(d, 'Warning', 'CommandIgnored', `${command} ignored: the canary is ${d.phase}`);
}

export function freeze(d: Context, now: number): void {
  cancelRound(d);
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
