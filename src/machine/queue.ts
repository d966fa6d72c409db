import type { HookType } from '../api/canary.ts';
import type { Routes } from '../api/routes.ts';
import { startedTrack } from './clocks.ts';
import type { Context, EffectRequest, Phase, Severity } from './types.ts';

// The effect queue: effect requests wait in `context.pending` until the controller says it
// carried them out. Operations on a draft of the context, as every file of the machine's
// operations (see machine.ts).

/** Messages (events, notifications, fire-and-forget hooks) kept pending at most; older ones are dropped. */
export const MAX_PENDING_MESSAGES = 16;

/** Requests that answer with a result and belong to a round (or a promotion, for `promote`). */
const SUPERSEDED_BY_KIND = new Set(['setRoutes', 'scaleCanary', 'promote']);

/**
 * Events, notifications and fire-and-forget hooks: they tell people what happened and
 * change nothing, so they never wait behind a write that fails (the controller runs them
 * past it) and are capped in the queue.
 */
export function isMessage(effect: EffectRequest): boolean {
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

export function drop(d: Context, predicate: (effect: Context['pending'][number]) => boolean): void {
  d.pending = d.pending.filter((effect) => !predicate(effect));
}

/** A route write the router has not confirmed yet: the weight in status is not applied until it is. */
export function routesPending(d: Context): boolean {
  return d.pending.some((effect) => effect.kind === 'setRoutes');
}

/** A step found the last route write unconfirmed: hold, and look again one interval later. */
export function waitForRoutes(d: Context, intervalMs: number, now: number): void {
  d.nextTickAt = now + intervalMs;
  d.message = `waiting for the router to apply canary weight ${d.routes.canaryWeight}`;
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
  muted = false,
): void {
  d.message = message;
  enqueue(d, { kind: 'recordEvent', type, reason, message });
  if (notify) enqueue(d, { kind: 'notify', severity: notify, message, ...(muted ? { muted } : {}) });
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

export function runWebhooks(d: Context, type: HookType, phase: Phase): number {
  return enqueue(d, { kind: 'runWebhooks', type, phase, revision: currentRevision(d) });
}

/** The controller carried out an effect: it leaves the queue, and what it started starts its clock. */
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
