import { z } from 'zod';
import { HOOK_TYPES } from '../api/canary.ts';
import { Routes } from '../api/routes.ts';
import { PHASES, type Phase } from '../api/status.ts';
import type { Plan } from './plan.ts';

export type { Phase };

// ---- Inputs: observations the controller feeds in, each with the time it was made ----

/** What the controller saw of a workload: ready, not (yet) ready, or past Kubernetes' own deadline. */
export type Readiness = 'ready' | 'notReady' | 'deadlineExceeded';

export const MANUAL_COMMANDS = ['promote', 'abort', 'pause', 'resume', 'retry'] as const;
export type ManualCommand = (typeof MANUAL_COMMANDS)[number];

export type AnalysisOutcome = 'passed' | 'failed' | 'noData' | 'inconclusive';

export type Observation =
  /** The analysis interval elapsed (the scheduler sends it at `wakeAt`; early ticks are ignored). */
  | { type: 'TICK'; now: number }
  /** The target's current revision: pod template hash plus tracked ConfigMap/Secret checksums. */
  | { type: 'REVISION'; now: number; revision: string }
  /**
   * Readiness of the canary (the target) and/or the primary, as observed just now;
   * `primaryMessage` says why the primary is not ready (the wait's reason in status).
   */
  | { type: 'READINESS'; now: number; canary?: Readiness; primary?: Readiness; primaryMessage?: string }
  /**
   * The answer to a `runWebhooks` effect. For gates and checks `passed` means every hook
   * of the type answered 2xx; for `rollback` hooks it means at least one did (roll back).
   */
  | {
      type: 'WEBHOOK_RESULT';
      now: number;
      effectId: number;
      passed: boolean;
      name?: string;
      message?: string;
      /** Every failing hook has `muteAlert`: the failure is recorded as an Event, not sent to chat. */
      muteAlert?: boolean;
    }
  /**
   * The answer to a `runAnalysis` effect; `noData` counts as a failed check, `inconclusive`
   * (a check's success and failure conditions both false) holds the step without one.
   */
  | {
      type: 'ANALYSIS_RESULT';
      now: number;
      effectId: number;
      outcome: AnalysisOutcome;
      reasons?: string[];
      /** A decisive regression (a critical judged metric): roll back at once, whatever the threshold. */
      rollback?: string;
    }
  /** The answer to a `runLook` effect; `rollback` says why when the look found a decisive regression. */
  | { type: 'LOOK_RESULT'; now: number; effectId: number; rollback?: string }
  /** A person's command (the controller reads it from the Canary's annotations once per id). */
  | { type: 'MANUAL'; now: number; command: ManualCommand }
  /**
   * The controller could not carry out the rollout's effects for progressDeadlineSeconds
   * (an error that keeps coming back): an analysing rollout rolls back, saying why.
   */
  | { type: 'NO_PROGRESS'; now: number; reason: string }
  /** The spec changed (the driver sends it by itself when the plan's fingerprint changes). */
  | { type: 'SPEC_CHANGED'; now: number }
  /** The controller carried out an effect (other than runWebhooks/runAnalysis, which answer with results). */
  | { type: 'EFFECT_DONE'; now: number; effectId: number };

/** What the machine receives: an observation plus the plan recomputed from the current spec. */
export type MachineEvent = Observation & { plan: Plan };

// ---- Outputs: effect requests the controller executes ----

export const Severity = z.enum(['info', 'warn', 'error']);
export type Severity = z.output<typeof Severity>;

const effectId = z.int().min(1);

export const SetRoutesEffect = z.object({
  id: effectId,
  kind: z.literal('setRoutes'),
  ...Routes.shape,
});

export const Effect = z.discriminatedUnion('kind', [
  SetRoutesEffect,
  z.object({ id: effectId, kind: z.literal('scaleCanary'), to: z.enum(['up', 'zero']) }),
  /**
   * Copy the target's pod spec (and tracked configs) to the primary, or create the primary
   * at initialization. Only when the target's current revision equals `revision`; otherwise
   * leave it pending: the REVISION event that follows cancels it.
   */
  z.object({ id: effectId, kind: z.literal('promote'), revision: z.string() }),
  /** Call every webhook of this type with Flagger's payload (phase, checksum = revision). */
  z.object({
    id: effectId,
    kind: z.literal('runWebhooks'),
    type: z.enum(HOOK_TYPES),
    phase: z.enum(PHASES),
    revision: z.string(),
  }),
  /** Run every metric check of `analysis.metrics` once. */
  z.object({ id: effectId, kind: z.literal('runAnalysis'), revision: z.string() }),
  /** Tell the chat notifiers; `muted`: a failed webhook with muteAlert, told to nobody (its Event stays). */
  z.object({
    id: effectId,
    kind: z.literal('notify'),
    severity: Severity,
    message: z.string(),
    muted: z.boolean().optional(),
  }),
  /**
   * A look between rounds (analysis.checkEvery): the judge and the failFast metrics once.
   * Only a decisive regression counts; anything else waits for the next round.
   */
  z.object({ id: effectId, kind: z.literal('runLook'), revision: z.string() }),
  /**
   * A Kubernetes Event on the Canary; the controller also sends it to `event` webhooks.
   * `step` marks a routine step of a rollout (a weight, an iteration, a pause): status says
   * the same, so the controller writes it as an Event only when asked to (`--step-events`).
   */
  z.object({
    id: effectId,
    kind: z.literal('recordEvent'),
    type: z.enum(['Normal', 'Warning']),
    reason: z.string(),
    message: z.string(),
    step: z.boolean().optional(),
  }),
]);
export type Effect = z.output<typeof Effect>;
export type EffectKind = Effect['kind'];
/** An effect before the machine gives it an id. */
export type EffectRequest = Effect extends infer E ? (E extends Effect ? Omit<E, 'id'> : never) : never;

