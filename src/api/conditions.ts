import { CONDITION_TYPES, type Condition, type Phase } from './status.ts';
import { issueText, type ValidationIssue } from './validate.ts';

// Conditions follow the Kubernetes API conventions and kstatus (what Flux health checks
// and Argo CD read): Reconciling=True while work is in progress, Stalled=True when it
// cannot progress without a change (failed rollout, invalid spec), Ready=True when the
// current revision serves all traffic. lastTransitionTime changes only when status does.

export type ConditionStatus = Condition['status'];

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new list with `update` applied. lastTransitionTime is kept when the status is
 * unchanged (reason, message and observedGeneration may still change); other conditions
 * keep their order.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    ...(update.message !== undefined ? { message: update.message } : {}),
    ...(update.observedGeneration !== undefined ? { observedGeneration: update.observedGeneration } : {}),
    lastTransitionTime:
      previous && previous.status === update.status ? previous.lastTransitionTime : rfc3339(now),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** setCondition for each update in turn. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
): Condition[] {
  return updates.reduce<Condition[]>(
    (list, update) => setCondition(list, update, now),
    [...(conditions ?? [])],
  );
}

/** Kubernetes writes times with second precision. */
export function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** What each phase means for Ready / Stalled / Reconciling, and the reason given. */
const PHASE_CONDITIONS: Record<
  Phase,
  { ready: ConditionStatus; stalled: boolean; reconciling: boolean; reason: string }
> = {
  Initializing: { ready: 'False', stalled: false, reconciling: true, reason: 'Initializing' },
  Initialized: { ready: 'True', stalled: false, reconciling: false, reason: 'Initialized' },
  Waiting: { ready: 'False', stalled: false, reconciling: true, reason: 'WaitingForConfirmation' },
  Progressing: { ready: 'False', stalled: false, reconciling: true, reason: 'Progressing' },
  WaitingPromotion: { ready: 'False', stalled: false, reconciling: true, reason: 'WaitingForPromotion' },
  Promoting: { ready: 'False', stalled: false, reconciling: true, reason: 'Promoting' },
  Finalising: { ready: 'False', stalled: false, reconciling: true, reason: 'Finalising' },
  Succeeded: { ready: 'True', stalled: false, reconciling: false, reason: 'Succeeded' },
  Failed: { ready: 'False', stalled: true, reconciling: false, reason: 'Failed' },
  Terminating: { ready: 'False', stalled: false, reconciling: true, reason: 'Terminating' },
  Terminated: { ready: 'False', stalled: false, reconciling: false, reason: 'Terminated' },
};

export interface PhaseConditionsInput {
  phase: Phase;
  /** metadata.generation of the Canary the status was computed from. */
  generation?: number;
  /** Detail for the Ready condition, e.g. "Canary analysis failed: 5 of 5 checks failed". */
  message?: string;
  /** A more precise reason than the phase's own, while the phase holds (AnalysisInconclusive). */
  reason?: string;
  /** Stalled although the phase is not (a bootstrap whose primary missed its deadline). */
  stalled?: boolean;
  now: Date;
}

/** Ready / Stalled / Reconciling for a phase, keeping lastTransitionTime where status did not change. */
export function conditionsForPhase(
  previous: readonly Condition[] | undefined,
  input: PhaseConditionsInput,
): Condition[] {
  const mapping = {
    ...PHASE_CONDITIONS[input.phase],
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.stalled ? { stalled: true, reconciling: false } : {}),
  };
  const message = input.message ?? `Canary is ${input.phase}`;
  // Stalled and Reconciling carry the phase's reason and message while they are True.
  const flag = (on: boolean, offReason: string) =>
    ({
      status: on ? 'True' : 'False',
      reason: on ? mapping.reason : offReason,
      message: on ? message : '',
    }) as const;
  const common = { observedGeneration: input.generation };
  return setConditions(
    previous,
    [
      { ...common, type: CONDITION_TYPES.Ready, status: mapping.ready, reason: mapping.reason, message },
      { ...common, type: CONDITION_TYPES.Stalled, ...flag(mapping.stalled, 'NotStalled') },
      {
        ...common,
        type: CONDITION_TYPES.Reconciling,
        ...flag(mapping.reconciling, 'ReconciliationSucceeded'),
      },
    ],
    input.now,
  );
}

/** The reason used when the spec does not validate. */
export const INVALID_SPEC_REASON = 'InvalidSpec';

/**
 * Conditions for an object that failed validation: Stalled=True (nothing will happen until
 * the spec is fixed), Ready=False, Reconciling=False, each naming the fields.
 */
export function stalledConditions(
  previous: readonly Condition[] | undefined,
  input: { issues: readonly ValidationIssue[]; generation?: number; now: Date },
): Condition[] {
  const message = input.issues.map(issueText).join('; ');
  // The first issue's reason names the condition (UnsupportedByProvider …); InvalidSpec otherwise.
  const reason = input.issues.find((issue) => issue.reason)?.reason ?? INVALID_SPEC_REASON;
  const common = { reason, observedGeneration: input.generation };
  return setConditions(
    previous,
    [
      { ...common, type: CONDITION_TYPES.Stalled, status: 'True', message },
      { ...common, type: CONDITION_TYPES.Ready, status: 'False', message },
      { ...common, type: CONDITION_TYPES.Reconciling, status: 'False', message: '' },
    ],
    input.now,
  );
}
