import type { HookType } from '../../src/api/canary.ts';
import {
  step,
  type Happened,
  type PersistedMachine,
  type StepOptions,
  type StepResult,
} from '../../src/machine/driver.ts';
import type { Plan } from '../../src/machine/plan.ts';
import type { AnalysisOutcome, Effect, Observation, Phase, Readiness } from '../../src/machine/types.ts';

// A simulated controller: it keeps the snapshot the way status.machine would, carries out
// effects instantly and answers requests from a scripted "world". Tests drive it with
// simulated time; it is also the reference for the real controller's loop.

export type { AnalysisOutcome };

export interface SimWorld {
  canary: Readiness;
  primary: Readiness;
  /** Outcomes of successive runAnalysis requests; the last one repeats. */
  analysis: AnalysisOutcome[];
  /** Answers per webhook type: true = 2xx. Default: every hook passes, rollback hooks do not fire. */
  hooks: Partial<Record<HookType, boolean>>;
  /** Webhook types whose hooks have muteAlert: their failures answer with muteAlert. */
  mutedHooks?: readonly HookType[];
  /** Confirm setRoutes/scale/promote/messages at once (false: leave them pending, as after a crash). */
  confirmEffects: boolean;
  /** Effects of these kinds stay pending even when confirmEffects is true (a write that keeps failing). */
  holdEffects?: readonly Effect['kind'][];
  /** Answers of successive looks between rounds: a rollback reason, or null for nothing decisive; the last repeats. */
  looks: (string | null)[];
  /** A failed analysis also asks for an immediate rollback (a critical judged metric), saying this. */
  analysisRollback?: string;
}

export interface SimEntry {
  observation: Observation;
  plan: Plan;
  phase: Phase;
  canaryWeight: number;
  issued: Effect[];
  happened: Happened;
}

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type SimObservation = Without<Observation, 'now'>;

export class Simulation {
  snapshot: PersistedMachine | undefined;
  now: number;
  plan: Plan;
  world: SimWorld;
  readonly log: SimEntry[] = [];
  last: StepResult | undefined;
  readonly #options: StepOptions;
  readonly #answered = new Set<number>();
  #analysisCount = 0;
  #lookCount = 0;

  constructor(plan: Plan, options: { now?: number; world?: Partial<SimWorld>; step?: StepOptions } = {}) {
    this.plan = plan;
    this.now = options.now ?? Date.UTC(2025, 0, 1);
    this.world = {
      canary: 'ready',
      primary: 'ready',
      analysis: ['passed'],
      hooks: {},
      confirmEffects: true,
      looks: [null],
      ...options.world,
    };
    this.#options = options.step ?? {};
  }

