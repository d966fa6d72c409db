import type { Canary } from '../api/canary.ts';
import type { Release } from '../api/release.ts';
import { commandResult } from '../api/commands.ts';
import { RESTING_PHASES, type CanaryStatus, type HandledCommand, type NoProgress } from '../api/status.ts';
import { INVALID_SPEC_REASON } from '../api/conditions.ts';
import { PRIMARY_ONLY, sameRoutes } from '../api/routes.ts';
import {
  fieldIssue,
  formatIssues,
  isFieldError,
  parseCanary,
  type ValidationIssue,
} from '../api/validate.ts';
import { validateMetricChecks } from '../analysis/validate.ts';
import { apiErrorMessage, withWire, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { canWaitSince, stepAll, type StepResult } from '../machine/driver.ts';
import { PlanError, planFromSpec, type Plan } from '../machine/plan.ts';
import type { Observation } from '../machine/types.ts';
import { PRIMARY_INIT_STALLED } from '../machine/transitions.ts';
import type { EventSubject } from '../notify/events.ts';
import { routerFor, type RouterFactoryOptions } from '../routers/factory.ts';
import { RoutesNotFoundError, type Router } from '../routers/router.ts';
import { sessionAffinityStatus } from '../routers/session.ts';
import { targetFor } from '../targets/factory.ts';
import { podStepsOf } from '../targets/statefulset.ts';
import { PodChecks } from '../targets/pod-checks.ts';
import type { PodReads, Target, TargetDeps } from '../targets/target.ts';
import { API_VERSION, type CanaryObject } from './canary-object.ts';
import { problemStatus, rolloutStatus, stalledStatus } from './canary-status.ts';
import { finalizeDeletion, keepFinalizer } from './deletion.ts';
import { EffectRunner, type Carried, type EffectWork } from './effect-runner.ts';
import type { EffectDeps } from './effects.ts';
import { observe, type Seen } from './observe.ts';
import { permanentIssue, refusedSpec } from './refusals.ts';
import { readThroughWire, type CacheLookup } from './read-cache.ts';
import { recordRollout } from './rollout-metrics.ts';
import { StatusWriter, type HeldBy } from './status-writer.ts';
import { deepEqual } from './merge-patch.ts';

export { FINALIZER } from './deletion.ts';
export { canaryKey, readCanary, type CanaryObject } from './canary-object.ts';

export interface ReconcilerDeps extends EffectDeps {
  /** The Canary as the informer holds it now. */
  getCanary(namespace: string, name: string): CanaryObject | undefined;
  /** Whether this replica's shard owns the Canary (default: every one); see shard.ts. */
  owns?(object: CanaryObject): boolean;
  /** This replica's shard, written into status.heldBy; a Canary another shard holds waits for its release. */
  holder?: HeldBy;
  /** How long a Canary relabelled here waits for the old shard's release before it is taken over (default 30 s). */
  handoverWaitMs?: number;
  /** Ask for another reconcile of this key soon (an async answer arrived). */
  requeue(key: string): void;
  /** Fire a TICK for this key at `at` (epoch ms), replacing any earlier schedule. */
  schedule(key: string, at: number | null): void;
  defaultProvider?: string;
  /** Prometheus' scrape interval when known: looks between steps are never more frequent. */
  scrapeIntervalMs?: () => number | undefined;
  now?: () => number;
  /** Called after each reconcile with the canary's tracked objects, for event routing. */
  onTracked?(key: string, tracked: { targetKind: string; target: string; configs: string[] }): void;
  /** The informers' objects: targets, primaries and their configs are read from here when present. */
  cache?: CacheLookup;
  /** How long a reconcile waits for the analyses it started before writing status (default 2 s; 0: never). */
  analysisWaitMs?: number;
  /** The target and router a Canary names (default: the factories in targets/ and routers/). */
  workloadFor?: WorkloadFactory;
}

/**
 * How much a reconcile reads the workloads' pods (TargetDeps.podReads), from the status it
 * starts from: none in a bootstrap but at the look that finds its deadline passed, none for
 * a ready workload of a resting canary, as checks need them during a rollout.
 */
export function podReadsFor(status: CanaryStatus | undefined, now: number): PodReads {
  const phase = status?.phase;
  if (phase !== undefined && RESTING_PHASES.has(phase)) return 'unlessReady';
  if (phase !== undefined && phase !== 'Initializing') return 'checked';
  // The look that finds the deadline passed reads the pods to say why, once: a stalled
  // bootstrap keeps that message, and thousands of them would list pods at every look.
  if (status?.message?.startsWith(PRIMARY_INIT_STALLED)) return 'never';
  const deadline = Date.parse(status?.deadlines?.primaryReady ?? '');
  return Number.isFinite(deadline) && deadline <= now ? 'checked' : 'never';
}

/** The longest wait between two looks at an initialising Canary's primary (nextInitialisingLook). */
export const INITIALISING_LOOK_MAX_MS = 5 * 60_000;

/** Builds the target and router of a Canary; the reconciler's one way to reach them. */
export type WorkloadFactory = (
  canary: Canary,
  deps: { kube: Kube; targetDeps: TargetDeps; routerOptions: RouterFactoryOptions },
) => { target: Target; router: Router };

/** The target of spec.targetRef.kind and the router of spec.provider. */
export const defaultWorkloads: WorkloadFactory = (canary, { kube, targetDeps, routerOptions }) => {
  const target = targetFor(canary, targetDeps);
  const router = routerFor(
    canary,
    {
      kube,
      ...(targetDeps.logger ? { logger: targetDeps.logger } : {}),
      ...(targetDeps.events ? { events: targetDeps.events } : {}),
      targetPods: (c) => target.pods(c),
    },
    routerOptions,
  );
  return { target, router };
};

/**
 * A stalled Canary's traffic goes back to its primary: what had moved is set back, whatever
 * the reason for the stall. A Canary never initialized has no routes of Sluice's, and
 * nothing is written. `primary`: all traffic is on the primary now.
 */
async function primaryOnly(
  workload: Prepared,
  previous: CanaryStatus,
  log: Logger,
): Promise<{ primary: boolean; note?: string }> {
  if (previous.phase === undefined || previous.phase === 'Initializing') return { primary: false };
  const { router, canary } = workload;
  try {
    if (sameRoutes(await router.getRoutes(canary), PRIMARY_ONLY)) return { primary: true };
    await router.setRoutes(canary, { ...PRIMARY_ONLY });
    log.warn('stalled: traffic sent back to the primary');
    return { primary: true, note: 'traffic sent back to the primary' };
  } catch (error) {
    if (error instanceof RoutesNotFoundError) return { primary: false };
    log.warn({ err: error }, 'stalled: could not send traffic back to the primary');
    return { primary: false, note: `could not send traffic back to the primary: ${apiErrorMessage(error)}` };
  }
}

/** One reconcile of one canary: the object as the informer has it, and how to speak of it. */
interface Run {
  key: string;
  object: CanaryObject;
  subject: EventSubject;
  log: Logger;
}

/** A Canary with a plan and the target and router its spec names. */
interface Prepared {
  canary: Canary;
  plan: Plan;
  target: Target;
  router: Router;
}

/** The spec cannot be acted on: the issues name the fields (Stalled). */
type Refused = { issues: readonly ValidationIssue[] };

/**
 * The per-canary reconcile, a pipeline read top to bottom: observe the target and commands,
 * step the machine, carry out its effects, build the status, write it, record metrics.
 * Everything is recomputed from the objects; what the controller remembers between
 * reconciles (statuses held back, effects in flight) only saves reads and writes.
 */
export class CanaryReconciler {
  private readonly deps: ReconcilerDeps;
  private readonly now: () => number;
  /** The client targets and routers use: reads through the informer cache where there is one. */
  private readonly cachedKube: Kube;
  /** Ready workloads whose pods were found healthy: not listed again while their status stands. */
  private readonly podChecks = new PodChecks();
  private readonly status: StatusWriter;
  private readonly effects: EffectRunner;
  /** The uid each key was last seen with: a Canary deleted and created again starts afresh. */
  private readonly uids = new Map<string, string | undefined>();
  /** Since when each Canary relabelled here has waited for the old shard's release. */
  private readonly handovers = new Map<string, number>();
  /** How many looks in a row found each initialising Canary's primary not ready yet. */
  private readonly initialisingLooks = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.cachedKube = deps.cache
      ? withWire(deps.kube, readThroughWire(deps.kube.wire, deps.cache))
      : deps.kube;
    this.status = new StatusWriter(deps);
    this.effects = new EffectRunner(deps);
  }

  async reconcile(key: string): Promise<void> {
    const run = this.begin(key);
    if (!run) return this.gone(key);
    // A deletion comes first: the finalizer goes even when the spec has since become invalid.
    if (run.object.metadata.deletionTimestamp) return this.delete(run);
    if (this.awaitingHandover(run)) return;
    const admitted = this.admit(run);
    if ('issues' in admitted) return this.stall(run, admitted.issues);
    await keepFinalizer(this.deps, run.object, admitted);
    const prepared = this.prepare(run, await this.withPodSteps(run, admitted));
    if ('issues' in prepared) return this.stall(run, prepared.issues, prepared.workload);

    const previous = this.status.latest(key, run.object);
    // 1. Observe: the target, a command, answers that arrived, the clock.
    const seen = await this.observe(run, prepared, previous);
    const stuck = observeNoProgress(previous.noProgress, seen, prepared.plan);
    // 2. Step: the machine decides.
    const step = (persisted: unknown, observations: Observation[]) =>
      stepAll(persisted, prepared.plan, observations);
    const first = step(previous.machine, seen.observations);
    const release = this.release(run, previous, first.status.lastAppliedSpec, seen);
    // Taking over a rollout from another shard (or from before sharding): the claim is written
    // before any effect, so a shard still finishing its last reconcile of it cannot overwrite it.
    // Already ours: no claim, or it would push out what the writer holds back (readiness turning).
    if (
      this.deps.holder &&
      first.effects.length > 0 &&
      previous.machine !== undefined &&
      !deepEqual(previous.heldBy, this.deps.holder)
    )
      await this.status.write(key, run.object, previous, run.log, { claim: true });
    // 3. Carry out its effects, feeding each completion back.
    const work = this.work(run, prepared, seen, step, release, previous);
    const carried = await this.effects.carryOut(key, first, work);
    const { permanent, noProgress } = permanentOrRetried(carried, stuck, seen.now);
    // 4. Build the status, 5. write it (or hold it back), 6. metrics.
    const status = rolloutStatus({
      previous,
      ...carried,
      release,
      rolloutStarted: carried.happened.rolloutStarted,
      ...(permanent ? { failure: undefined } : {}),
      trackedConfigs: seen.trackedConfigs,
      generation: run.object.metadata.generation,
      lastCommand: handledCommand(seen.lastCommand, previous.lastCommand, first),
      sessionAffinity: sessionAffinityStatus({ ...prepared.canary, status: previous }),
      noProgress,
      now: seen.now,
    });
    if (permanent) {
      recordRollout(this.deps.metrics, run.subject, previous, status, carried.happened);
      return this.stall(run, [permanent], prepared, status);
    }
    const canWait = carried.happened.canWait || canWaitSince(previous.machine, carried.result.snapshot);
    await this.status.write(key, run.object, status, run.log, { canWait });
    recordRollout(this.deps.metrics, run.subject, previous, status, carried.happened);
    // Relabelled to another shard meanwhile: what was done is written; the next reconcile releases it.
    if (carried.handedOver) return run.log.info('moved to another shard; handing it over');
    const initialising =
      status.phase === 'Initializing'
        ? this.nextInitialisingLook(key, seen.now, prepared.plan.intervalMs)
        : null;
    if (initialising === null) this.initialisingLooks.delete(key);
    // An initialising canary wakes for the next look or its bootstrap deadline, whichever is first.
    const wakes = [carried.result.wakeAt, initialising].filter((at): at is number => at !== null);
    this.deps.schedule(key, wakes.length > 0 ? Math.min(...wakes) : null);
    if (carried.failure) throw carried.failure.error;
  }

  /**
   * When to look at an initialising primary again. Its readiness arrives with the watch events of
   * its status, but a write that changed nothing (a StatefulSet's partition already 0) brings no
   * event: so look again after one interval, then after twice as long each time it is still not
   * ready, at most every 5 minutes (the resync's period). A look every interval each took the
   * whole work queue from the events that finish a bootstrap once thousands of Canaries were
   * initialising at once (docs/performance.md, idle at scale).
   */
  private nextInitialisingLook(key: string, now: number, intervalMs: number): number {
    const looks = this.initialisingLooks.get(key) ?? 0;
    this.initialisingLooks.set(key, Math.min(looks + 1, 20));
    return now + Math.min(intervalMs * 2 ** looks, Math.max(intervalMs, INITIALISING_LOOK_MAX_MS));
  }

  /**
   * The Canary left this replica's informer: deleted, or relabelled to another shard. Its memory
   * is dropped; if this replica worked on it, status.heldBy is cleared so the new shard acts.
   */
  private async gone(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const worked = this.uids.has(key);
    this.forget(key);
    if (worked)
      await this.status.release(
        key,
        namespace,
        name,
        this.deps.log.child({ canary: `${name}.${namespace}` }),
      );
  }

  /**
   * Relabelled here while another shard holds it (status.heldBy): nothing is done until that
   * shard has written what it did and released it, or `handoverWaitMs` has passed.
   */
  private awaitingHandover(run: Run): boolean {
    const holder = this.deps.holder;
    const heldBy = run.object.status?.heldBy;
    if (!holder || !heldBy || deepEqual(heldBy, holder)) {
      this.handovers.delete(run.key);
      return false;
    }
    const now = this.now();
    const since = this.handovers.get(run.key) ?? now;
    this.handovers.set(run.key, since);
    const waitMs = this.deps.handoverWaitMs ?? 30_000;
    const other = heldBy.shard === undefined ? 'the unsharded replica' : `shard ${heldBy.shard}`;
    if (now - since < waitMs) {
      run.log.info(`waiting for ${other} to hand the canary over (at most ${waitMs / 1000}s)`);
      this.deps.schedule(run.key, since + waitMs);
      return true;
    }
    run.log.warn(`${other} did not hand the canary over within ${waitMs / 1000}s; taking it over`);
    this.handovers.delete(run.key);
    return false;
  }

  /** The Canary to reconcile, or undefined when it is gone. */
  private begin(key: string): Run | undefined {
    const [namespace, name] = key.split('/') as [string, string];
    const object = this.deps.getCanary(namespace, name);
    if (!object) return undefined;
    if (this.uids.has(key) && this.uids.get(key) !== object.metadata.uid) this.drop(key);
    this.uids.set(key, object.metadata.uid);
    const subject: EventSubject = {
      apiVersion: API_VERSION,
      kind: 'Canary',
      name,
      namespace,
      ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
    };
    return { key, object, subject, log: this.deps.log.child({ canary: `${name}.${namespace}` }) };
  }

  /** The spec parsed and its metric checks validated. */
  private admit(run: Run): Canary | Refused {
    const parsed = parseCanary(run.object);
    if (!parsed.ok) return { issues: parsed.issues };
    const metricIssues = validateMetricChecks(parsed.canary.spec.analysis.metrics ?? []);
    return metricIssues.length > 0 ? { issues: metricIssues } : parsed.canary;
  }

  /**
   * The plan the machine walks, and the target and router the spec names; refused when the
   * target kind or provider is one Sluice cannot build, or the spec asks for what the
   * provider cannot route or the URL allowlist refuses (then with the workload, so a
   * rollout in flight can be sent back to the primary).
   */
  private prepare(run: Run, canary: Canary): Prepared | (Refused & { workload?: Prepared }) {
    const scrapeMs = this.deps.scrapeIntervalMs?.();
    const options = {
      ...(this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {}),
      ...(scrapeMs !== undefined ? { minLookEveryMs: scrapeMs } : {}),
    };
    let plan: Plan;
    try {
      plan = planFromSpec(canary.spec, options);
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      const detail = error.message.startsWith(`${error.field}: `)
        ? error.message.slice(error.field.length + 2)
        : error.message;
      return { issues: [{ path: error.field, message: detail }] };
    }
    let workload: { target: Target; router: Router };
    try {
      workload = this.workload(run, canary, true, podReadsFor(run.object.status, this.now()));
    } catch (error) {
      if (!isFieldError(error)) throw error;
      return { issues: [fieldIssue(error)] };
    }
    const prepared = { canary, plan, ...workload };
    const refused = refusedSpec(canary, {
      ...(this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {}),
      ...(this.deps.webhookDeps?.urlPolicy ? { urlPolicy: this.deps.webhookDeps.urlPolicy } : {}),
    });
    return refused.length > 0 ? { issues: refused, workload: prepared } : prepared;
  }

  /** A StatefulSet's pod steps as the weights the machine walks: they depend on its replicas. */
  private async withPodSteps(run: Run, canary: Canary): Promise<Canary> {
    try {
      return await podStepsOf(canary, { kube: this.cachedKube });
    } catch (error) {
      await this.reportProblem(run, `cannot read the target: ${apiErrorMessage(error)}`);
      throw error;
    }
  }

  private workload(
    run: Run,
    canary: Canary,
    withPodChecks: boolean,
    podReads: PodReads = 'checked',
  ): { target: Target; router: Router } {
    return (this.deps.workloadFor ?? defaultWorkloads)(canary, {
      kube: this.cachedKube,
      targetDeps: {
        kube: this.cachedKube,
        now: this.now,
        events: this.deps.events,
        logger: run.log,
        ...(withPodChecks ? { podChecks: this.podChecks } : {}),
        ...(podReads === 'checked' ? {} : { podReads }),
      },
      routerOptions: this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {},
    });
  }

  /** 1. The target's revision and readiness, a new command, answers that arrived, a tick. */
  private async observe(run: Run, prepared: Prepared, previous: CanaryStatus): Promise<Seen> {
    const { canary, target } = prepared;
    const now = this.now();
    let seen;
    try {
      seen = await observe(canary, run.object, target, previous, {
        now,
        events: this.deps.events,
        subject: run.subject,
        log: run.log,
      });
    } catch (error) {
      // A missing or unreadable target: say so in status and events, retry with backoff.
      await this.reportProblem(run, `cannot read the target: ${apiErrorMessage(error)}`);
      throw error;
    }
    this.deps.onTracked?.(run.key, {
      targetKind: canary.spec.targetRef.kind,
      target: canary.spec.targetRef.name,
      configs: Object.keys(seen.trackedConfigs),
    });
    // The machine ignores a tick before its step is due, so every reconcile may send one.
    seen.observations.push(...this.effects.takeAnswers(run.key), { type: 'TICK', now });
    return seen;
  }

  /**
   * The release (DORA annotations) of the revision under analysis: read from the target
   * while it still has that revision, else kept from status. An unreadable timestamp is
   * reported once, when the revision is adopted.
   */
  private release(
    run: Run,
    previous: CanaryStatus,
    analysed: string | undefined,
    seen: Seen,
  ): Release | undefined {
    if (analysed === undefined || analysed !== seen.revision || !seen.release) return previous.release;
    const { release, problem } = seen.release;
    if (problem && analysed !== previous.lastAppliedSpec) {
      run.log.warn(problem);
      void this.deps.events.record(run.subject, 'Warning', 'InvalidAnnotation', problem);
    }
    return release;
  }

  private work(
    run: Run,
    prepared: Prepared,
    seen: Seen,
    step: EffectWork['step'],
    release: Release | undefined,
    previous: CanaryStatus,
  ): EffectWork {
    return {
      ...prepared,
      release,
      subject: run.subject,
      trackedConfigs: seen.trackedConfigs,
      generation: run.object.metadata.generation,
      step,
      intervalMs: prepared.plan.intervalMs,
      established: run.object.status !== undefined,
      owned: () => this.deps.getCanary(run.object.metadata.namespace, run.object.metadata.name) !== undefined,
      judge: previous.judge,
      now: seen.now,
      log: run.log,
    };
  }

  /** A problem that may go away (a target not created yet): Ready=False with the reason, a Warning Event. */
  private async reportProblem(run: Run, message: string): Promise<void> {
    run.log.warn(message);
    void this.deps.events.record(run.subject, 'Warning', 'ReconcileError', message);
    const previous = this.status.latest(run.key, run.object);
    const status = problemStatus(previous, message, run.object.metadata.generation, this.now());
    await this.status.write(run.key, run.object, status, run.log);
  }

  /**
   * A spec Sluice cannot act on, or an effect error that will not go away: Stalled=True with
   * the first issue's reason, naming the field (or the object and the apiserver's message),
   * and a Warning Event with the same reason. Routing is touched only to send traffic that
   * had moved back to the primary; nothing else is.
   */
  private async stall(
    run: Run,
    issues: readonly ValidationIssue[],
    workload?: Prepared,
    base?: CanaryStatus,
  ): Promise<void> {
    const reason = issues.find((issue) => issue.reason)?.reason ?? INVALID_SPEC_REASON;
    let message = formatIssues(run.object, issues);
    const previous = base ?? this.status.latest(run.key, run.object);
    const routing = workload ? await primaryOnly(workload, previous, run.log) : { primary: false };
    if (routing.note) message += `; ${routing.note}`;
    run.log.warn({ issues }, message);
    void this.deps.events.record(run.subject, 'Warning', reason, message);
    const status = stalledStatus(
      routing.primary ? { ...previous, canaryWeight: 0 } : previous,
      message,
      issues,
      run.object.metadata.generation,
      this.now(),
    );
    this.deps.schedule(run.key, null);
    await this.status.write(run.key, run.object, status, run.log);
  }

  /** A Canary being deleted (deletion.ts); an invalid spec cannot hold the deletion up. */
  private async delete(run: Run): Promise<void> {
    const deps = { ...this.deps, status: this.status, now: this.now, subject: run.subject };
    const admitted = this.admit(run);
    const spec =
      'issues' in admitted
        ? { issues: formatIssues(run.object, admitted.issues) }
        : { canary: admitted, workload: () => this.workload(run, admitted, false) };
    if (await finalizeDeletion(deps, run.key, run.object, spec, run.log)) this.drop(run.key);
  }

  private drop(key: string): void {
    this.uids.delete(key);
    this.handovers.delete(key);
    this.initialisingLooks.delete(key);
    this.status.forget(key);
    this.effects.forget(key);
  }

  forget(key: string): void {
    this.drop(key);
    this.deps.schedule(key, null);
  }

  /** Writes every status held back (readiness settled, a re-armed tick): before a clean stop. */
  async flush(): Promise<void> {
    await this.status.flush(this.deps.log);
  }

  /** Drop what memory holds (leadership changed hands: status is the truth again). */
  reset(): void {
    this.uids.clear();
    this.handovers.clear();
    this.status.reset();
    this.effects.reset();
  }
}

