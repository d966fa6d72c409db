import type { Canary } from '../api/canary.ts';
import { sameRoutes } from '../api/routes.ts';
import type { Release } from '../api/release.ts';
import type { CanaryStatus } from '../api/status.ts';
import type { ValidationIssue } from '../api/validate.ts';
import { apiErrorMessage } from '../kube/client.ts';
import type { JudgeState } from '../analysis/judge.ts';
import type { Logger } from '../log.ts';
import { mergeHappened, type Happened, type PersistedMachine, type StepResult } from '../machine/driver.ts';
import { isMessage } from '../machine/queue.ts';
import type { Effect, Observation } from '../machine/types.ts';
import type { EventSubject } from '../notify/events.ts';
import type { Router } from '../routers/router.ts';
import type { Target } from '../targets/target.ts';
import {
  announcementsMade,
  isAsync,
  runAsyncEffect,
  runSyncEffect,
  type EffectContext,
  type EffectDeps,
} from './effects.ts';
import { judgeMemory } from './judging.ts';

// Carries out what the machine asks for, in order, and feeds each completion back to it
// until it asks for nothing new. Webhooks and analyses run in the background: the runner
// keeps them in flight, one per effect id even across reconciles, and keeps their answers
// until the next reconcile picks them up (or, for analyses, waits for them briefly).

/** A reconcile feeds effect answers back this many times at most before writing status. */
const MAX_ROUNDS = 12;

/** An effect that could not be carried out; the reconcile reports it and is retried. */
export interface EffectFailure {
  effect: Effect;
  error: unknown;
}

/** What the effects of one reconcile came to. */
export interface Carried {
  /** The driver's last result, after every completion was fed back. */
  result: StepResult;
  /** What the machine did over the whole reconcile. */
  happened: Happened;
  failure: EffectFailure | undefined;
  /** What answers added to the status, newest last (status.lastAnalysis). */
  reported: Partial<CanaryStatus>;
  /** An answer that can never change (a gate whose URL is refused): the Canary stalls with it. */
  issue: ValidationIssue | undefined;
  /** The Canary moved to another shard before an effect could start: nothing more was done. */
  handedOver?: true;
}

/** The canary a reconcile works on, as the effects need it. */
export interface EffectWork {
  canary: Canary;
  /** The DORA annotations of the revision under analysis, carried into Events, notifications, webhooks. */
  release?: Release | undefined;
  subject: EventSubject;
  target: Target;
  router: Router;
  trackedConfigs: Record<string, string>;
  generation: number | undefined;
  /** The driver with the current plan: feeds observations to the machine restored from a snapshot. */
  step(persisted: PersistedMachine, observations: Observation[]): StepResult;
  /** Look for hand edits of the routes at most this often (the analysis interval). */
  intervalMs: number;
  /** The canary has a status (its routing was set up by an earlier reconcile). */
  established: boolean;
  /**
   * Whether this replica still holds the Canary (its shard's informer still lists it); no
   * effect starts once it does not (default: always).
   */
  owned?: () => boolean;
  /** status.judge as the reconcile found it: the judge's state after a restart. */
  judge: CanaryStatus['judge'];
  now: number;
  log: Logger;
}

export interface EffectRunnerDeps extends EffectDeps {
  /** Ask for another reconcile of this canary soon (a background answer arrived). */
  requeue(key: string): void;
  /** How long a reconcile waits for the analyses it started before writing status (default 2 s; 0: never). */
  analysisWaitMs?: number;
  now?: () => number;
}

/** Per canary: effects in flight and what they answered. */
interface Running {
  inflight: Set<number>;
  answers: Observation[];
  /** A reconcile is waiting for its analyses: their answers need no requeue. */
  collecting: boolean;
  reported: Partial<CanaryStatus>;
  /** The last answer that can never change, until a reconcile stalls with it. */
  issue: ValidationIssue | undefined;
  routedGeneration: number | undefined;
  lastDriftCheck: number;
  /** The judge's state since its last look (newer than status.judge between rounds). */
  judge?: { revision: string; state: JudgeState; at: number };
}

export class EffectRunner {
  private readonly canaries = new Map<string, Running>();
  private readonly deps: EffectRunnerDeps;
  private readonly now: () => number;
  private readonly analysisWaitMs: number;

  constructor(deps: EffectRunnerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.analysisWaitMs = deps.analysisWaitMs ?? 2000;
  }

  private of(key: string): Running {
    let running = this.canaries.get(key);
    if (!running) {
      running = {
        inflight: new Set(),
        answers: [],
        collecting: false,
        reported: {},
        issue: undefined,
        routedGeneration: undefined,
        lastDriftCheck: 0,
      };
      this.canaries.set(key, running);
    }
    return running;
  }

  /** Answers that arrived since the last reconcile, for the machine; each is handed out once. */
  takeAnswers(key: string): Observation[] {
    return this.of(key).answers.splice(0);
  }

  forget(key: string): void {
    this.canaries.delete(key);
  }

  reset(): void {
    this.canaries.clear();
  }

