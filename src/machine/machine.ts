import { assign, setup } from 'xstate';
import {
  observeReadiness,
  promotePending,
  scaleUpPending,
  unreadyFor,
  waitFor,
  waitForPrimaryBeforeTraffic,
} from './clocks.ts';
import { hasHook, planKey, programKey, type Plan } from './plan.ts';
import { advance } from './program.ts';
import { confirmEffect, currentRevision, recordLateResult, routesPending, waitForRoutes } from './queue.ts';
import {
  cancelRound,
  checksFailed,
  checksInconclusive,
  checksPassed,
  countFailedCheck,
  gateApproved,
  holdAtGate,
  lookDue,
  openLook,
  holdInconclusive,
  openRound,
  recordLook,
  recordRoundResult,
  requestConfirmPromotion,
  requestConfirmRollout,
  settled,
} from './round.ts';
import {
  beginRollout,
  canaryRetired,
  endRollout,
  finishInitialization,
  freeze,
  ignoreCommand,
  initializePrimary,
  watchInitialization,
  pause,
  primaryInitialized,
  primaryRestored,
  recordRestore,
  restartAnalysis,
  resume,
  retireCanary,
  shiftTrafficToPrimary,
  startCanary,
  startPromotion,
  switchRevision,
  thaw,
  type PromotionCause,
  type RollbackCause,
} from './transitions.ts';
import { initialContext, type Context, type MachineEvent, type ManualCommand, type Phase } from './types.ts';

// The canary state machine. Pure: every transition reads the event (with `now` and the
// plan) and the context, and records effect requests in `context.pending`; nothing here
// waits, times out or talks to anything. Deadlines and the next step's time are
// timestamps in the context, because xstate `after` timers do not survive a restore.
// docs/state-machine.md is generated from this definition (npm run gen:diagram).

/** Events the machine may see that do not come from the controller (xstate's own init). */
type AnyEvent = MachineEvent | { type: `xstate.${string}` };

function nowOf(event: AnyEvent, fallback: number): number {
  return 'now' in event ? event.now : fallback;
}

/** An action that edits a copy of the context with one of the pure operations. */
function edit<P = undefined>(change: (d: Context, event: MachineEvent, params: P) => void) {
  return assign<Context, MachineEvent, P, MachineEvent, never>(({ context, event }, params) => {
    const draft = structuredClone(context);
    change(draft, event, params);
    return draft;
  });
}

function readinessOf(event: MachineEvent, which: 'canary' | 'primary') {
  return event.type === 'READINESS' ? event[which] : undefined;
}

function revisionOf(event: MachineEvent): string | undefined {
  return event.type === 'REVISION' ? event.revision : undefined;
}

function isNewRevision(context: Context, event: MachineEvent): boolean {
  const revision = revisionOf(event);
  return revision !== undefined && revision !== context.revision && revision !== context.primaryRevision;
}

function isRevertToPrimary(context: Context, event: MachineEvent): boolean {
  const revision = revisionOf(event);
  return revision !== undefined && revision !== context.revision && revision === context.primaryRevision;
}

function commandOf(event: MachineEvent): ManualCommand | undefined {
  return event.type === 'MANUAL' ? event.command : undefined;
}

/** The deadline is reached while the workload is not ready and its not-ready time adds up to it. */
function deadlineReached(
  track: Context['canary'],
  reported: string | undefined,
  now: number,
  plan: Plan,
  counting: boolean,
): boolean {
  if (!counting) return false;
  if (reported === 'deadlineExceeded') return true;
  if (reported === 'ready') return false;
  return !track.ready && unreadyFor(track, now) >= plan.progressDeadlineMs;
}

const phase = (value: Phase) => ({ type: 'enterPhase' as const, params: { phase: value } });
const command = (value: ManualCommand) => ({ type: 'command' as const, params: { command: value } });
const rollBack = (cause: RollbackCause) => ({ type: 'rollBack' as const, params: { cause } });
const promote = (cause: PromotionCause) => ({ type: 'startPromotion' as const, params: { cause } });

