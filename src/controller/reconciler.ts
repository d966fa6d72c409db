import { HttpMethod } from '@kubernetes/client-node';
import type { Canary } from '../api/canary.ts';
import { readCommand } from '../api/commands.ts';
import { conditionsForPhase, stalledConditions } from '../api/conditions.ts';
import { sameRoutes } from '../api/routes.ts';
import type { AnalysisResult as StatusAnalysisEntry, Condition, Phase } from '../api/status.ts';
import { parseCanary, formatIssues, type ValidationIssue } from '../api/validate.ts';
import { validateMetricChecks } from '../analysis/validate.ts';
import { apiErrorMessage, isConflict, isNotFound, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { stepAll, type PersistedMachine, type StepResult } from '../machine/driver.ts';
import { PlanError, planFromSpec } from '../machine/plan.ts';
import type { Observation } from '../machine/types.ts';
import type { EventSubject } from '../notify/events.ts';
import { routerFor } from '../routers/factory.ts';
import type { Router } from '../routers/router.ts';
import { PodChecks } from '../targets/pod-checks.ts';
import { targetFor } from '../targets/factory.ts';
import type { Target } from '../targets/target.ts';
import { canWait } from './deferred-status.ts';
import { isAsync, runAsyncEffect, runSyncEffect, type EffectContext, type EffectDeps } from './effects.ts';
import { readThroughWire, type CacheLookup } from './read-cache.ts';
import { deepEqual, mergePatchDiff, withoutNulls } from './merge-patch.ts';

export const FINALIZER = 'sluice.dev/finalizer';
const API_VERSION = 'sluice.dev/v1alpha1';
/** A reconcile feeds effect answers back this many times at most before writing status. */
const MAX_ROUNDS = 12;

/** A Canary as it comes from the informer: plain JSON, not yet validated. */
export interface CanaryObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: Record<string, unknown>;
}

export interface ReconcilerDeps extends EffectDeps {
  /** The Canary as the informer holds it now. */
  getCanary(namespace: string, name: string): CanaryObject | undefined;
  /** Ask for another reconcile of this key soon (an async answer arrived). */
  requeue(key: string): void;
  /** Fire a TICK for this key at `at` (epoch ms), replacing any earlier schedule. */
  schedule(key: string, at: number | null): void;
  defaultProvider?: string;
  now?: () => number;
  /** Called after each reconcile with the canary's tracked objects, for event routing. */
  onTracked?(key: string, tracked: { targetKind: string; target: string; configs: string[] }): void;
  /** The informers' objects: targets, primaries and their configs are read from here when present. */
  cache?: CacheLookup;
  /** How long a reconcile waits for the analyses it started before writing status (default 2 s; 0: never). */
  analysisWaitMs?: number;
}

/** What the controller remembers of each canary between reconciles (while it leads). */
interface Memory {
  uid: string | undefined;
  /** The newest status: the one last written, or one held back (see deferred-status.ts). */
  status: Record<string, unknown> | undefined;
  /** The status as the apiserver has it: last written, or read before the first write. */
  written: Record<string, unknown> | undefined;
  /** `status` is held back: the object to write it on at the next write or at shutdown. */
  unwritten: CanaryObject | undefined;
  resourceVersion: string | undefined;
  /** Async effects running in this process, by effect id. */
  inflight: Set<number>;
  /** A reconcile is waiting for its analyses: their answers need no requeue. */
  collecting: boolean;
  answers: Observation[];
  lastAnalysis: StatusAnalysisEntry[] | undefined;
  routedGeneration: number | undefined;
  lastDriftCheck: number;
  /** For the rollback duration metric: when the canary turned Failed. */
  rollbackStartedAt: number | undefined;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Initialized']);

export const canaryKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** Compares resourceVersions, which are etcd revisions in practice (opaque by contract). */
function newerVersion(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  try {
    return BigInt(a) >= BigInt(b) ? a : b;
  } catch {
    return b;
  }
}

/**
 * The per-canary reconcile: parse and validate the Canary, observe the target (revision,
 * readiness) and commands, feed the machine, carry out its effects in order, and write
 * the status once. Everything is recomputed from the objects; memory only saves reads
 * and keeps async answers until the next reconcile picks them up.
 */
export class CanaryReconciler {
  private readonly memory = new Map<string, Memory>();
  private readonly deps: ReconcilerDeps;
  private readonly now: () => number;
  /** The client targets and routers use: reads through the informer cache where there is one. */
  private readonly cachedKube: Kube;
  private readonly analysisWaitMs: number;
  /** Ready workloads whose pods were found healthy: not listed again while their status stands. */
  private readonly podChecks = new PodChecks();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.analysisWaitMs = deps.analysisWaitMs ?? 2000;
    this.cachedKube = deps.cache
      ? { ...deps.kube, wire: readThroughWire(deps.kube.wire, deps.cache) }
      : deps.kube;
  }

