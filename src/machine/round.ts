import { hasHook, type Plan } from './plan.ts';
import { confirmEffect, currentRevision, drop, enqueue, runWebhooks, say } from './queue.ts';
import type { Context, GateType, Round } from './types.ts';

// One interval's checks (a round): the webhooks and the analysis asked at once, their
// answers, and what the answers add up to. The machine's guards read the settled round.

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

// ---- What a settled round adds up to ----

export function settled(context: Context): boolean {
  return context.round !== null && context.round.awaiting.length === 0;
}

export function checksFailed(context: Context): boolean {
  return settled(context) && context.round!.failures.length > 0;
}

export function gateApproved(context: Context): boolean {
  return settled(context) && context.round!.gate?.passed === true && !context.paused;
}

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

/** At the confirm-promotion step: ask the gate, unless a person paused advancement. */
export function requestConfirmPromotion(d: Context, plan: Plan, now: number): void {
  if (d.paused) {
    holdAtGate(d);
    d.message = 'advancement paused by command; checks go on';
    return;
  }
  requestGate(d, plan, now, 'confirm-promotion');
}
