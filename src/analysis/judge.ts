import { redact } from '../redact.ts';
import { z } from 'zod';
import { formatDuration } from '../api/duration.ts';
import { builtinProviders, builtinQuerySet } from './builtins.ts';
import {
  analysisOutcome,
  prepareTemplate,
  runPrepared,
  type AnalysisOutcome,
  type AnalysisDeps,
  type CheckResult,
  type PreparedQuery,
} from './evaluate.ts';
import { ARM_MATCHER, JUDGE_QUERY_SETS, type JudgeQuerySet, type NoJudgeQuerySet } from './judge/builtins.ts';
import { metricKey, type JudgeConfig, type JudgedMetricConfig } from './judge/config.ts';
import type { Bucket } from './judge/histogram.ts';
import {
  MetricState,
  judgeMetric,
  type ArmObservation,
  type JudgeVerdict,
  type MetricObservation,
} from './judge/verdict.ts';
import { createProvider as defaultCreateProvider } from './providers/factory.ts';
import { MetricError, formatNumber, type MetricProvider } from './providers/provider.ts';
import { parseSample } from './providers/prometheus.ts';
import { renderTemplate, templateModel } from './template.ts';
import type { CanaryContext } from './types.ts';

// The judge at one look: query both arms of every judged metric (counts since the judge
// started), feed the pure sequential tests, and say what they decided. The controller calls
// `judge()` at every analysis round and, between rounds, every `checkEvery`; `sluice replay`
// and the benchmark call the same function with a replayed clock.

export type { JudgeVerdict } from './judge/verdict.ts';
export { judgeConfig, type JudgeConfig } from './judge/config.ts';

/** Everything the judge keeps between looks (store it in the Canary's status; JSON). */
export const JudgeState = z.object({
  v: z.literal(1),
  /** When the judge started (ms): every count is "since then". */
  since: z.number(),
  /** Per judged metric, by name. */
  metrics: z.record(z.string(), MetricState),
});
export type JudgeState = z.output<typeof JudgeState>;

export type JudgeDeps = Pick<
  AnalysisDeps,
  | 'canary'
  | 'getTemplate'
  | 'getCredentials'
  | 'createProvider'
  | 'queryTimeoutMs'
  | 'signal'
  | 'now'
  | 'logger'
>;

export interface JudgeOptions {
  /** The instant of this look (ms): now for the controller, the replayed instant for replay. */
  now: number;
  /** Query the provider as of `now` (replay); the controller leaves it off. */
  historical?: boolean;
  /** Also decide `pass` (computes every interval; a few milliseconds per distribution). */
  explain?: boolean;
}

export interface JudgeResult {
  /** Pass back at the next look of the same rollout (undefined starts afresh). */
  state: JudgeState;
  verdicts: JudgeVerdict[];
  /** Critical metrics that failed: roll back at once. */
  rollback: JudgeVerdict[];
  /** Non-critical metrics that failed: each is a failed check of this round. */
  failed: JudgeVerdict[];
  /** Metrics with no verdict (no data yet, a query error): a failed check at a round, nothing between rounds. */
  unanswered: JudgeVerdict[];
}

/** The workload whose pods serve each arm. */
function armTarget(canary: CanaryContext, arm: 'canary' | 'primary'): string {
  return arm === 'canary' ? canary.target : `${canary.target}-primary`;
}

interface ArmQueries {
  /** Rate: [events, total]; distribution: [buckets]. */
  prepared: PreparedQuery[];
  /** Multiplier of the histogram's `le` into the shown unit. */
  scale: number;
}

/** Renders the queries of one arm of one metric for a window of `windowMs`. */
/** `secrets` receives the credential values read for the metric, for redacting its errors. */
async function prepareArm(
  metric: JudgedMetricConfig,
  arm: 'canary' | 'primary',
  windowMs: number,
  deps: JudgeDeps,
  secrets: string[],
): Promise<ArmQueries> {
  // Only the workload changes per arm: the names that default to the target stay the canary's.
  const { target } = deps.canary;
  const canary: CanaryContext = {
    ...deps.canary,
    service: deps.canary.service || target,
    ingress: deps.canary.ingress || target,
    route: deps.canary.route || target,
    target: armTarget(deps.canary, arm),
    ...(deps.canary.statefulSet
      ? {
          statefulSet: {
            ...deps.canary.statefulSet,
            arm: arm === 'canary' ? deps.canary.statefulSet.canaryPods : deps.canary.statefulSet.primaryPods,
          },
        }
      : {}),
  };
  const interval = formatDuration(windowMs);
  const source = metric.source;
  if ('builtin' in source) {
    const setName = builtinQuerySet(deps.canary.provider);
    if (!setName) {
      throw new Error(
        `provider "${deps.canary.provider}" has no built-in judged metric ${metric.name}; use one of ${builtinProviders().join(', ')}, or a custom judged metric from MetricTemplates`,
      );
    }
    const set: JudgeQuerySet | NoJudgeQuerySet = JUDGE_QUERY_SETS[setName];
    if ('unavailable' in set) {
      throw new Error(
        `provider "${deps.canary.provider}" has no built-in judged metric ${metric.name}: ${set.unavailable}`,
      );
    }
    const armMatcher = set.arms?.[arm] ?? '';
    const model = templateModel(canary, interval, {});
    const provider = (deps.createProvider ?? defaultCreateProvider)({
      provider: { type: 'prometheus' },
      intervalMs: windowMs,
      defaultAddress: deps.canary.metricsServer,
      now: deps.now,
    });
    const label = `built-in judged ${metric.name} (${deps.canary.provider || 'istio'}, ${arm})`;
    const texts = metric.name === 'errors' ? [set.errors, set.requests] : [set.latencyBuckets];
    return {
      prepared: texts.map((text) => ({
        query: renderTemplate(text.trim().replaceAll(ARM_MATCHER, armMatcher), model, label, 'promql'),
        provider,
        check: { name: metric.name },
      })),
      scale: metric.name === 'errors' ? 1 : set.latencyScale,
    };
  }
  const queries = 'rate' in source ? [source.rate.events, source.rate.total] : [source.distribution];
  const prepared = await Promise.all(
    queries.map((query) =>
      prepareTemplate(
        { name: metric.name, templateRef: query.templateRef, templateVariables: query.templateVariables },
        { ...deps, canary },
        templateModel(canary, interval, query.templateVariables),
        windowMs,
        secrets,
      ),
    ),
  );
  return { prepared, scale: 1 };
}