  forget(key: string): void {
    this.memory.delete(key);
    this.deps.schedule(key, null);
  }

  /** Writes every status held back (see deferred-status.ts): before a clean stop. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.memory.values()].map(async (mem) => {
        const object = mem.unwritten;
        if (!object || !mem.status) return;
        const log = this.deps.log.child({ canary: `${object.metadata.name}.${object.metadata.namespace}` });
        await this.writeStatus(object, mem, mem.status, log).catch((error: unknown) =>
          log.warn({ err: error }, `held-back status not written: ${apiErrorMessage(error)}`),
        );
      }),
    );
  }

  /** Drop what memory holds (leadership changed hands: status is the truth again). */
  reset(): void {
    this.memory.clear();
  }

  private remember(key: string, object: CanaryObject): Memory {
    let mem = this.memory.get(key);
    if (!mem || mem.uid !== object.metadata.uid) {
      mem = {
        uid: object.metadata.uid,
        status: object.status,
        written: object.status,
        unwritten: undefined,
        resourceVersion: object.metadata.resourceVersion,
        inflight: new Set(),
        collecting: false,
        answers: [],
        lastAnalysis: undefined,
        routedGeneration: undefined,
        lastDriftCheck: 0,
        rollbackStartedAt: undefined,
      };
      this.memory.set(key, mem);
    }
    return mem;
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const object = this.deps.getCanary(namespace, name);
    if (!object) {
      this.forget(key);
      return;
    }
    const log = this.deps.log.child({ canary: `${name}.${namespace}` });
    const mem = this.remember(key, object);
    const subject: EventSubject = {
      apiVersion: API_VERSION,
      kind: 'Canary',
      name,
      namespace,
      ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
    };

    const parsed = parseCanary(object);
    if (!parsed.ok) return this.stall(key, object, mem, subject, parsed.issues, log);
    const canary = parsed.canary;
    const metricIssues = validateMetricChecks(canary.spec.analysis.metrics ?? []);
    if (metricIssues.length > 0) return this.stall(key, object, mem, subject, metricIssues, log);

    if (object.metadata.deletionTimestamp) return this.finalize(key, object, canary, mem, log);
    if (canary.spec.revertOnDeletion && !object.metadata.finalizers?.includes(FINALIZER)) {
      await this.setFinalizer(object, true);
    }

    let plan;
    try {
      plan = planFromSpec(
        canary.spec,
        this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {},
      );
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      const detail = error.message.startsWith(`${error.field}: `)
        ? error.message.slice(error.field.length + 2)
        : error.message;
      return this.stall(key, object, mem, subject, [{ path: error.field, message: detail }], log);
    }

    const target = targetFor(canary, {
      kube: this.cachedKube,
      now: this.now,
      events: this.deps.events,
      logger: log,
      podChecks: this.podChecks,
    });
    const router = routerFor(
      canary,
      { kube: this.cachedKube, logger: log, events: this.deps.events, targetPods: (c) => target.pods(c) },
      this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {},
    );

    // Observe: the target's revision and readiness, a new command, answers that arrived.
    let revision, readiness;
    try {
      revision = await target.revision(canary);
      readiness = await target.readiness(canary);
    } catch (error) {
      // A missing or unreadable target: say so in status and events, retry with backoff.
      await this.reportProblem(
        object,
        mem,
        subject,
        `cannot read the target: ${apiErrorMessage(error)}`,
        log,
      );
      throw error;
    }
    this.deps.onTracked?.(key, {
      targetKind: canary.spec.targetRef.kind,
      target: canary.spec.targetRef.name,
      configs: Object.keys(revision.configs),
    });
    const now = this.now();
    const observations: Observation[] = [
      { type: 'REVISION', now, revision: revision.revision },
      { type: 'READINESS', now, canary: readiness.canary.state, primary: readiness.primary.state },
    ];
    const previousStatus = mem.status ?? object.status ?? {};
    let lastCommand = previousStatus.lastCommand as { id: string } | undefined;
    const command = readCommand(object.metadata);
    if (command.kind === 'command' && command.request.id !== lastCommand?.id) {
      observations.push({ type: 'MANUAL', now, command: command.request.command });
      lastCommand = {
        id: command.request.id,
        command: command.request.command,
        handledAt: new Date(now).toISOString(),
      } as {
        id: string;
      };
      log.info({ command: command.request.command, id: command.request.id }, 'manual command');
    } else if (command.kind === 'invalid') {
      void this.deps.events.record(subject, 'Warning', 'InvalidCommand', command.message);
    }
    observations.push(...mem.answers.splice(0));
    // The machine ignores a tick before its step is due, so every reconcile may send one.
    observations.push({ type: 'TICK', now });

    const persisted = (mem.status ?? object.status)?.machine as PersistedMachine | undefined;
    let result: StepResult = stepAll(persisted, plan, observations);

    const ctx: EffectContext = {
      canary,
      subject,
      target,
      router,
      ensureRouting: async () => {
        if (mem.routedGeneration === object.metadata.generation) return;
        await router.reconcile(canary);
        mem.routedGeneration = object.metadata.generation;
      },
      trackedConfigs: revision.configs,
      phase: result.status.phase,
      weight: result.status.canaryWeight,
      failedChecks: result.status.failedChecks,
    };

    // Carry out the effects in order; feed completions back until the machine asks for nothing new.
    let effectError: unknown;
    const started: Promise<void>[] = [];
    let onlyAnalyses = true;
    const carryOut = async () => {
      for (let round = 0; round < MAX_ROUNDS; round += 1) {
        ctx.phase = result.status.phase;
        ctx.weight = result.status.canaryWeight;
        ctx.failedChecks = result.status.failedChecks;
        const done: Observation[] = [];
        for (const effect of result.effects) {
          if (mem.inflight.has(effect.id)) continue;
          if (isAsync(effect)) {
            mem.inflight.add(effect.id);
            if (effect.kind !== 'runAnalysis') onlyAnalyses = false;
            started.push(
              runAsyncEffect(effect, ctx, this.deps, this.now).then((answer) => {
                mem.inflight.delete(effect.id);
                mem.answers.push(answer.observation);
                if (answer.analysis) mem.lastAnalysis = answer.analysis;
                // While this reconcile waits for its own analyses it takes the answer itself.
                if (!mem.collecting) this.deps.requeue(key);
              }),
            );
            continue;
          }
          try {
            const observation = await runSyncEffect(effect, ctx, this.deps, this.now);
            if (observation) done.push(observation);
          } catch (error) {
            effectError = error;
            log.warn(
              { err: error, effect: effect.kind },
              `could not ${effect.kind}: ${apiErrorMessage(error)}`,
            );
            break;
          }
        }
        if (done.length === 0) break;
        result = stepAll(result.snapshot, plan, done);
        if (effectError) break;
      }
    };
    await carryOut();
    // Analyses answer within milliseconds: wait for them here and act on the answer in this
    // reconcile, so one analysis step costs one reconcile and one status write, not two.
    // Webhooks can take long; they always answer through a later reconcile.
    if (started.length > 0 && onlyAnalyses && !effectError && this.analysisWaitMs > 0) {
      mem.collecting = true;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all(started),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, this.analysisWaitMs))),
        ]);
      } finally {
        clearTimeout(timer);
        mem.collecting = false;
      }
      const answers = mem.answers.splice(0);
      // Answers still running requeue on their own; those that came in while waiting are taken here.
      if (answers.length > 0) {
        result = stepAll(result.snapshot, plan, answers);
        await carryOut();
      }
    }

    // Drift: someone edited the routing object of an idle or progressing canary.
    if (
      !effectError &&
      object.status &&
      now - mem.lastDriftCheck >= plan.intervalMs &&
      result.status.phase !== 'Initializing'
    ) {
      mem.lastDriftCheck = now;
      await this.correctDrift(ctx, result, log);
    }

    const phase = result.status.phase;
    const { message, ...machineStatus } = result.status;
    const status: Record<string, unknown> = {
      ...(previousStatus as Record<string, unknown>),
      ...machineStatus,
      message: effectError ? `${message} (retrying: ${apiErrorMessage(effectError)})` : message,
      trackedConfigs: revision.configs,
      observedGeneration: object.metadata.generation,
      conditions: conditionsForPhase(previousStatus.conditions as Condition[] | undefined, {
        phase,
        ...(object.metadata.generation !== undefined ? { generation: object.metadata.generation } : {}),
        message: effectError ? `${message}; retrying after error: ${apiErrorMessage(effectError)}` : message,
        now: new Date(now),
      }),
      machine: result.snapshot,
      ...(mem.lastAnalysis ? { lastAnalysis: mem.lastAnalysis } : {}),
      ...(lastCommand ? { lastCommand } : {}),
    };
    // Fields the machine left out are gone from this status (nextStepAt, deadlines, …).
    for (const field of ['nextStepAt', 'deadlines', 'lastAppliedSpec', 'lastPromotedSpec'] as const) {
      if (!(field in machineStatus)) delete status[field];
    }
    this.observeMetrics(canary, namespace, previousStatus, status, now);
    await this.writeStatus(object, mem, status, log, { holdBack: true });
    this.deps.schedule(key, result.wakeAt);
    if (effectError) throw effectError;
  }

  private async correctDrift(ctx: EffectContext, result: StepResult, log: Logger): Promise<void> {
    if (result.effects.some((e) => e.kind === 'setRoutes')) return;
    const wanted = result.snapshot.context.routes;
    try {
      const actual = await ctx.router.getRoutes(ctx.canary);
      if (sameRoutes(actual, wanted)) return;
      log.warn({ actual, wanted }, 'routing drifted from what Sluice set; correcting it');
      void this.deps.events.record(
        ctx.subject,
        'Warning',
        'RoutesDrifted',
        `routes were ${actual.primaryWeight}/${actual.canaryWeight}; set back to ${wanted.primaryWeight}/${wanted.canaryWeight}`,
      );
    } catch (error) {
      log.warn({ err: error }, 'routing object missing or unreadable; recreating it');
      await ctx.router.reconcile(ctx.canary);
    }
    await ctx.router.setRoutes(ctx.canary, {
      ...wanted,
      ...(ctx.canary.spec.analysis.mirrorWeight !== undefined
        ? { mirrorWeight: ctx.canary.spec.analysis.mirrorWeight }
        : {}),
    });
  }

  private observeMetrics(
    canary: Canary,
    namespace: string,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
    now: number,
  ): void {
    const m = this.deps.metrics;
    const labels = { name: canary.metadata.name, namespace };
    const phase = String(after.phase);
    const previous = before.phase as string | undefined;
    const weight = Number(after.canaryWeight ?? 0);
    m.weight.set({ ...labels, workload: 'canary' }, weight);
    m.weight.set({ ...labels, workload: 'primary' }, 100 - weight);
    m.failedChecks.set(labels, Number(after.failedChecks ?? 0));
    m.status.set(
      labels,
      phase === 'Succeeded' ? 1 : phase === 'Failed' ? 2 : TERMINAL.has(phase) || phase === 'Waiting' ? 3 : 0,
    );
    if (phase !== previous) {
      if (previous) m.phase.set({ ...labels, phase: previous }, 0);
      m.phase.set({ ...labels, phase }, 1);
    }
    const strategy =
      canary.spec.analysis.match?.length && canary.spec.analysis.iterations
        ? 'abTesting'
        : canary.spec.analysis.iterations
          ? 'blueGreen'
          : 'canary';
    const byStrategy = { namespace, strategy };
    const rolloutOf = (status: Record<string, unknown>) => status.lastAppliedSpec as string | undefined;
    // A rollout starts when a revision other than the last promoted one begins analysis;
    // the first revision, while Initializing, is the bootstrap (nothing promoted yet), not one.
    if (
      phase !== 'Initializing' &&
      rolloutOf(after) &&
      rolloutOf(after) !== rolloutOf(before) &&
      after.lastAppliedSpec !== after.lastPromotedSpec
    ) {
      m.rolloutsStarted.inc(byStrategy);
      after.revisionDetectedAt = new Date(now).toISOString();
    }
    if (phase === previous) return;
    if (phase === 'Succeeded' && previous !== 'Initialized') {
      m.promotions.inc(byStrategy);
      const detected = Date.parse(String(after.revisionDetectedAt ?? ''));
      if (Number.isFinite(detected)) m.leadTime.observe(byStrategy, (now - detected) / 1000);
    }
    if (phase === 'Failed') {
      m.rollbacks.inc(byStrategy);
      const routes = (after.machine as PersistedMachine | undefined)?.context.routes;
      const pending = (after.machine as PersistedMachine | undefined)?.context.pending ?? [];
      // Traffic is back on the primary within this reconcile unless the route change is still pending.
      if (routes && routes.canaryWeight === 0 && !pending.some((e) => e.kind === 'setRoutes')) {
        const decided = Date.parse(String(after.lastTransitionTime ?? ''));
        if (Number.isFinite(decided))
          m.rollbackDuration.observe(byStrategy, Math.max(0, now - decided) / 1000);
      }
    }
  }

  /**
   * One merge patch of the status subresource, guarded by resourceVersion. With
   * `holdBack`, a change that can wait (deferred-status.ts) waits for the next write.
   */
  private async writeStatus(
    object: CanaryObject,
    mem: Memory,
    status: Record<string, unknown>,
    log: Logger,
    options: { holdBack?: boolean } = {},
  ): Promise<void> {
    const before = mem.written ?? object.status ?? {};
    const diff = mergePatchDiff(before, status);
    if (diff === undefined || (options.holdBack && canWait(diff))) {
      mem.status = status;
      mem.unwritten = diff === undefined ? undefined : object;
      if (diff !== undefined)
        log.debug('only readiness or the next tick moved; written with the next status change');
      return;
    }
    const ref = {
      apiVersion: API_VERSION,
      kind: 'Canary',
      metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
    };
    let resourceVersion = newerVersion(mem.resourceVersion, object.metadata.resourceVersion);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const written = await this.deps.kube.wire.mergePatchObject<CanaryObject>(
          ref,
          { metadata: { resourceVersion }, status: diff },
          { subresource: 'status', fieldManager: 'sluice' },
        );
        this.deps.metrics.apiWrites.inc({ write: 'status' });
        mem.status = status;
        mem.written = status;
        mem.unwritten = undefined;
        mem.resourceVersion = written.metadata.resourceVersion;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
        // Someone else changed the Canary. If its status is still ours (a spec or metadata
        // change), write again on the new version; otherwise start over from what is stored.
        const fresh = await this.deps.kube.wire.getObject<CanaryObject>(ref);
        if (deepEqual(withoutNulls(fresh.status?.machine), withoutNulls(before.machine))) {
          resourceVersion = fresh.metadata.resourceVersion;
          log.debug({ attempt }, 'status write conflicted with a spec change; retrying');
          continue;
        }
        mem.status = fresh.status;
        mem.written = fresh.status;
        mem.unwritten = undefined;
        mem.resourceVersion = fresh.metadata.resourceVersion;
        throw new Error(
          `status of Canary ${object.metadata.namespace}/${object.metadata.name} was changed by someone else; reconciling again`,
          {
            cause: error,
          },
        );
      }
    }
    throw new Error(
      `status of Canary ${object.metadata.namespace}/${object.metadata.name}: conflicts on every attempt`,
    );
  }

  /** A problem that may go away (a target not created yet): Ready=False with the reason, a Warning Event. */
  private async reportProblem(
    object: CanaryObject,
    mem: Memory,
    subject: EventSubject,
    message: string,
    log: Logger,
  ): Promise<void> {
    log.warn(message);
    void this.deps.events.record(subject, 'Warning', 'ReconcileError', message);
    const previous = mem.status ?? object.status ?? {};
    const phase = (previous.phase as Phase | undefined) ?? 'Initializing';
    const status = {
      ...previous,
      phase,
      message,
      observedGeneration: object.metadata.generation,
      conditions: conditionsForPhase(previous.conditions as Condition[] | undefined, {
        phase,
        ...(object.metadata.generation !== undefined ? { generation: object.metadata.generation } : {}),
        message,
        now: new Date(this.now()),
      }),
    };
    await this.writeStatus(object, mem, status, log);
  }

  /** Invalid spec: Stalled=True naming the field, a Warning Event, and nothing else is touched. */
  private async stall(
    key: string,
    object: CanaryObject,
    mem: Memory,
    subject: EventSubject,
    issues: readonly ValidationIssue[],
    log: Logger,
  ): Promise<void> {
    const message = formatIssues(object, issues);
    log.warn({ issues }, message);
    void this.deps.events.record(subject, 'Warning', 'InvalidSpec', message);
    const previous = mem.status ?? object.status ?? {};
    const status = {
      ...previous,
      observedGeneration: object.metadata.generation,
      message,
      conditions: stalledConditions(previous.conditions as Condition[] | undefined, {
        issues,
        ...(object.metadata.generation !== undefined ? { generation: object.metadata.generation } : {}),
        now: new Date(this.now()),
      }),
    };
    this.deps.schedule(key, null);
    await this.writeStatus(object, mem, status, log);
  }

  private async setFinalizer(object: CanaryObject, present: boolean): Promise<void> {
    // A merge patch guarded by resourceVersion: it cannot recreate a Canary that is already
    // gone (a server-side apply would), and a concurrent change of the list makes it retry.
    const current = object.metadata.finalizers ?? [];
    const finalizers = present
      ? [...new Set([...current, FINALIZER])]
      : current.filter((finalizer) => finalizer !== FINALIZER);
    if (finalizers.length === current.length && finalizers.every((f, i) => f === current[i])) return;
    try {
      await this.deps.kube.wire.mergePatchObject(
        {
          apiVersion: API_VERSION,
          kind: 'Canary',
          metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
        },
        { metadata: { finalizers, resourceVersion: object.metadata.resourceVersion } },
        { fieldManager: 'sluice' },
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    this.deps.metrics.apiWrites.inc({ write: 'finalizer' });
  }

  /** revertOnDeletion: routes back to the target, target scaled up, Sluice's objects removed. */
  private async finalize(
    key: string,
    object: CanaryObject,
    canary: Canary,
    mem: Memory,
    log: Logger,
  ): Promise<void> {
    this.deps.schedule(key, null);
    if (!object.metadata.finalizers?.includes(FINALIZER)) return;
    if (!canary.spec.revertOnDeletion) {
      await this.setFinalizer(object, false);
      return;
    }
    const target: Target = targetFor(canary, {
      kube: this.cachedKube,
      now: this.now,
      events: this.deps.events,
      logger: log,
    });
    const router: Router = routerFor(
      canary,
      { kube: this.cachedKube, logger: log, events: this.deps.events, targetPods: (c) => target.pods(c) },
      this.deps.defaultProvider ? { defaultProvider: this.deps.defaultProvider } : {},
    );
    const status = {
      ...(mem.status ?? object.status ?? {}),
      phase: 'Terminating',
      message: 'restoring the target before deletion',
    };
    await this.writeStatus(object, mem, status, log).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    const ready = await target.restore(canary);
    if (ready.state !== 'ready') {
      log.info({ reason: ready.message }, 'waiting for the target to be ready before removing the primary');
      this.deps.schedule(key, this.now() + 2000);
      return;
    }
    await router.finalize(canary);
    await target.removePrimary(canary);
    log.info('target restored; primary and routing removed');
    await this.setFinalizer(object, false);
    this.memory.delete(key);
  }
}

/** Reads a Canary straight from the apiserver (the CLI and tests use it). */
export async function readCanary(kube: Kube, namespace: string, name: string): Promise<CanaryObject> {
  return kube.wire.request<CanaryObject>(
    HttpMethod.GET,
    `/apis/sluice.dev/v1alpha1/namespaces/${namespace}/canaries/${name}`,
  );
}