// ---- The persisted context: small, JSON, validated when read back from status ----

const time = z.number().finite();

/** Readiness of one workload, with the time it has spent not ready (the progress deadline's clock). */
export const ReadinessTrack = z.object({
  ready: z.boolean(),
  /** Start of the current not-ready stretch; null while ready or before the clock starts. */
  since: time.nullable().default(null),
  /** Not-ready time of earlier stretches. Summed, so a crash-looping pod that is ready now and then still runs out. */
  unreadyMs: z.number().min(0),
  /** Why it is not ready, as the controller last saw it (while not ready). */
  message: z.string().optional(),
});
export type ReadinessTrack = z.output<typeof ReadinessTrack>;

/** One interval's checks: the requests still unanswered and what the answers said. */
export const Round = z.object({
  openedAt: time,
  awaiting: z.array(effectId),
  failures: z.array(z.string()),
  /** Why the analysis was inconclusive (no failure counted; the step is held). */
  inconclusive: z.array(z.string()).default([]),
  /** How many of the failures come from webhooks with muteAlert: all of them mutes the alert. */
  mutedFailures: z.int().min(0).default(0),
  /** Set when a rollback webhook, or a decisive regression in the analysis, asked for a rollback. */
  rollback: z.string().nullable().default(null),
  /** A confirm gate asked after the checks passed (or, while Waiting, alongside them). */
  gate: z
    .object({
      id: effectId,
      type: z.enum(['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion']),
      passed: z.boolean().nullable().default(null),
    })
    .nullable()
    .default(null),
});
export type Round = z.output<typeof Round>;
export type GateType = NonNullable<Round['gate']>['type'];

// Nullable fields default to null when absent: the controller stores the snapshot with a
// JSON merge patch, where null means "remove the key", so nulls come back as missing keys.
export const CONTEXT_VERSION = 1;

export const Context = z.object({
  v: z.literal(CONTEXT_VERSION),
  phase: z.enum(PHASES),
  /** When the phase last changed. */
  since: time,
  /** The last thing a person would want to read about this canary. */
  message: z.string(),
  /** Last effect id handed out. */
  seq: z.int().min(0),
  /** Effects requested and not yet confirmed, oldest first. */
  pending: z.array(Effect),
  /** The revision being analysed, or last analysed (Flagger's lastAppliedSpec). */
  revision: z.string().nullable().default(null),
  /** The revision last promoted successfully (Flagger's lastPromotedSpec). */
  lastPromoted: z.string().nullable().default(null),
  /** The revision last copied to the primary: differs from lastPromoted only after a failed promotion. */
  primaryRevision: z.string().nullable().default(null),
  routes: Routes,
  failedChecks: z.int().min(0),
  iterations: z.int().min(0),
  /** Index into plan.steps. */
  cursor: z.int().min(0),
  /** Fingerprint of the program the cursor points into. */
  programKey: z.string(),
  /** Fingerprint of the last plan seen (the driver compares it to send SPEC_CHANGED). */
  planKey: z.string(),
  pauseUntil: time.nullable().default(null),
  /** A person resumed past the current pause-until-promoted step. */
  pauseReleased: z.boolean(),
  /** `sluice pause`: hold the canary where it is; checks go on. */
  paused: z.boolean(),
  round: Round.nullable().default(null),
  /**
   * The gate whose denial was already announced (announce once per wait), `pause` at an
   * indefinite pause step, or `inconclusive` while paused for a person after inconclusive rounds.
   */
  gateWaiting: z.string().nullable().default(null),
  /** Consecutive inconclusive rounds at the current step (analysis.inconclusiveLimit pauses). */
  inconclusiveRounds: z.int().min(0).default(0),
  nextTickAt: time.nullable().default(null),
  /** When the next look between rounds is due (plan.lookEveryMs), while analysing. */
  nextLookAt: time.nullable().default(null),
  /** The look in flight, and the rollback its answer asked for. */
  look: z
    .object({ id: effectId, rollback: z.string().nullable().default(null) })
    .nullable()
    .default(null),
  canary: ReadinessTrack,
  primary: ReadinessTrack,
  /** The promote effect of the current promotion has been carried out. */
  promotionApplied: z.boolean(),
  /** Set while suspended by spec.suspend. */
  suspendedAt: time.nullable().default(null),
  /**
   * Time to restore: when a rollback was decided, and when the primary served all traffic
   * again with its checks passing (the rollback's route write done, the primary ready).
   */
  restore: z
    .object({ decidedAt: time, restoredAt: time.nullable().default(null) })
    .nullable()
    .default(null),
});
export type Context = z.output<typeof Context>;

export function initialContext(now: number): Context {
  return {
    v: CONTEXT_VERSION,
    phase: 'Initializing',
    since: now,
    message: 'waiting for the first revision of the target',
    seq: 0,
    pending: [],
    revision: null,
    lastPromoted: null,
    primaryRevision: null,
    routes: { primaryWeight: 100, canaryWeight: 0, mirror: false, match: false },
    failedChecks: 0,
    iterations: 0,
    cursor: 0,
    programKey: '',
    planKey: '',
    pauseUntil: null,
    pauseReleased: false,
    paused: false,
    round: null,
    gateWaiting: null,
    inconclusiveRounds: 0,
    nextTickAt: null,
    nextLookAt: null,
    look: null,
    canary: { ready: false, since: null, unreadyMs: 0 },
    primary: { ready: false, since: null, unreadyMs: 0 },
    promotionApplied: false,
    suspendedAt: null,
    restore: null,
  };
}
