import type { Canary } from '../api/canary.ts';
import { analysisOutcome, runAnalysis, type AnalysisResult, type CheckResult } from '../analysis/evaluate.ts';
import {
  judge,
  lookOutcome,
  judgeConfig,
  type JudgeConfig,
  type JudgeResult,
  type JudgeVerdict,
} from '../analysis/judge.ts';
import {
  createProvider as defaultCreateProvider,
  type ProviderRequest,
} from '../analysis/providers/factory.ts';
import type { MetricProvider } from '../analysis/providers/provider.ts';
import { canaryContext, type MetricTemplate } from '../analysis/types.ts';
import {
  planFromSpec,
  stepAll,
  type Effect,
  type Observation,
  type Phase,
  type Plan,
  type StepResult,
} from '../machine/index.ts';

// `sluice replay`: the Canary's analysis run against history, exactly as the controller
// runs it, with a replayed clock. The pure machine decides through its public driver; every
// query is evaluated at the replayed instant; thresholds, templates and the judge all take
// part. Side effects are not carried out: routes, scaling and promotion are confirmed at
// once, webhooks are not called (gates are taken as open, rollback hooks as silent).
//
// Until the machine has fast-fail rounds of its own, a decisive verdict between steps (a
// critical judged metric, a failFast metric) is given to the machine as what it will be,
// an immediate rollback: the `abort` command. The benchmark runs this same engine.

export interface ReplayInput {
  canary: Canary;
  /** MetricTemplates the Canary's metrics and judged metrics refer to. */
  templates: readonly MetricTemplate[];
  /** Start of the rollout (ms): the new revision appears then. */
  from: number;
  /** Give up at (ms): no decision by then is `undecided`. */
  to: number;
  /** Overrides every Prometheus address (the Canary's metricsServer and the templates'). */
  prometheus?: string;
  /** Builds providers; the benchmark hands in one that replays generated series. */
  createProvider?: (request: ProviderRequest) => MetricProvider;
  /** Per-query timeout (ms). */
  queryTimeoutMs?: number;
  /** Also decide `pass` for judged metrics at rounds (costs a little; replay shows it). */
  explain?: boolean;
}

export type ReplayResult = 'promote' | 'rollback' | 'undecided';

/** One moment of the replay that a person wants to see. */
export interface ReplayStep {
  at: number;
  /** A regular analysis round, or a fast-fail look between rounds. */
  kind: 'round' | 'look';
  phase: Phase;
  canaryWeight: number;
  checks: CheckResult[];
  verdicts: JudgeVerdict[];
  /** What the machine said or did (Events, in order). */
  events: string[];
}

export interface ReplayOutcome {
  result: ReplayResult;
  /** When the decision was taken (ms), or `to` when undecided. */
  at: number;
  reason: string;
  steps: ReplayStep[];
  /** Time from the start to the decision (ms). */
  elapsedMs: number;
}

const REVISION_BEFORE = 'replay-before';
const REVISION = 'replay-new';

interface Loop {
  snapshot: StepResult['snapshot'] | undefined;
  last: StepResult | undefined;
  answered: Set<number>;
  now: number;
  plan: Plan;
  events: string[];
}

function send(loop: Loop, ...observations: Observation[]): StepResult {
  // One restore and persist per batch, as one reconcile of the controller does.
  const result = stepAll(loop.snapshot, loop.plan, observations);
  loop.snapshot = result.snapshot;
  loop.last = result;
  for (const effect of result.issued) {
    if (effect.kind === 'recordEvent') loop.events.push(effect.message);
  }
  return result;
}

/** The answer the replay gives an effect that needs no query. */
function confirm(effect: Effect, now: number): Observation {
  if (effect.kind === 'runWebhooks') {
    return {
      type: 'WEBHOOK_RESULT',
      now,
      effectId: effect.id,
      passed: effect.type !== 'rollback',
      name: `${effect.type} (not called in replay)`,
    };
  }
  return { type: 'EFFECT_DONE', now, effectId: effect.id };
}