function count(value: number | number[], query: string, provider: string): number {
  if (Array.isArray(value)) {
    throw new MetricError('multipleSeries', {
      provider,
      query,
      message: `${provider} returned ${value.length} series for a count; aggregate it with sum(): ${query}`,
    });
  }
  return value;
}

async function runBuckets(
  prepared: PreparedQuery,
  deps: JudgeDeps,
  at: number | undefined,
): Promise<Bucket[]> {
  const provider: MetricProvider = prepared.provider;
  const seriesQuery = provider.runSeriesQuery?.bind(provider);
  if (!seriesQuery) {
    throw new MetricError('query', {
      provider: provider.type,
      query: prepared.query,
      message: `${provider.type} provider cannot return histogram buckets with their le label; a judged distribution needs prometheus`,
    });
  }
  const series = await runPrepared(
    prepared,
    { ...deps, ...(at === undefined ? {} : { at }) },
    prepared.check.name,
    (_, text, options) => seriesQuery(text, options),
  );
  return series.map((one) => {
    const le = one.labels.le;
    if (le === undefined) {
      throw new MetricError('query', {
        provider: provider.type,
        query: prepared.query,
        message: `a series without an le label came back; a judged distribution needs sum by (le) (...): ${prepared.query}`,
      });
    }
    return { le: parseSample(le), count: Number.isFinite(one.value) ? one.value : 0 };
  });
}

async function observeArm(
  metric: JudgedMetricConfig,
  queries: ArmQueries,
  deps: JudgeDeps,
  at: number | undefined,
): Promise<ArmObservation> {
  if (metric.kind === 'distribution') return runBuckets(queries.prepared[0]!, deps, at);
  const [events, total] = await Promise.all(
    queries.prepared.map((prepared) =>
      runPrepared(
        prepared,
        { ...deps, ...(at === undefined ? {} : { at }) },
        metric.name,
        (provider, text, options) =>
          provider.runQuery(text, options).then((value) => count(value, text, provider.type)),
      ),
    ),
  );
  return { events: events!, total: total! };
}

function errorVerdict(metric: JudgedMetricConfig, error: unknown, secrets: string[]): JudgeVerdict {
  const raw = error instanceof Error ? error.message : String(error);
  const message = secrets.length > 0 ? redact(raw, secrets) : raw;
  const noData = error instanceof MetricError && (error.kind === 'noData' || error.kind === 'notANumber');
  return {
    name: metric.name,
    kind: metric.kind,
    outcome: noData ? 'noData' : 'error',
    critical: metric.critical,
    direction: metric.direction,
    unit: metric.unit,
    reason: `${metric.name}: ${message}`,
  };
}

/**
 * One look of the judge. Pass the state of the previous look of the same rollout (undefined
 * at the first look: the judge starts counting at `options.now`). Never throws for a metric:
 * a metric that cannot be read gets a `noData` or `error` verdict and keeps its state.
 */
