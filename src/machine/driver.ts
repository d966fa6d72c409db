import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { createActor, type InspectionEvent, type Snapshot } from 'xstate';
import type { Strategy } from '../api/canary.ts';
import type { Routes } from '../api/routes.ts';
import { FieldMessageError } from '../api/validate.ts';
import { canaryMachine } from './machine.ts';
import { deadlineAt } from './clocks.ts';
import { planKey, type Plan } from './plan.ts';
import { initializationStalled, type RolloutEnd } from './transitions.ts';
import { Context, type Effect, type Observation, type Phase } from './types.ts';

// The driver is the machine's whole surface for the controller: persisted snapshot in,
// one observation in, snapshot + effects + status out. It restores an actor from the
// snapshot, sends the observation, and persists again; nothing survives between calls,
// so running straight through and restoring before every event are the same thing.

/** The machine snapshot as stored under `status.machine` (JSON). */
export const PersistedMachine = z.looseObject({
  status: z.literal('active'),
  value: z.union([z.string(), z.record(z.string(), z.unknown())]),
  historyValue: z.record(z.string(), z.array(z.object({ id: z.string() }))).optional(),
  context: Context,
});
export type PersistedMachine = z.output<typeof PersistedMachine>;

export class MachineSnapshotError extends FieldMessageError {}

/** Status fields derived from the machine, in the Canary status' own names. */
export interface MachineStatus {
  phase: Phase;
  canaryWeight: number;
  failedChecks: number;
  iterations: number;
  /** The revision being (or last) analysed: Flagger's lastAppliedSpec. */
  lastAppliedSpec?: string;
  lastPromotedSpec?: string;
  lastTransitionTime: string;
  /** When the next analysis step is due (RFC 3339). */
  nextStepAt?: string;
  /** canaryReady / primaryReady (progress deadline if it stays not ready), pauseUntil. */
  deadlines?: Record<string, string>;
  message: string;
}

/** The Canary status fields statusOf derives from the machine, and the snapshot itself. */
export const MACHINE_STATUS_FIELDS: ReadonlySet<string> = new Set([
  'phase',
  'canaryWeight',
  'failedChecks',
  'iterations',
  'lastAppliedSpec',
  'lastPromotedSpec',
  'lastTransitionTime',
  'nextStepAt',
  'deadlines',
  'message',
  'machine',
] satisfies (keyof MachineStatus | 'machine')[]);

/** One transition the machine took (`always` for an eventless one). */
export interface TakenTransition {
  event: string;
  from: string;
  /** The target state, or null when the machine stayed where it was. */
  to: string | null;
  actions: string[];
}

/** What a call to the driver did: for the controller's status writes, metrics and logs. */
export interface Happened {
  transitions: TakenTransition[];
  /**
   * A rollout began: a new revision (or a `retry` of a failed one) started its analysis, or
   * a new revision restarted one in flight. Every end follows a start, so rollbacks never
   * outnumber rollouts started (the bootstrap is not a rollout).
   */
  rolloutStarted: boolean;
  /** How a rollout ended, when one did (see endRollout). */
  ended: RolloutEnd['outcome'] | null;
  /**
   * Time to restore, when a rolled-back primary came to serve all traffic again in this
   * call: from the rollback decision to the route write that completed it (or the primary
   * turning ready after it), in ms.
   */
  restoredAfterMs: number | null;
  /**
   * Nothing changed that a person or another controller acts on: only a workload turned
   * ready (its deadline goes away) and/or a step that found one not ready re-armed its
   * tick. The controller may hold such a status back until its next write (docs/decisions/0007).
   */
  canWait: boolean;
  /** The plan's strategy, for metrics. */
  strategy: Strategy;
}

export interface StepResult {
  /** Store under status.machine; pass back on the next call. */
  snapshot: PersistedMachine;
  /**
   * Every effect requested and not yet confirmed, oldest first. The controller carries out
   * those it has not started (after a restart: all of them; each is idempotent) and
   * answers with EFFECT_DONE, WEBHOOK_RESULT or ANALYSIS_RESULT.
   */
  effects: Effect[];
  /** The effects first requested by this call and still pending (superseded ones are left out). */
  issued: Effect[];
  status: MachineStatus;
  /** Where the machine wants traffic now (the routes of its last setRoutes). */
  routes: Routes;
  /** When the controller should send the next TICK (null: no tick needed). */
  wakeAt: number | null;
  happened: Happened;
}

export interface StepOptions {
  /** xstate inspection (tests record the transitions taken). */
  inspect?: (event: InspectionEvent) => void;
}