// Progressing and WaitingPromotion both run the analysis at the current routes: the same
// handlers, and the same first checks of a settled round. They differ in what a passing
// round or an approved gate leads to (their own `always` entries after these).
// `reenter` restarts progressing when it is the state already (a no-op from elsewhere).
const ANALYSING_ON = {
  TICK: [
    { guard: 'canaryDeadlineReached', target: 'idle.failed', actions: rollBack('canaryDeadline') },
    { guard: 'primaryWaitExceeded', target: 'idle.failed', actions: rollBack('primaryNotReady') },
    { guard: 'skipAnalysisReady', target: 'promoting', actions: promote('skipAnalysis') },
    // Between rounds (or while one waits at a gate): the judge and failFast metrics.
    { guard: 'lookDueBetweenRounds', actions: 'openLook' },
    { guard: 'tickEarly' },
    { guard: 'roundOpen' },
    { guard: 'canaryNotReady', actions: 'waitForCanary' },
    // No round (and so no step) while the primary, the one fallback, has no ready pods.
    { guard: 'primaryNotReadyForTraffic', actions: 'waitForPrimaryBeforeTraffic' },
    { actions: 'openRound' },
  ],
  READINESS: [
    { guard: 'canaryDeadlineReached', target: 'idle.failed', actions: rollBack('canaryDeadline') },
    { guard: 'primaryWaitExceeded', target: 'idle.failed', actions: rollBack('primaryNotReady') },
    { actions: 'observeReadiness' },
  ],
  ANALYSIS_RESULT: { guard: 'answersRound', actions: 'recordRoundResult' },
  WEBHOOK_RESULT: { guard: 'answersRound', actions: 'recordRoundResult' },
  LOOK_RESULT: [
    { guard: 'lookFoundRegression', target: 'idle.failed', actions: ['recordLook', rollBack('fastFail')] },
    { actions: 'recordLook' },
  ],
  REVISION: [
    { guard: 'revertedToPrimary', target: 'idle.succeeded', actions: 'cancelRollout' },
    { guard: 'newRevision', target: 'progressing', reenter: true, actions: 'restartAnalysis' },
  ],
  MANUAL: [
    { guard: command('promote'), target: 'promoting', actions: promote('command') },
    { guard: command('abort'), target: 'idle.failed', actions: rollBack('aborted') },
  ],
  NO_PROGRESS: { target: 'idle.failed', actions: rollBack('noProgress') },
} as const;

// Progressing moves the routes: no round opens at routes the router has not confirmed (its
// answers would describe other weights), so the next step waits for the write too.
const PROGRESSING_ON = {
  ...ANALYSING_ON,
  TICK: [
    ...ANALYSING_ON.TICK.slice(0, -3),
    { guard: 'routesPending', actions: 'waitForRoutes' },
    ...ANALYSING_ON.TICK.slice(-3),
  ],
} as const;

const ANALYSING_ALWAYS = [
  { guard: 'rollbackHookFired', target: 'idle.failed', actions: rollBack('rollbackHook') },
  { guard: 'failedChecksAtThreshold', target: 'idle.failed', actions: rollBack('failedChecks') },
  { guard: 'stepsChanged', target: 'progressing', reenter: true, actions: 'restartAnalysis' },
  { guard: 'checksFailed', actions: 'countFailedCheck' },
  { guard: 'checksInconclusive', actions: 'holdInconclusive' },
  // A round that passed, or a gate that opened, while the primary went not ready: no step
  // now; the round is asked again once the primary is ready.
  { guard: 'passedWhilePrimaryNotReady', actions: ['cancelRound', 'waitForPrimaryBeforeTraffic'] },
] as const;