  /** Sends one observation at the current time; does not answer anything. */
  send(observation: SimObservation): StepResult {
    const full = { ...observation, now: this.now } as Observation;
    const result = step(this.snapshot, this.plan, full, this.#options);
    this.snapshot = result.snapshot;
    this.last = result;
    this.log.push({
      observation: full,
      plan: this.plan,
      phase: result.status.phase,
      canaryWeight: result.status.canaryWeight,
      issued: result.issued,
      happened: result.happened,
    });
    return result;
  }

  /** Carries out / answers pending effects until nothing is left to answer. */
  settle(): void {
    for (let guard = 0; guard < 500; guard++) {
      const next = this.last?.effects.find(
        (effect) => !this.#answered.has(effect.id) && this.#answers(effect),
      );
      if (!next) return;
      this.#answered.add(next.id);
      this.send(this.#answerFor(next));
    }
    throw new Error('simulation: effects did not settle after 500 answers');
  }

  #answers(effect: Effect): boolean {
    if (effect.kind === 'runAnalysis' || effect.kind === 'runWebhooks' || effect.kind === 'runLook')
      return true;
    return this.world.confirmEffects && !this.world.holdEffects?.includes(effect.kind);
  }

  #answerFor(effect: Effect): SimObservation {
    if (effect.kind === 'runAnalysis') {
      const outcomes = this.world.analysis;
      const outcome = outcomes[Math.min(this.#analysisCount, outcomes.length - 1)] ?? 'passed';
      this.#analysisCount += 1;
      return {
        type: 'ANALYSIS_RESULT',
        effectId: effect.id,
        outcome,
        ...(outcome === 'passed' ? {} : { reasons: [`request-success-rate ${outcome}`] }),
        ...(outcome === 'failed' && this.world.analysisRollback
          ? { rollback: this.world.analysisRollback }
          : {}),
      };
    }
    if (effect.kind === 'runLook') {
      const looks = this.world.looks;
      const rollback = looks[Math.min(this.#lookCount, looks.length - 1)] ?? null;
      this.#lookCount += 1;
      return { type: 'LOOK_RESULT', effectId: effect.id, ...(rollback ? { rollback } : {}) };
    }
    if (effect.kind === 'runWebhooks') {
      const passed = this.world.hooks[effect.type] ?? effect.type !== 'rollback';
      return {
        type: 'WEBHOOK_RESULT',
        effectId: effect.id,
        passed,
        name: `${effect.type}-hook`,
        message: passed ? '200 OK' : '503',
        ...(!passed && this.world.mutedHooks?.includes(effect.type) ? { muteAlert: true } : {}),
      };
    }
    return { type: 'EFFECT_DONE', effectId: effect.id };
  }

  /** Sends an observation and settles. */
  observe(observation: SimObservation): StepResult {
    this.send(observation);
    this.settle();
    return this.last!;
  }

  /** Lets `ms` pass (default: one interval), reports readiness, ticks, settles. */
  tick(ms: number = this.plan.intervalMs): StepResult {
    this.now += ms;
    this.send({ type: 'READINESS', canary: this.world.canary, primary: this.world.primary });
    this.settle();
    this.send({ type: 'TICK' });
    this.settle();
    return this.last!;
  }

  /** Ticks until the phase is one of `phases` (or `max` ticks pass). */
  tickUntil(phases: readonly Phase[], max = 50): StepResult {
    for (let i = 0; i < max && !phases.includes(this.phase); i++) this.tick();
    return this.last!;
  }

  /** Initializes the Canary with a first revision and a ready primary. */
  initialize(revision = 'rev-1'): StepResult {
    this.observe({ type: 'REVISION', revision });
    return this.observe({ type: 'READINESS', primary: this.world.primary, canary: this.world.canary });
  }

  get phase(): Phase {
    return this.last?.status.phase ?? 'Initializing';
  }

  /** Consecutive distinct phases seen so far. */
  phases(): Phase[] {
    return this.log.map((entry) => entry.phase).filter((phase, i, all) => i === 0 || phase !== all[i - 1]);
  }

  /** Every effect issued so far, in order. */
  issued(): Effect[] {
    return this.log.flatMap((entry) => entry.issued);
  }

  /** Canary weights of every setRoutes issued ("m" for mirror, "ab" for match routes). */
  routes(): string[] {
    return this.issued().flatMap((effect) =>
      effect.kind === 'setRoutes'
        ? [`${effect.canaryWeight}${effect.mirror ? 'm' : ''}${effect.match ? 'ab' : ''}`]
        : [],
    );
  }

  /** What the driver said happened, over every call so far: rollouts started, ends, restores. */
  dora(): { started: number; promoted: number; rolledBack: number; restoredAfterMs: number[] } {
    const all = this.log.map((entry) => entry.happened);
    return {
      started: all.filter((h) => h.rolloutStarted).length,
      promoted: all.filter((h) => h.ended === 'promoted').length,
      rolledBack: all.filter((h) => h.ended === 'rolledBack').length,
      restoredAfterMs: all.flatMap((h) => (h.restoredAfterMs === null ? [] : [h.restoredAfterMs])),
    };
  }

  /** Messages of notifications (Slack and the like), in order. */
  notifications(): string[] {
    return this.issued().flatMap((effect) => (effect.kind === 'notify' ? [effect.message] : []));
  }

  /** Messages of recorded Events, in order. */
  events(): string[] {
    return this.issued().flatMap((effect) => (effect.kind === 'recordEvent' ? [effect.message] : []));
  }

  /** Webhook types requested, in order. */
  hooks(): HookType[] {
    return this.issued().flatMap((effect) => (effect.kind === 'runWebhooks' ? [effect.type] : []));
  }
}