/** Validates a snapshot read back from status.machine. */
export function parseSnapshot(value: unknown): PersistedMachine {
  const parsed = PersistedMachine.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = ['status.machine', ...issue.path.map(String)].join('.');
    throw new MachineSnapshotError(path, issue.message);
  }
  try {
    canaryMachine.resolveState({
      value: parsed.data.value as Parameters<typeof canaryMachine.resolveState>[0]['value'],
      context: parsed.data.context,
    });
  } catch (error) {
    throw new MachineSnapshotError(
      'status.machine.value',
      `${JSON.stringify(parsed.data.value)} is not a state of this machine (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return parsed.data;
}

/** Feeds one observation to the machine restored from `persisted` (undefined: a new Canary). */
export function step(
  persisted: unknown,
  plan: Plan,
  observation: Observation,
  options: StepOptions = {},
): StepResult {
  return stepAll(persisted, plan, [observation], options);
}

/** Feeds several observations in order (one reconcile) and persists once. */
export function stepAll(
  persisted: unknown,
  plan: Plan,
  observations: readonly Observation[],
  options: StepOptions = {},
): StepResult {
  const first = observations[0];
  if (!first) throw new Error('stepAll: expected at least one observation');
  const restored = persisted === undefined ? undefined : parseSnapshot(persisted);
  const transitions: TakenTransition[] = [];
  // `input` only seeds a new machine; a restored one keeps its context.
  const actor = createActor(canaryMachine, {
    input: { now: first.now },
    snapshot: restored as unknown as Snapshot<unknown> | undefined,
    inspect: (event) => {
      if (event.type === '@xstate.microstep') transitions.push(...event._transitions.map(taken));
      options.inspect?.(event);
    },
  });
  actor.start();
  const seqBefore = actor.getSnapshot().context.seq;
  const key = planKey(plan);
  for (const observation of observations) {
    // A changed spec is an observation too: the driver notices it so the controller need not.
    if (observation.type !== 'SPEC_CHANGED' && actor.getSnapshot().context.planKey !== key) {
      actor.send({ type: 'SPEC_CHANGED', now: observation.now, plan });
    }
    actor.send({ ...observation, plan });
  }
  const snapshot = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as PersistedMachine;
  actor.stop();
  const context = snapshot.context;
  return {
    snapshot,
    effects: context.pending,
    issued: context.pending.filter((effect) => effect.id > seqBefore),
    status: statusOf(context, plan),
    routes: context.routes,
    wakeAt: wakeAt(context, plan),
    happened: {
      transitions,
      rolloutStarted: rolloutStarted(transitions),
      ended: endOf(transitions),
      restoredAfterMs: restoredAfter(transitions, context),
      canWait: restored !== undefined && canWait(restored, snapshot),
      strategy: plan.strategy,
    },
  };
}

/** What two calls did, one after the other (a reconcile feeds effect answers back). */
export function mergeHappened(first: Happened, then: Happened): Happened {
  return {
    transitions: [...first.transitions, ...then.transitions],
    rolloutStarted: first.rolloutStarted || then.rolloutStarted,
    ended: then.ended ?? first.ended,
    restoredAfterMs: then.restoredAfterMs ?? first.restoredAfterMs,
    canWait: first.canWait && then.canWait,
    strategy: then.strategy,
  };
}

function nameOf(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action && typeof action === 'object' && 'type' in action) return String(action.type);
  return 'anonymous';
}

function taken(transition: {
  eventType: string;
  source: { path: string[] };
  target?: readonly { path: string[] }[] | undefined;
  actions: readonly unknown[];
}): TakenTransition {
  const target = transition.target?.[0];
  return {
    event: transition.eventType === '' ? 'always' : transition.eventType,
    from: transition.source.path.join('.'),
    to: target ? target.path.join('.') : null,
    actions: transition.actions.map(nameOf),
  };
}

/** The machine actions that end a rollout (machine.ts), by the end they stand for. */
const ENDING_ACTIONS: Record<string, RolloutEnd['outcome']> = {
  completePromotion: 'promoted',
  rollBack: 'rolledBack',
  cancelRollout: 'cancelled',
  recoverByRevert: 'recovered',
};

function endOf(transitions: readonly TakenTransition[]): RolloutEnd['outcome'] | null {
  let ended: RolloutEnd['outcome'] | null = null;
  for (const t of transitions) for (const action of t.actions) ended = ENDING_ACTIONS[action] ?? ended;
  return ended;
}

/** beginRollout (a new revision, or a retry), or a new revision restarting the analysis. */
function rolloutStarted(transitions: readonly TakenTransition[]): boolean {
  return transitions.some(
    (t) =>
      t.actions.includes('beginRollout') || (t.event === 'REVISION' && t.actions.includes('restartAnalysis')),
  );
}

/**
 * canWait over a whole reconcile: from the snapshot it started with to the one it ends
 * with. A look asked and answered within it changes nothing anyone acts on.
 */
export function canWaitSince(persisted: unknown, after: PersistedMachine): boolean {
  const before = PersistedMachine.safeParse(persisted);
  return before.success && canWait(before.data, after);
}

function restoredAfter(transitions: readonly TakenTransition[], context: Context): number | null {
  const restore = context.restore;
  if (restore?.restoredAt == null || !transitions.some((t) => t.actions.includes('recordRestore')))
    return null;
  return Math.max(0, restore.restoredAt - restore.decidedAt);
}

/** Only readiness settling (a workload turned ready) and a re-armed tick between two snapshots. */
export function canWait(before: PersistedMachine, after: PersistedMachine): boolean {
  if (!isDeepStrictEqual(before.value, after.value)) return false;
  if (!isDeepStrictEqual(before.historyValue ?? {}, after.historyValue ?? {})) return false;
  const was = before.context;
  const now = after.context;
  // A look between rounds that was asked and answered (nothing decisive) leaves only its id
  // spent and the next look armed.
  const sameQueue = isDeepStrictEqual(was.pending, now.pending);
  for (const key of Object.keys(now) as (keyof Context)[]) {
    if (isDeepStrictEqual(was[key], now[key])) continue;
    if (key === 'nextTickAt' && now.nextTickAt !== null) continue;
    if (key === 'nextLookAt' && now.nextLookAt !== null) continue;
    if (key === 'seq' && sameQueue) continue;
    if ((key === 'canary' || key === 'primary') && !was[key].ready && now[key].ready) continue;
    return false;
  }
  return true;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function deadlines(context: Context, plan: Plan): Record<string, number> {
  if (context.suspendedAt !== null) return {};
  const result: Record<string, number> = {};
  // A bootstrap's primary: when it runs out, the canary says it is stalled (transitions.ts).
  if (context.phase === 'Initializing' && !initializationStalled(context)) {
    const at = deadlineAt(context.primary, plan.progressDeadlineMs);
    if (at !== null) result.primaryReady = at;
  }
  if (context.phase === 'Progressing' || context.phase === 'WaitingPromotion') {
    const at = deadlineAt(context.canary, plan.progressDeadlineMs);
    if (at !== null) result.canaryReady = at;
  }
  // While analysing, the primary's readiness holds every step (machine.ts, primaryWaitExceeded).
  const analysing = context.phase === 'Progressing' || context.phase === 'WaitingPromotion';
  if (
    analysing ||
    ((context.phase === 'Promoting' || context.phase === 'Finalising') && context.promotionApplied)
  ) {
    const at = deadlineAt(context.primary, plan.progressDeadlineMs);
    if (at !== null) result.primaryReady = at;
  }
  if (context.pauseUntil !== null) result.pauseUntil = context.pauseUntil;
  return result;
}

/** The status fields the controller writes, derived from the context. */
export function statusOf(context: Context, plan: Plan): MachineStatus {
  const due = deadlines(context, plan);
  const status: MachineStatus = {
    phase: context.phase,
    canaryWeight: context.routes.canaryWeight,
    failedChecks: context.failedChecks,
    iterations: context.iterations,
    lastTransitionTime: iso(context.since),
    message: context.message,
  };
  if (context.revision !== null) status.lastAppliedSpec = context.revision;
  if (context.lastPromoted !== null) status.lastPromotedSpec = context.lastPromoted;
  if (context.nextTickAt !== null && context.suspendedAt === null)
    status.nextStepAt = iso(context.nextTickAt);
  if (Object.keys(due).length > 0) {
    status.deadlines = Object.fromEntries(Object.entries(due).map(([name, at]) => [name, iso(at)]));
  }
  return status;
}

/** The earliest time a TICK has something to do: the next step, or a deadline running out. */
export function wakeAt(context: Context, plan: Plan): number | null {
  if (context.suspendedAt !== null) return null;
  const { pauseUntil: _pause, ...due } = deadlines(context, plan);
  const analysing = context.phase === 'Progressing' || context.phase === 'WaitingPromotion';
  const look = analysing && context.look === null ? context.nextLookAt : null;
  const times = [context.nextTickAt, look, ...Object.values(due)].filter((t): t is number => t !== null);
  return times.length > 0 ? Math.min(...times) : null;
}