export const canaryMachine = setup({
  types: {
    context: {} as Context,
    events: {} as MachineEvent,
    input: {} as { now: number },
  },
  guards: {
    // Time and readiness
    tickEarly: ({ context, event }) => context.nextTickAt !== null && event.now < context.nextTickAt,
    canaryNotReady: ({ context }) => !context.canary.ready,
    primaryNotReady: ({ context }) => !context.promotionApplied || !context.primary.ready,
    primaryNotReadyForTraffic: ({ context }) => !context.primary.ready,
    passedWhilePrimaryNotReady: ({ context }) =>
      !context.primary.ready && (checksPassed(context) || gateApproved(context)),
    // Analysing: the primary's not-ready time since the rollout began reached the deadline.
    // Kubernetes' own verdict (deadlineExceeded) is not enough here: the release may be its fix.
    primaryWaitExceeded: ({ context, event }) =>
      deadlineReached(context.primary, undefined, event.now, event.plan, !promotePending(context)),
    canaryDeadlineReached: ({ context, event }) =>
      deadlineReached(
        context.canary,
        readinessOf(event, 'canary'),
        event.now,
        event.plan,
        !scaleUpPending(context),
      ),
    primaryDeadlineReached: ({ context, event }) =>
      deadlineReached(
        context.primary,
        readinessOf(event, 'primary'),
        event.now,
        event.plan,
        context.promotionApplied && !promotePending(context),
      ),
    skipAnalysisReady: ({ context, event }) => event.plan.skipAnalysis && context.canary.ready,
    primaryInitialized: ({ context }) => primaryInitialized(context),
    // Rounds of checks
    roundOpen: ({ context }) => context.round !== null,
    answersRound: ({ context, event }) =>
      'effectId' in event && context.round !== null && context.round.awaiting.includes(event.effectId),
    rollbackHookFired: ({ context }) => context.round?.rollback != null,
    lookDueBetweenRounds: ({ context, event }) =>
      lookDue(context, event.plan, event.now) &&
      ((context.nextTickAt !== null && event.now < context.nextTickAt) || context.round !== null),
    lookFoundRegression: ({ context, event }) =>
      event.type === 'LOOK_RESULT' && context.look?.id === event.effectId && event.rollback !== undefined,
    checksFailed: ({ context }) => checksFailed(context),
    failedChecksAtThreshold: ({ context, event }) =>
      checksFailed(context) && context.failedChecks + 1 >= event.plan.threshold,
    checksInconclusive: ({ context }) => checksInconclusive(context),
    checksPassed: ({ context }) => checksPassed(context),
    gateApproved: ({ context }) => gateApproved(context),
    gateApprovedWithStepsLeft: ({ context, event }) =>
      gateApproved(context) && context.cursor + 1 < event.plan.steps.length,
    gateClosed: ({ context }) =>
      settled(context) &&
      context.round!.gate !== null &&
      (context.round!.gate.passed === false || context.paused),
    // The program
    atPromotionGate: ({ context, event }) =>
      event.plan.steps[context.cursor]?.kind === 'confirmPromotion' &&
      hasHook(event.plan, 'confirm-promotion') &&
      !routesPending(context),
    programCompleteAndApplied: ({ context, event }) =>
      context.cursor >= event.plan.steps.length && !routesPending(context),
    routesPending: ({ context }) => routesPending(context),
    stepsChanged: ({ context, event }) => context.programKey !== programKey(event.plan),
    promotionStepsLeft: ({ context, event }) =>
      event.plan.stepWeightPromotion > 0 &&
      event.plan.strategy !== 'abTesting' &&
      context.routes.canaryWeight > event.plan.stepWeightPromotion,
    canaryRetired: ({ context }) => canaryRetired(context),
    restoring: ({ context }) => context.restore !== null && context.restore.restoredAt === null,
    primaryRestored: ({ context }) => primaryRestored(context),
    // Revisions
    revisionChanged: ({ context, event }) =>
      revisionOf(event) !== undefined && revisionOf(event) !== context.revision,
    newRevision: ({ context, event }) => isNewRevision(context, event),
    newRevisionNeedsConfirmation: ({ context, event }) =>
      isNewRevision(context, event) && hasHook(event.plan, 'confirm-rollout'),
    revertedToPrimary: ({ context, event }) => isRevertToPrimary(context, event),
    newRevisionBeforePromotion: ({ context, event }) =>
      isNewRevision(context, event) && !context.promotionApplied,
    revertedBeforePromotion: ({ context, event }) =>
      isRevertToPrimary(context, event) && !context.promotionApplied,
    // Commands and spec
    command: ({ event }, params: { command: ManualCommand }) => commandOf(event) === params.command,
    retryNeedsConfirmation: ({ context, event }) =>
      commandOf(event) === 'retry' && context.revision !== null && hasHook(event.plan, 'confirm-rollout'),
    retry: ({ context, event }) => commandOf(event) === 'retry' && context.revision !== null,
    suspendRequested: ({ event }) => event.plan.suspend,
    resumeRequested: ({ event }) => !event.plan.suspend,
  },
  actions: {
    enterPhase: assign(({ context, event }, params: { phase: Phase }) =>
      context.phase === params.phase
        ? {}
        : { phase: params.phase, since: nowOf(event as AnyEvent, context.since) },
    ),
    adoptPlan: edit((d, e) => {
      d.planKey = planKey(e.plan);
    }),
    confirmEffect: edit((d, e) => {
      if (e.type === 'EFFECT_DONE') confirmEffect(d, e.effectId, e.now);
    }),
    recordLateResult: edit((d, e) => {
      if (e.type === 'WEBHOOK_RESULT' || e.type === 'ANALYSIS_RESULT' || e.type === 'LOOK_RESULT') {
        recordLateResult(d, { ...e, passed: e.type === 'WEBHOOK_RESULT' ? e.passed : undefined }, e.now);
      }
    }),
    observeReadiness: edit((d, e) => {
      if (e.type === 'READINESS') observeReadiness(d, e, e.now);
    }),
    watchInitialization: edit((d, e) => {
      if (e.type === 'READINESS') watchInitialization(d, e.plan, e.now, e);
    }),
    initializePrimary: edit((d, e) => {
      if (e.type === 'REVISION') initializePrimary(d, e.revision);
    }),
    finishInitialization: edit((d) => finishInitialization(d)),
    beginRollout: edit((d, e) => beginRollout(d, e.plan, revisionOf(e) ?? currentRevision(d))),
    requestConfirmRollout: edit((d, e) => requestConfirmRollout(d, e.plan, e.now)),
    startCanary: edit((d, e) => startCanary(d, e.plan, e.now)),
    switchRevision: edit((d, e) => switchRevision(d, revisionOf(e) ?? currentRevision(d))),
    restartAnalysis: edit((d, e) => restartAnalysis(d, e.plan, e.now, revisionOf(e))),
    waitForCanary: edit((d, e) => waitFor(d, e.plan, e.now, 'canary')),
    waitForPrimary: edit((d, e) => waitFor(d, e.plan, e.now, 'primary')),
    waitForPrimaryBeforeTraffic: edit((d, e) => waitForPrimaryBeforeTraffic(d, e.plan, e.now)),
    cancelRound: edit((d) => cancelRound(d)),
    waitForRoutes: edit((d, e) => waitForRoutes(d, e.plan.intervalMs, e.now)),
    openRound: edit((d, e) => openRound(d, e.plan, e.now)),
    recordRoundResult: edit((d, e) => {
      if (e.type === 'WEBHOOK_RESULT' || e.type === 'ANALYSIS_RESULT') recordRoundResult(d, e, e.now);
    }),
    countFailedCheck: edit((d, e) => countFailedCheck(d, e.plan)),
    openLook: edit((d, e) => openLook(d, e.plan, e.now)),
    recordLook: edit((d, e) => {
      if (e.type === 'LOOK_RESULT') recordLook(d, e, e.now);
    }),
    holdInconclusive: edit((d, e) => holdInconclusive(d, e.plan)),
    advance: edit((d, e, params: { gateApproved: boolean }) =>
      advance(d, e.plan, e.now, { round: !params.gateApproved, gateApproved: params.gateApproved }),
    ),
    holdAtGate: edit((d) => holdAtGate(d)),
    requestConfirmPromotion: edit((d, e) => requestConfirmPromotion(d, e.plan, e.now)),
    startPromotion: edit((d, e, params: { cause: PromotionCause }) =>
      startPromotion(d, e.plan, e.now, params.cause),
    ),
    shiftTrafficToPrimary: edit((d, e) => shiftTrafficToPrimary(d, e.plan, e.now)),
    retireCanary: edit((d, e) => retireCanary(d, e.plan, e.now)),
    recordRestore: edit((d, e) => recordRestore(d, e.now)),
    // The four ends of a rollout (transitions.ts, endRollout).
    completePromotion: edit((d, e) => endRollout(d, e.plan, { outcome: 'promoted' })),
    rollBack: edit((d, e, params: { cause: RollbackCause }) =>
      endRollout(d, e.plan, {
        outcome: 'rolledBack',
        cause: params.cause,
        now: e.now,
        ...(e.type === 'NO_PROGRESS' ? { detail: e.reason } : {}),
      }),
    ),
    cancelRollout: edit((d, e) =>
      endRollout(d, e.plan, { outcome: 'cancelled', revision: revisionOf(e) ?? currentRevision(d) }),
    ),
    recoverByRevert: edit((d, e) =>
      endRollout(d, e.plan, { outcome: 'recovered', revision: revisionOf(e) ?? currentRevision(d) }),
    ),
    pause: edit((d) => pause(d)),
    resume: edit((d, e) => resume(d, e.plan)),
    ignoreCommand: edit((d, e) => ignoreCommand(d, commandOf(e) ?? 'command')),
    freeze: edit((d, e) => {
      d.planKey = planKey(e.plan);
      freeze(d, e.now);
    }),
    thaw: edit((d, e) => {
      d.planKey = planKey(e.plan);
      thaw(d, e.now);
    }),
  },
}).createMachine({
  id: 'canary',
  context: ({ input }) => initialContext(input.now),
  initial: 'active',
  states: {
    active: {
      initial: 'initializing',
      on: {
        SPEC_CHANGED: [
          { guard: 'suspendRequested', target: 'suspended', actions: 'freeze' },
          { actions: 'adoptPlan' },
        ],
        EFFECT_DONE: { actions: 'confirmEffect' },
        WEBHOOK_RESULT: { actions: 'recordLateResult' },
        ANALYSIS_RESULT: { actions: 'recordLateResult' },
        LOOK_RESULT: { actions: 'recordLateResult' },
        MANUAL: [
          { guard: command('pause'), actions: 'pause' },
          { guard: command('resume'), actions: 'resume' },
          { actions: 'ignoreCommand' },
        ],
      },
      states: {
        hist: { type: 'history', history: 'deep' },

        initializing: {
          entry: phase('Initializing'),
          on: {
            REVISION: { guard: 'revisionChanged', actions: 'initializePrimary' },
            READINESS: { actions: ['observeReadiness', 'watchInitialization'] },
          },
          always: {
            guard: 'primaryInitialized',
            target: 'idle.initialized',
            actions: 'finishInitialization',
          },
        },

        idle: {
          initial: 'initialized',
          on: {
            REVISION: [
              {
                guard: 'newRevisionNeedsConfirmation',
                target: 'waiting',
                actions: ['beginRollout', 'requestConfirmRollout'],
              },
              { guard: 'newRevision', target: 'progressing', actions: ['beginRollout', 'startCanary'] },
            ],
          },
          states: {
            initialized: { entry: phase('Initialized') },
            succeeded: { entry: phase('Succeeded') },
            failed: {
              entry: phase('Failed'),
              // Time to restore ends when the primary serves all traffic again (the rollback's
              // route write confirmed, the primary ready): readiness is watched until then.
              always: { guard: 'primaryRestored', actions: 'recordRestore' },
              on: {
                READINESS: { guard: 'restoring', actions: 'observeReadiness' },
                // Git reverted the target to what the primary runs: nothing is left to roll out.
                REVISION: [
                  {
                    guard: 'revertedToPrimary',
                    target: '#canary.active.idle.succeeded',
                    actions: 'recoverByRevert',
                  },
                ],
                MANUAL: [
                  {
                    guard: 'retryNeedsConfirmation',
                    target: '#canary.active.waiting',
                    actions: ['beginRollout', 'requestConfirmRollout'],
                  },
                  {
                    guard: 'retry',
                    target: '#canary.active.progressing',
                    actions: ['beginRollout', 'startCanary'],
                  },
                ],
              },
            },
          },
        },

        waiting: {
          entry: phase('Waiting'),
          on: {
            TICK: [{ guard: 'tickEarly' }, { guard: 'roundOpen' }, { actions: 'requestConfirmRollout' }],
            WEBHOOK_RESULT: { guard: 'answersRound', actions: 'recordRoundResult' },
            REVISION: [
              { guard: 'revertedToPrimary', target: 'idle.succeeded', actions: 'cancelRollout' },
              { guard: 'newRevision', actions: 'switchRevision' },
            ],
            MANUAL: [
              { guard: command('promote'), target: 'promoting', actions: promote('command') },
              { guard: command('abort'), target: 'idle.failed', actions: rollBack('aborted') },
            ],
          },
          always: [
            { guard: 'rollbackHookFired', target: 'idle.failed', actions: rollBack('rollbackHook') },
            { guard: 'gateApproved', target: 'progressing', actions: 'startCanary' },
            { guard: 'gateClosed', actions: 'holdAtGate' },
          ],
        },

        progressing: {
          entry: phase('Progressing'),
          on: PROGRESSING_ON,
          always: [
            ...ANALYSING_ALWAYS,
            { guard: 'checksPassed', actions: { type: 'advance', params: { gateApproved: false } } },
            { guard: 'gateApproved', actions: { type: 'advance', params: { gateApproved: true } } },
            { guard: 'gateClosed', actions: 'holdAtGate' },
            { guard: 'atPromotionGate', target: 'waitingPromotion', actions: 'requestConfirmPromotion' },
            { guard: 'programCompleteAndApplied', target: 'promoting', actions: promote('analysis') },
          ],
        },

        waitingPromotion: {
          entry: phase('WaitingPromotion'),
          on: ANALYSING_ON,
          always: [
            ...ANALYSING_ALWAYS,
            { guard: 'checksPassed', actions: 'requestConfirmPromotion' },
            {
              guard: 'gateApprovedWithStepsLeft',
              target: 'progressing',
              actions: { type: 'advance', params: { gateApproved: true } },
            },
            { guard: 'gateApproved', target: 'promoting', actions: promote('analysis') },
            { guard: 'gateClosed', actions: 'holdAtGate' },
          ],
        },

        promoting: {
          entry: phase('Promoting'),
          on: {
            TICK: [
              {
                guard: 'primaryDeadlineReached',
                target: 'idle.failed',
                actions: rollBack('primaryDeadline'),
              },
              { guard: 'tickEarly' },
              { guard: 'routesPending', actions: 'waitForRoutes' },
              { guard: 'primaryNotReady', actions: 'waitForPrimary' },
              { guard: 'promotionStepsLeft', actions: 'shiftTrafficToPrimary' },
              { target: 'finalising', actions: 'retireCanary' },
            ],
            READINESS: [
              {
                guard: 'primaryDeadlineReached',
                target: 'idle.failed',
                actions: rollBack('primaryDeadline'),
              },
              { actions: 'observeReadiness' },
            ],
            REVISION: [
              { guard: 'revertedBeforePromotion', target: 'idle.succeeded', actions: 'cancelRollout' },
              { guard: 'newRevisionBeforePromotion', target: 'progressing', actions: 'restartAnalysis' },
            ],
            MANUAL: { guard: command('abort'), target: 'idle.failed', actions: rollBack('aborted') },
            // Route writes kept failing (transiently) for progressDeadlineSeconds.
            NO_PROGRESS: { target: 'idle.failed', actions: rollBack('noProgress') },
          },
        },

        finalising: {
          entry: phase('Finalising'),
          on: {
            TICK: {
              guard: 'primaryDeadlineReached',
              target: 'idle.failed',
              actions: rollBack('primaryDeadline'),
            },
            READINESS: [
              {
                guard: 'primaryDeadlineReached',
                target: 'idle.failed',
                actions: rollBack('primaryDeadline'),
              },
              { actions: 'observeReadiness' },
            ],
          },
          always: { guard: 'canaryRetired', target: 'idle.succeeded', actions: 'completePromotion' },
        },
      },
    },

    suspended: {
      on: {
        SPEC_CHANGED: [
          { guard: 'resumeRequested', target: '#canary.active.hist', actions: 'thaw' },
          { actions: 'adoptPlan' },
        ],
        EFFECT_DONE: { actions: 'confirmEffect' },
      },
    },
  },
});

export type CanaryMachine = typeof canaryMachine;