/**
 * The no-progress clock, kept in status.noProgress so a restart or a new leader goes on
 * counting: effects that kept failing for the progress deadline make the machine hear
 * NO_PROGRESS, and the clock starts again. Returns the clock that goes on (undefined: reset).
 */
function observeNoProgress(clock: NoProgress | undefined, seen: Seen, plan: Plan): NoProgress | undefined {
  if (!clock) return undefined;
  const since = Date.parse(clock.since);
  if (Number.isNaN(since) || seen.now - since < plan.progressDeadlineMs) return clock;
  seen.observations.push({ type: 'NO_PROGRESS', now: seen.now, reason: clock.reason });
  return undefined;
}

/**
 * An effect error that will not go away, which stalls the canary instead of being
 * retried; a transient one starts (or continues) the no-progress clock, which stops when
 * the effects are carried out again.
 */
function permanentOrRetried(
  carried: Carried,
  clock: NoProgress | undefined,
  now: number,
): { permanent: ValidationIssue | undefined; noProgress: NoProgress | undefined } {
  const failure = carried.failure;
  const permanent = carried.issue ?? (failure && permanentIssue(failure.effect.kind, failure.error));
  if (!failure || permanent) return { permanent: permanent || undefined, noProgress: undefined };
  return {
    permanent: undefined,
    noProgress: {
      since: clock?.since ?? new Date(now).toISOString(),
      reason: `could not ${failure.effect.kind}: ${apiErrorMessage(failure.error)}`,
    },
  };
}

/** A command acted on now: Accepted, or the machine's words for why it was ignored. */
function handledCommand(
  seen: HandledCommand | undefined,
  previous: HandledCommand | undefined,
  first: StepResult,
): HandledCommand | undefined {
  return seen && seen !== previous ? { ...seen, result: commandResult(first.issued) } : seen;
}