  /** Carries out `first.effects` and whatever the machine asks for after each completion. */
  async carryOut(key: string, first: StepResult, work: EffectWork): Promise<Carried> {
    const running = this.of(key);
    // A rollout that starts now (a new revision, or `sluice retry` of the same one) is judged
    // afresh: the counts of a rolled-back run are not evidence against the retried one.
    let storedJudge = work.judge;
    const judgeAfresh = (happened: StepResult['happened']) => {
      if (!happened.rolloutStarted) return;
      delete running.judge;
      storedJudge = undefined;
    };
    judgeAfresh(first.happened);
    const carried: Carried = {
      result: first,
      happened: first.happened,
      failure: undefined,
      reported: {},
      issue: undefined,
    };
    const ctx: EffectContext = {
      canary: work.canary,
      subject: work.subject,
      target: work.target,
      router: work.router,
      ensureRouting: async () => {
        if (running.routedGeneration === work.generation) return;
        await work.router.reconcile(work.canary);
        running.routedGeneration = work.generation;
      },
      trackedConfigs: work.trackedConfigs,
      lastAppliedSpec: () => carried.result.status.lastAppliedSpec,
      release: work.release,
      phase: first.status.phase,
      weight: first.status.canaryWeight,
      failedChecks: first.status.failedChecks,
      judge: judgeMemory(running, () => storedJudge),
    };
    const feed = (observations: Observation[]) => {
      carried.result = work.step(carried.result.snapshot, observations);
      carried.happened = mergeHappened(carried.happened, carried.result.happened);
      judgeAfresh(carried.result.happened);
    };
    const started: Promise<void>[] = [];
    let onlyAnalyses = true;
    const startAsync = (effect: Effect) => {
      running.inflight.add(effect.id);
      if (effect.kind !== 'runAnalysis' && effect.kind !== 'runLook') onlyAnalyses = false;
      started.push(
        runAsyncEffect(effect, ctx, this.deps, this.now).then((answer) => {
          running.inflight.delete(effect.id);
          running.answers.push(answer.observation);
          if (answer.status) running.reported = { ...running.reported, ...answer.status };
          if (answer.issue) running.issue = answer.issue;
          // While this reconcile waits for its own analyses it takes the answer itself.
          if (!running.collecting) this.deps.requeue(key);
        }),
      );
    };
    const runAll = async () => {
      for (let round = 0; round < MAX_ROUNDS && !carried.failure && !carried.handedOver; round += 1) {
        ctx.phase = carried.result.status.phase;
        ctx.weight = carried.result.status.canaryWeight;
        ctx.failedChecks = carried.result.status.failedChecks;
        const done: Observation[] = [];
        ctx.effects = carried.result.effects;
        for (const effect of carried.result.effects) {
          if (running.inflight.has(effect.id)) continue;
          if (work.owned && !work.owned()) {
            carried.handedOver = true;
            return;
          }
          // A failed write holds back the writes after it, never a message: a rollback is
          // announced while its route write still fails (the write is retried with backoff).
          if (carried.failure && !isMessage(effect)) continue;
          if (isAsync(effect)) {
            startAsync(effect);
            continue;
          }
          try {
            const observation = await runSyncEffect(effect, ctx, this.deps, this.now);
            if (observation) done.push(observation);
          } catch (error) {
            carried.failure ??= { effect, error };
            work.log.warn(
              { err: error, effect: effect.kind },
              `could not ${effect.kind}: ${apiErrorMessage(error)}`,
            );
          }
        }
        if (done.length === 0) break;
        feed(done);
      }
    };

    await runAll();
    await announcementsMade(ctx);
    // Analyses answer within milliseconds: wait for them here and act on the answer in this
    // reconcile, so one analysis step costs one reconcile and one status write, not two.
    // Webhooks can take long; they always answer through a later reconcile.
    if (carried.handedOver) return carried;
    if (started.length > 0 && onlyAnalyses && !carried.failure && this.analysisWaitMs > 0) {
      await this.collect(running, started);
      // Answers still running requeue on their own; those that came in while waiting are taken here.
      const answers = running.answers.splice(0);
      if (answers.length > 0) {
        feed(answers);
        await runAll();
        await announcementsMade(ctx);
      }
    }
    // The first look comes one interval after this process first carries the canary out: a
    // controller that died between a route write and its status write left the routes ahead
    // of the status (a rollback's 0 %, with the canary scaled down), and setting them "back"
    // would send traffic to a canary that is gone. The machine's next step writes them itself.
    if (running.lastDriftCheck === 0) running.lastDriftCheck = work.now;
    if (
      !carried.failure &&
      !carried.handedOver &&
      work.established &&
      work.now - running.lastDriftCheck >= work.intervalMs &&
      carried.result.status.phase !== 'Initializing'
    ) {
      running.lastDriftCheck = work.now;
      await this.correctDrift(ctx, carried.result, work.log);
    }
    carried.reported = running.reported;
    carried.issue = running.issue;
    running.issue = undefined;
    return carried;
  }

  private async collect(running: Running, started: Promise<void>[]): Promise<void> {
    running.collecting = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(started),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.analysisWaitMs))),
      ]);
    } finally {
      clearTimeout(timer);
      running.collecting = false;
    }
  }

  /** Drift: someone edited the routing object of an idle or progressing canary; set it back. */
  private async correctDrift(ctx: EffectContext, result: StepResult, log: Logger): Promise<void> {
    if (result.effects.some((e) => e.kind === 'setRoutes')) return;
    const wanted = result.routes;
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
}