/** Runs a Canary's analysis over [from, to] of recorded metrics. */
export async function replay(input: ReplayInput): Promise<ReplayOutcome> {
  const { canary } = input;
  const analysis = canary.spec.analysis;
  const judgeSettings: JudgeConfig | undefined = judgeConfig(analysis);
  const basePlan = planFromSpec(canary.spec);
  // A judge alone is still an analysis to run at every round.
  const plan: Plan = judgeSettings ? { ...basePlan, hasMetrics: true } : basePlan;
  const metrics = analysis.metrics ?? [];
  const failFast = metrics.filter((metric) => metric.failFast);
  const lookEveryMs =
    judgeSettings?.checkEveryMs ?? (failFast.length ? checkEveryOf(analysis.checkEvery) : 0);

  const context = canaryContext(canary);
  if (input.prometheus) context.metricsServer = input.prometheus;
  const create = input.createProvider ?? defaultCreateProvider;
  const createProvider = (request: ProviderRequest): MetricProvider =>
    create(
      input.prometheus && (request.provider.type ?? 'prometheus') === 'prometheus'
        ? { ...request, provider: { ...request.provider, address: input.prometheus } }
        : request,
    );
  const templates = new Map(
    input.templates.map((t) => [`${t.metadata.namespace ?? context.namespace}/${t.metadata.name}`, t]),
  );
  const analysisDeps = (at: number) => ({
    canary: context,
    getTemplate: async (ref: { name: string; namespace: string }) =>
      templates.get(`${ref.namespace}/${ref.name}`),
    createProvider,
    now: () => at,
    at,
    ...(input.queryTimeoutMs ? { queryTimeoutMs: input.queryTimeoutMs } : {}),
  });

  const loop: Loop = {
    snapshot: undefined,
    last: undefined,
    answered: new Set(),
    now: input.from,
    plan,
    events: [],
  };
  const steps: ReplayStep[] = [];
  let judgeState: JudgeResult['state'] | undefined;
  let decisive: string | undefined;
  let aborted = false;
  /** Per step, how many Events the machine had recorded when it was pushed. */
  const eventMarks: number[] = [];
  const abort = (at: number) => {
    if (aborted) return;
    aborted = true;
    send(loop, { type: 'MANUAL', now: at, command: 'abort' });
  };

  const lookJudge = async (at: number, explain: boolean): Promise<JudgeResult | undefined> => {
    if (!judgeSettings) return undefined;
    const result = await judge(judgeSettings, analysisDeps(at), judgeState, {
      now: at,
      historical: true,
      explain,
    });
    judgeState = result.state;
    return result;
  };

  const answerAnalysis = async (
    effect: Effect & { kind: 'runAnalysis' },
    at: number,
  ): Promise<Observation> => {
    const result: AnalysisResult = await runAnalysis(metrics, analysisDeps(at));
    const judged = await lookJudge(at, input.explain ?? true);
    const checked = analysisOutcome(result.checks);
    const judgment = judged ? lookOutcome(judged, true) : { rollback: undefined, failures: [] };
    const reasons = [...checked.reasons, ...judgment.failures];
    steps.push({
      at,
      kind: 'round',
      phase: loop.last!.status.phase,
      canaryWeight: loop.last!.status.canaryWeight,
      checks: result.checks,
      verdicts: judged?.verdicts ?? [],
      events: [],
    });
    eventMarks.push(loop.events.length);
    if (judgment.rollback) decisive = `judge: ${judgment.rollback}`;
    return {
      type: 'ANALYSIS_RESULT',
      now: at,
      effectId: effect.id,
      // The judge's failures outweigh what the checks alone came to.
      outcome: judgment.failures.length > 0 ? 'failed' : checked.outcome,
      ...(reasons.length ? { reasons } : {}),
    };
  };

  /** Answers every pending effect until the machine asks for nothing new. */
  const settle = async (at: number) => {
    for (let guard = 0; guard < 100; guard++) {
      const open = loop.last?.effects.filter((effect) => !loop.answered.has(effect.id)) ?? [];
      if (open.length === 0) break;
      const answers: Observation[] = [];
      for (const effect of open) {
        loop.answered.add(effect.id);
        answers.push(effect.kind === 'runAnalysis' ? await answerAnalysis(effect, at) : confirm(effect, at));
      }
      send(loop, ...answers);
      if (decisive) {
        abort(at);
        return;
      }
    }
  };

  // Before the window: the Canary is initialized with the previous revision promoted.
  const at0 = input.from;
  send(loop, { type: 'REVISION', now: at0, revision: REVISION_BEFORE });
  await settle(at0);
  send(loop, { type: 'READINESS', now: at0, canary: 'ready', primary: 'ready' });
  await settle(at0);
  // The rollout starts: a new revision.
  send(loop, { type: 'REVISION', now: at0, revision: REVISION });
  await settle(at0);
  await lookJudge(at0, false);

  let now = at0;
  let nextLook = lookEveryMs > 0 ? at0 + lookEveryMs : Number.POSITIVE_INFINITY;
  const finished = () => ['Succeeded', 'Failed'].includes(loop.last!.status.phase) || decisive !== undefined;
  while (!finished()) {
    const wake = loop.last!.wakeAt ?? Number.POSITIVE_INFINITY;
    const next = Math.min(wake, nextLook);
    if (next > input.to) break;
    now = next;
    if (next === nextLook) {
      nextLook += lookEveryMs;
      const phase = loop.last!.status.phase;
      if (next < wake && (phase === 'Progressing' || phase === 'WaitingPromotion')) {
        const reason = await fastFailLook(now);
        if (reason) {
          decisive = reason;
          abort(now);
          break;
        }
        continue;
      }
      if (next < wake) continue;
    }
    send(loop, { type: 'READINESS', now, canary: 'ready', primary: 'ready' }, { type: 'TICK', now });
    await settle(now);
  }

  async function fastFailLook(at: number): Promise<string | undefined> {
    const judged = await lookJudge(at, false);
    const checks = failFast.length ? (await runAnalysis(failFast, analysisDeps(at))).checks : [];
    const failing = checks.filter((check) => !check.passed && check.error === undefined);
    const judgment = judged ? lookOutcome(judged, false) : undefined;
    const reasons = [
      ...(judgment?.rollback ? [`judge: ${judgment.rollback}`] : []),
      ...failing.map((c) => `fail-fast ${c.reason}`),
    ];
    if (reasons.length) {
      steps.push({
        at,
        kind: 'look',
        phase: loop.last!.status.phase,
        canaryWeight: loop.last!.status.canaryWeight,
        checks,
        verdicts: judged?.verdicts ?? [],
        events: [],
      });
      eventMarks.push(loop.events.length);
      return reasons.join('; ');
    }
    return undefined;
  }

  const phase = loop.last!.status.phase;
  // Each step gets the Events the machine recorded from its round until the next step's.
  steps.forEach((step, i) => {
    step.events = loop.events.slice(eventMarks[i], eventMarks[i + 1] ?? loop.events.length);
  });
  const result: ReplayResult =
    phase === 'Succeeded' ? 'promote' : phase === 'Failed' || decisive ? 'rollback' : 'undecided';
  const reason =
    result === 'undecided'
      ? `no decision by the end of the window (phase ${phase}, canary at ${loop.last!.status.canaryWeight} %)`
      : (decisive ?? loop.last!.status.message);
  return { result, at: now, reason, steps, elapsedMs: now - input.from };
}

function checkEveryOf(text: string | undefined): number {
  const judgeDefaults = judgeConfig({ checkEvery: text, judge: { builtins: ['errors'] } });
  return judgeDefaults?.checkEveryMs ?? 5000;
}
