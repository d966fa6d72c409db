import type { Canary } from '../api/canary.ts';
import type { JudgeStatus } from '../api/status.ts';
import {
  runAnalysis,
  thresholdRange,
  type AnalysisDeps,
  type AnalysisOutcome,
  type CheckResult,
} from '../analysis/evaluate.ts';
import {
  judge,
  judgeConfig,
  judgeStatusEntry,
  lookAnswer,
  parseJudgeState,
  roundAnswer,
  type JudgeResult,
  type JudgeState,
} from '../analysis/judge.ts';
import type { ControllerMetrics } from './metrics.ts';

// The analysis of one round and the looks between rounds, as the controller runs them: the
// metric checks, the statistical judge (analysis.judge) and the failFast metrics. The
// judge's state lives in memory between looks and in status.judge at each round, so a
// restarted controller goes on from the last round (counts since `since`: a longer step
// between two looks is as valid as a short one).

/** Where the judge's state is kept between looks; per canary, keyed by revision (a new one starts afresh). */
export interface JudgeMemory {
  state(revision: string): JudgeState | undefined;
  keep(revision: string, state: JudgeState, at: number): void;
}

/** The memory of one canary, read back from status.judge after a restart. */
export function judgeMemory(
  held: { judge?: { revision: string; state: JudgeState; at: number } },
  fromStatus: () => JudgeStatus | undefined,
): JudgeMemory {
  return {
    state(revision) {
      if (held.judge?.revision === revision) return held.judge.state;
      const stored = fromStatus();
      return stored?.revision === revision ? parseJudgeState(stored.state) : undefined;
    },
    keep(revision, state, at) {
      // A look and a round may overlap: the later look's counts win.
      if (held.judge?.revision === revision && held.judge.at > at) return;
      held.judge = { revision, state, at };
    },
  };
}

export interface Judging {
  canary: Canary;
  revision: string;
  memory: JudgeMemory;
  analysis: AnalysisDeps;
  metrics: ControllerMetrics;
  labels: { name: string; namespace: string };
  now: () => number;
}

/** What a round's analysis came to, for the machine (ANALYSIS_RESULT) and for status. */
export interface RoundAnalysis {
  outcome: AnalysisOutcome;
  reasons: string[];
  /** A critical judged metric regressed: roll back at once. */
  rollback: string | undefined;
  checks: CheckResult[];
  judge: JudgeStatus | undefined;
}

async function lookJudge(job: Judging, at: number, round: boolean): Promise<JudgeResult | undefined> {
  const config = judgeConfig(job.canary.spec.analysis);
  if (!config) return undefined;
  const result = await judge(config, job.analysis, job.memory.state(job.revision), {
    now: at,
    explain: round,
  });
  job.memory.keep(job.revision, result.state, at);
  recordJudgeMetrics(job, result);
  return result;
}

function judgeStatus(job: Judging, result: JudgeResult, at: number): JudgeStatus {
  return {
    revision: job.revision,
    lookedAt: new Date(at).toISOString(),
    verdicts: result.verdicts.map(judgeStatusEntry),
    state: result.state,
  };
}

/** One round: every metric check and the judge; a failed or unanswered judged metric is a failed check. */
export async function analyseRound(job: Judging): Promise<RoundAnalysis> {
  const at = job.now();
  const [result, judged] = await Promise.all([
    runAnalysis(job.canary.spec.analysis.metrics ?? [], job.analysis),
    lookJudge(job, at, true),
  ]);
  recordCheckMetrics(job, result.checks);
  return {
    ...roundAnswer(result.checks, judged),
    checks: result.checks,
    judge: judged ? judgeStatus(job, judged, at) : undefined,
  };
}

/** What a look between rounds found: a decisive regression, or nothing to act on. */
export interface LookAnalysis {
  rollback: string | undefined;
  checks: CheckResult[];
  judge: JudgeStatus | undefined;
}

/**
 * One look between rounds: the judge and the failFast metrics. Only a decided regression
 * (a critical judged metric) or a failFast check that failed on a value counts; no data or a
 * provider error waits for the next round, where it is a failed check.
 */
export async function analyseLook(job: Judging): Promise<LookAnalysis> {
  const at = job.now();
  const failFast = (job.canary.spec.analysis.metrics ?? []).filter((metric) => metric.failFast);
  const [result, judged] = await Promise.all([
    failFast.length > 0 ? runAnalysis(failFast, job.analysis) : undefined,
    lookJudge(job, at, false),
  ]);
  const checks = result?.checks ?? [];
  recordCheckMetrics(job, checks);
  return {
    rollback: lookAnswer(checks, judged),
    checks,
    judge: judged ? judgeStatus(job, judged, at) : undefined,
  };
}

const OUTCOME_CODE = { pass: 0, undecided: 1, fail: 2, noData: 3, error: 4 } as const;

/** /metrics: each judged metric's arms, effect with its interval and limit, evidence and outcome. */
function recordJudgeMetrics(job: Judging, result: JudgeResult): void {
  const m = job.metrics;
  for (const verdict of result.verdicts) {
    const labels = { ...job.labels, metric: verdict.name };
    m.judgeOutcome.set(labels, OUTCOME_CODE[verdict.outcome]);
    if (verdict.canary) m.judgeValue.set({ ...labels, workload: 'canary' }, verdict.canary.value);
    if (verdict.primary) m.judgeValue.set({ ...labels, workload: 'primary' }, verdict.primary.value);
    if (verdict.evidence) {
      m.judgeBayesFactor.set(labels, verdict.evidence.bayesFactor);
      m.judgeBayesFactorLimit.set(labels, verdict.evidence.threshold);
    }
    const effect = verdict.effect;
    if (effect) {
      for (const bound of ['estimate', 'lower', 'upper', 'limit'] as const) {
        if (Number.isFinite(effect[bound])) m.judgeEffect.set({ ...labels, bound }, effect[bound]);
      }
    }
  }
}

/** /metrics: each check's value and the limits it is held to (Flagger #1147, #1304). */
function recordCheckMetrics(job: Judging, checks: readonly CheckResult[]): void {
  const specs = new Map((job.canary.spec.analysis.metrics ?? []).map((metric) => [metric.name, metric]));
  for (const check of checks) {
    const labels = { ...job.labels, metric: check.name };
    if (typeof check.value === 'number') job.metrics.metricValue.set(labels, check.value);
    const spec = specs.get(check.name);
    const range = spec ? thresholdRange(spec) : undefined;
    if (range?.min !== undefined) job.metrics.metricLimit.set({ ...labels, bound: 'min' }, range.min);
    if (range?.max !== undefined) job.metrics.metricLimit.set({ ...labels, bound: 'max' }, range.max);
  }
}
