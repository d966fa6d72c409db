import { conditionsForPhase, stalledConditions } from '../api/conditions.ts';
import type { Release } from '../api/release.ts';
import type { CanaryStatus, HandledCommand, NoProgress } from '../api/status.ts';
import type { ValidationIssue } from '../api/validate.ts';
import { apiErrorMessage } from '../kube/client.ts';
import type { StepResult } from '../machine/driver.ts';
import { waitingForPrimary } from '../machine/clocks.ts';
import { initializationStalled } from '../machine/transitions.ts';
import { INCONCLUSIVE } from '../machine/round.ts';
import type { EffectFailure } from './effect-runner.ts';

// The Canary status a reconcile writes, built from the one before it: after the machine
// stepped (rolloutStatus), when the target cannot be read (problemStatus), when the spec is
// invalid (stalledStatus), while a deletion restores the target (terminatingStatus).

/** Status fields the machine may leave out: when it does, they are gone from the status. */
const MACHINE_OPTIONAL = ['nextStepAt', 'deadlines', 'lastAppliedSpec', 'lastPromotedSpec'] as const;

export interface RolloutStatusInput {
  previous: CanaryStatus;
  /** The driver's last result of this reconcile. */
  result: StepResult;
  /** The DORA annotations of the revision under analysis (status.release). */
  release: Release | undefined;
  failure: EffectFailure | undefined;
  trackedConfigs: Record<string, string>;
  generation: number | undefined;
  /** What effect answers added (status.lastAnalysis). */
  reported: Partial<CanaryStatus>;
  /**
   * A rollout began in this reconcile: the judge's verdicts of an earlier run are gone (a look
   * of the new run only starts its comparison; its counts stay in the controller's memory).
   */
  rolloutStarted: boolean;
  lastCommand: HandledCommand | undefined;
  /** The session cookies the routes pin users with (sessionAffinityStatus in src/routers/session.ts). */
  sessionAffinity: Pick<CanaryStatus, (typeof AFFINITY_FIELDS)[number]>;
  /** The no-progress clock while effects keep failing (undefined: they are carried out). */
  noProgress?: NoProgress | undefined;
  now: number;
}

/** Status fields of session affinity: gone from the status when the spec no longer asks for it. */
const AFFINITY_FIELDS = ['sessionAffinityCookie', 'previousSessionAffinityCookie'] as const;

export function rolloutStatus(input: RolloutStatusInput): CanaryStatus {
  const { previous, result, failure, generation, now } = input;
  const { message, ...machine } = result.status;
  const retrying = failure ? apiErrorMessage(failure.error) : undefined;
  const status: CanaryStatus = {
    ...previous,
    ...machine,
    message: retrying ? `${message} (retrying: ${retrying})` : message,
    trackedConfigs: input.trackedConfigs,
    observedGeneration: generation,
    conditions: conditionsForPhase(previous.conditions, {
      phase: machine.phase,
      ...(generation !== undefined ? { generation } : {}),
      ...(result.snapshot.context.gateWaiting === INCONCLUSIVE ? { reason: 'AnalysisInconclusive' } : {}),
      ...(waitingForPrimary(result.snapshot.context) ? { reason: 'PrimaryNotReady' } : {}),
      ...(initializationStalled(result.snapshot.context) ? { reason: 'PrimaryNotReady', stalled: true } : {}),
      message: retrying ? `${message}; retrying after error: ${retrying}` : message,
      now: new Date(now),
    }),
    machine: result.snapshot,
    ...input.reported,
    ...(input.lastCommand ? { lastCommand: input.lastCommand } : {}),
    // First seen: a retry of the same revision keeps when it was detected (lead time's fallback start).
    ...(machine.lastAppliedSpec !== undefined && machine.lastAppliedSpec !== previous.lastAppliedSpec
      ? { revisionDetectedAt: new Date(now).toISOString() }
      : {}),
    ...input.sessionAffinity,
  };
  if (input.noProgress) status.noProgress = input.noProgress;
  else delete status.noProgress;
  if (input.release && Object.keys(input.release).length > 0) status.release = input.release;
  else delete status.release;
  for (const field of MACHINE_OPTIONAL) if (!(field in machine)) delete status[field];
  for (const field of AFFINITY_FIELDS) if (!(field in input.sessionAffinity)) delete status[field];
  // The judge starts afresh with each revision: its verdicts of another one are gone.
  if (status.judge && status.judge.revision !== status.lastAppliedSpec) delete status.judge;
  if (input.rolloutStarted) delete status.judge;
  return status;
}

/** A problem that may go away (a target not created yet): Ready=False with the reason. */
export function problemStatus(
  previous: CanaryStatus,
  message: string,
  generation: number | undefined,
  now: number,
): CanaryStatus {
  const phase = previous.phase ?? 'Initializing';
  return {
    ...previous,
    phase,
    message,
    observedGeneration: generation,
    conditions: conditionsForPhase(previous.conditions, {
      phase,
      ...(generation !== undefined ? { generation } : {}),
      message,
      now: new Date(now),
    }),
  };
}

/** An invalid spec: Stalled=True naming the fields; the rollout state stays as it was. */
export function stalledStatus(
  previous: CanaryStatus,
  message: string,
  issues: readonly ValidationIssue[],
  generation: number | undefined,
  now: number,
): CanaryStatus {
  // A stall ends the no-progress clock: the rollout waits for a person, not for an error to pass.
  const { noProgress: _clock, ...rest } = previous;
  return {
    ...rest,
    observedGeneration: generation,
    message,
    conditions: stalledConditions(previous.conditions, {
      issues,
      ...(generation !== undefined ? { generation } : {}),
      now: new Date(now),
    }),
  };
}

/** revertOnDeletion: the target is being restored before the Canary goes. */
export function terminatingStatus(previous: CanaryStatus): CanaryStatus {
  return { ...previous, phase: 'Terminating', message: 'restoring the target before deletion' };
}