export async function judge(
  config: JudgeConfig,
  deps: JudgeDeps,
  state: JudgeState | undefined,
  options: JudgeOptions,
): Promise<JudgeResult> {
  const since = state?.since ?? options.now;
  // Whole seconds, at least one: PromQL ranges take no fractions.
  const windowMs = Math.max(1000, Math.ceil((options.now - since) / 1000) * 1000);
  const at = options.historical ? options.now : undefined;
  const metrics: Record<string, MetricState> = {};
  const verdicts = await Promise.all(
    config.metrics.map(async (metric): Promise<JudgeVerdict> => {
      const previous = state?.metrics[metric.name];
      if (previous) metrics[metric.name] = previous;
      const secrets: string[] = [];
      try {
        const [canaryQueries, primaryQueries] = await Promise.all([
          prepareArm(metric, 'canary', windowMs, deps, secrets),
          prepareArm(metric, 'primary', windowMs, deps, secrets),
        ]);
        const [canary, primary] = await Promise.all([
          observeArm(metric, canaryQueries, deps, at),
          observeArm(metric, primaryQueries, deps, at),
        ]);
        const observation: MetricObservation = { canary, primary };
        const judged = judgeMetric(
          metric,
          previous,
          observation,
          {
            alpha: config.metricAlpha,
            key: metricKey(metric, config.metricAlpha),
            explain: options.explain ?? false,
          },
          canaryQueries.scale,
        );
        metrics[metric.name] = judged.state;
        return judged.verdict;
      } catch (error) {
        return errorVerdict(metric, error, secrets);
      }
    }),
  );
  return {
    state: { v: 1, since, metrics },
    verdicts,
    rollback: verdicts.filter((v) => v.outcome === 'fail' && v.critical),
    failed: verdicts.filter((v) => v.outcome === 'fail' && !v.critical),
    unanswered: verdicts.filter((v) => v.outcome === 'noData' || v.outcome === 'error'),
  };
}

/**
 * What one look means for the rollout. At an analysis round (`round: true`) every metric
 * without a verdict (no data, an error) and every non-critical regression is a failed check;
 * between rounds only a critical regression counts. `rollback` is set when one was decided.
 */
export function lookOutcome(
  result: JudgeResult,
  round: boolean,
): { rollback: string | undefined; failures: string[] } {
  return {
    rollback: result.rollback.length ? result.rollback.map((v) => v.reason).join('; ') : undefined,
    failures: round ? [...result.failed, ...result.unanswered].map((v) => v.reason) : [],
  };
}

/**
 * What a round comes to for the machine (ANALYSIS_RESULT), from the metric checks
 * (analysisOutcome: failed, no data, inconclusive) and the judge's look: a judged failure or
 * an unanswered judged metric is a failed check; a critical regression an immediate rollback.
 */
export function roundAnswer(
  checks: readonly CheckResult[],
  judged: JudgeResult | undefined,
): { outcome: AnalysisOutcome; reasons: string[]; rollback: string | undefined } {
  const checked = analysisOutcome(checks);
  const judgment = judged ? lookOutcome(judged, true) : { rollback: undefined, failures: [] };
  const rollback = judgment.rollback ? `judge: ${judgment.rollback}` : undefined;
  if (judgment.failures.length === 0 && !rollback) return { ...checked, rollback };
  const decided = checked.outcome === 'inconclusive' ? [] : checked.reasons;
  return { outcome: 'failed', reasons: [...decided, ...judgment.failures], rollback };
}

/**
 * What a look between rounds comes to: a rollback when a critical judged metric regressed or
 * a failFast check failed on a value; no data or an error waits for the next round.
 */
export function lookAnswer(
  failFast: readonly CheckResult[],
  judged: JudgeResult | undefined,
): string | undefined {
  const judgment = judged ? lookOutcome(judged, false) : undefined;
  const reasons = [
    ...(judgment?.rollback ? [`judge: ${judgment.rollback}`] : []),
    ...failFast.filter((c) => !c.passed && c.error === undefined).map((c) => `failFast ${c.reason}`),
  ];
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** Validates a judge state read back from status; undefined (start afresh) when it does not fit. */
export function parseJudgeState(value: unknown): JudgeState | undefined {
  const parsed = JudgeState.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** One line for an Event or a log: what the judge decided and why. */
export function summarizeJudge(result: JudgeResult): string {
  const deciding = [...result.rollback, ...result.failed];
  if (deciding.length) return `judge: ${deciding.map((v) => v.reason).join('; ')}`;
  const open = result.unanswered.map((v) => v.reason);
  const passed = result.verdicts.filter((v) => v.outcome === 'pass' || v.outcome === 'undecided');
  return `judge: ${passed.length} of ${result.verdicts.length} metrics show no regression${open.length ? `; ${open.join('; ')}` : ''}`;
}

/** A verdict in the bounded shape of a status entry (numbers rounded, reason capped). */
export function judgeStatusEntry(verdict: JudgeVerdict): {
  name: string;
  outcome: JudgeVerdict['outcome'];
  canary?: string;
  primary?: string;
  effect?: string;
  bayesFactor?: string;
  reason: string;
} {
  const round = (value: number) => formatNumber(value);
  return {
    name: verdict.name,
    outcome: verdict.outcome,
    ...(verdict.canary ? { canary: round(verdict.canary.value) } : {}),
    ...(verdict.primary ? { primary: round(verdict.primary.value) } : {}),
    ...(verdict.effect
      ? {
          effect: `${round(verdict.effect.estimate)} [${round(verdict.effect.lower)}, ${round(verdict.effect.upper)}]`,
        }
      : {}),
    ...(verdict.evidence ? { bayesFactor: round(verdict.evidence.bayesFactor) } : {}),
    reason: verdict.reason.length > 512 ? `${verdict.reason.slice(0, 511)}…` : verdict.reason,
  };
}
