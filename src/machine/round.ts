import { hasHook, type Plan } from './plan.ts';
import { confirmEffect, currentRevision, drop, enqueue, runWebhooks, say } from './queue.ts';
import type { Context, GateType, Observation, Round } from './types.ts';

// One interval's checks (a round): the webhooks and the analysis asked at once, their
// answers, and what the answers add up to. The machine's guards read the settled round.

function newRound(now: number): Round {
  return {
    openedAt: now,
    awaiting: [],
    failures: [],
    inconclusive: [],
    mutedFailures: 0,
    rollback: null,
    gate: null,
  };
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
  // The round runs the judge too: the next look is one checkEvery after it.
  if (plan.lookEveryMs > 0) d.nextLookAt = now + plan.lookEveryMs;
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

/** While Waiting: each interval, the rollback hooks and the confirm-rollout gate. */
export function requestConfirmRollout(d: Context, plan: Plan, now: number): void {
  d.nextTickAt = now + plan.intervalMs;
  const round = newRound(now);
  d.round = round;
  if (hasHook(plan, 'rollback')) request(d, round, runWebhooks(d, 'rollback', d.phase));
  requestGate(d, plan, now, 'confirm-rollout');
}

export function recordRoundResult(
  d: Context,
  event: Extract<Observation, { type: 'WEBHOOK_RESULT' | 'ANALYSIS_RESULT' }>,
  now: number,
): void {
  const round = d.round;
  const effect = d.pending.find((p) => p.id === event.effectId);
  if (!round || !effect) return;
  round.awaiting = round.awaiting.filter((id) => id !== event.effectId);
  confirmEffect(d, event.effectId, now);
  if (event.type === 'ANALYSIS_RESULT') {
    if (event.rollback) round.rollback = event.rollback;
    if (event.outcome !== 'passed') {
      const why = event.reasons?.length ? event.reasons.join('; ') : 'no reason given';
      if (event.outcome === 'inconclusive') round.inconclusive.push(why);
      else round.failures.push(event.outcome === 'noData' ? `no data: ${why}` : why);
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
    if (event.muteAlert) round.mutedFailures += 1;
  }
}

// ---- What a settled round adds up to ----

export function settled(context: Context): boolean {
  return context.round !== null && context.round.awaiting.length === 0;
}

export function checksFailed(context: Context): boolean {
  return settled(context) && context.round!.failures.length > 0;
}

/** Nothing failed, and an analysis could not decide: hold the step (a failure outweighs it). */
export function checksInconclusive(context: Context): boolean {
  return settled(context) && context.round!.failures.length === 0 && context.round!.inconclusive.length > 0;
}

export function checksPassed(context: Context): boolean {
  const round = context.round;
  return (
    settled(context) &&
    round!.failures.length === 0 &&
    round!.inconclusive.length === 0 &&
    round!.gate === null
  );
}

/** The status message while advancement is paused: by a command, or for a person after inconclusive rounds. */
export function pausedMessage(d: Context): string {
  return d.gateWaiting === INCONCLUSIVE
    ? `analysis inconclusive: paused for a person (sluice promote, sluice resume or sluice abort); checks go on`
    : 'advancement paused by command; checks go on';
}

/** `gateWaiting` while paused for a person after inconclusive rounds. */
export const INCONCLUSIVE = 'inconclusive';

/**
 * An inconclusive round: no failure counted, the step held. The first of a streak is
 * announced; at analysis.inconclusiveLimit the canary pauses for a person (announced
 * once more: someone has to act). A passing or failing round ends the streak.
 */
export function holdInconclusive(d: Context, plan: Plan): void {
  const reasons = d.round?.inconclusive.join('; ') ?? '';
  d.round = null;
  d.inconclusiveRounds += 1;
  const count = `${d.inconclusiveRounds}/${plan.inconclusiveLimit}`;
  if (d.inconclusiveRounds >= plan.inconclusiveLimit && d.gateWaiting !== INCONCLUSIVE) {
    d.paused = true;
    d.gateWaiting = INCONCLUSIVE;
    say(
      d,
      'Warning',
      'AnalysisInconclusive',
      `analysis inconclusive ${count}, paused for a person (sluice promote, sluice resume or sluice abort): ${reasons}`,
      'warn',
    );
  } else if (d.inconclusiveRounds === 1) {
    say(
      d,
      'Warning',
      'AnalysisInconclusive',
      `analysis inconclusive ${count}, holding the step: ${reasons}`,
      'warn',
    );
  } else {
    d.message =
      d.gateWaiting === INCONCLUSIVE
        ? `${pausedMessage(d)}: ${reasons}`
        : `analysis inconclusive ${count}, holding the step: ${reasons}`;
  }
}

export function gateApproved(context: Context): boolean {
  return settled(context) && context.round!.gate?.passed === true && !context.paused;
}

export function countFailedCheck(d: Context, plan: Plan): void {
  const reasons = d.round?.failures.join('; ') ?? '';
  const muted = d.round !== null && d.round.mutedFailures === d.round.failures.length;
  d.round = null;
  d.failedChecks += 1;
  d.inconclusiveRounds = 0;
  say(
    d,
    'Warning',
    'Halt',
    `halt advancement: failed checks ${d.failedChecks}/${plan.threshold}: ${reasons}`,
    'warn',
    muted,
  );
}

export function holdAtGate(d: Context): void {
  const gate = d.round?.gate;
  d.round = null;
  if (!gate) return;
  if (gate.passed && d.paused) {
    d.message = pausedMessage(d);
    return;
  }
  if (d.gateWaiting !== gate.type) {
    d.gateWaiting = gate.type;
    say(d, 'Normal', 'WaitingApproval', `waiting for approval: ${gate.type}`, 'warn');
  } else {
    d.message = `waiting for approval: ${gate.type}`;
  }
}

/** At the confirm-promotion step: ask the gate, unless a person paused advancement. */
export function requestConfirmPromotion(d: Context, plan: Plan, now: number): void {
  if (d.paused) {
    holdAtGate(d);
    d.message = pausedMessage(d);
    return;
  }
  requestGate(d, plan, now, 'confirm-promotion');
}

// ---- Looks between rounds (fast-fail) ----

/** A look is due: the judge or failFast metrics, between the interval's rounds. */
export function lookDue(d: Context, plan: Plan, now: number): boolean {
  return plan.lookEveryMs > 0 && d.look === null && d.nextLookAt !== null && now >= d.nextLookAt;
}

/** Asks for one look and arms the next. */
export function openLook(d: Context, plan: Plan, now: number): void {
  d.nextLookAt = now + plan.lookEveryMs;
  d.look = { id: enqueue(d, { kind: 'runLook', revision: currentRevision(d) }), rollback: null };
}

/** The look answered: it leaves the queue; a decisive regression stays on it for the rollback to say. */
export function recordLook(d: Context, event: { effectId: number; rollback?: string }, now: number): void {
  confirmEffect(d, event.effectId, now);
  if (d.look?.id !== event.effectId) return;
  d.look = event.rollback ? { ...d.look, rollback: event.rollback } : null;
}

/** Drops the look in flight and stops looking (the analysis ended or is suspended). */
export function cancelLook(d: Context): void {
  const look = d.look;
  if (look) drop(d, (effect) => effect.id === look.id);
  d.look = null;
  d.nextLookAt = null;
}
