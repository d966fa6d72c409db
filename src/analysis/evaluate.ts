import { durationMs } from '../api/duration.ts';
import { silentLogger, type Logger } from '../log.ts';
import { basicAuthForm, redact } from '../redact.ts';
import { batchPlace, type QueryBatcher } from './batch.ts';
import { builtinQuery, isBuiltinMetric } from './builtins.ts';
import { CelConditionError, evaluateCondition } from './cel.ts';
import { createProvider as defaultCreateProvider, type ProviderRequest } from './providers/factory.ts';
import {
  DEFAULT_QUERY_TIMEOUT_MS,
  MetricError,
  formatNumber,
  querySignal,
  type MetricErrorKind,
  type MetricProvider,
  type MetricValue,
  type ProviderCredentials,
  type QueryOptions,
} from './providers/provider.ts';
import {
  DEFAULT_METRIC_INTERVAL,
  TemplateRenderError,
  renderTemplate,
  templateModel,
  type TemplateDialect,
  type TemplateModel,
} from './template.ts';
import type {
  CanaryContext,
  MetricCheck,
  MetricTemplate,
  MetricTemplateProvider,
  WebQuery,
} from './types.ts';

// One analysis step: every metric check of the Canary runs concurrently, each with its own
// timeout, and each gives a CheckResult with the reason a person reads in status and in
// the Event. No data, NaN, ±Inf or any error is a failed check — never a pass. A check
// with both a success and a failure condition where neither holds is inconclusive (as in
// Argo Rollouts): neither a pass nor a failure; the machine holds the step.

export type CheckErrorKind = MetricErrorKind | 'template' | 'condition' | 'config';

export interface CheckResult {
  name: string;
  passed: boolean;
  dryRun: boolean;
  /** The number (or one per series) the provider returned. */
  value?: MetricValue;
  /** Why it passed or failed, starting with the metric name. */
  reason: string;
  /** What was required, as text: `min 99`, `max 500`, `successCondition: result >= 0.95`. */
  threshold?: string;
  /** Set when no verdict on a value was possible. */
  error?: CheckErrorKind;
  /** Both a successCondition and a failureCondition are set and neither holds (passed is false). */
  inconclusive?: true;
  /** The rendered query, for status and for pasting into the provider's console. */
  query?: string;
}

export interface AnalysisResult {
  /** True when every check that is not dryRun passed. */
  passed: boolean;
  checks: CheckResult[];
}

/** What one analysis step adds up to, for the machine's ANALYSIS_RESULT. */
export type AnalysisOutcome = 'passed' | 'failed' | 'noData' | 'inconclusive';

/**
 * A failure outweighs no data, and both outweigh an inconclusive check: the step is
 * inconclusive only when every counted check that did not pass was inconclusive.
 */
export function analysisOutcome(checks: readonly CheckResult[]): {
  outcome: AnalysisOutcome;
  reasons: string[];
} {
  const failing = checks.filter((check) => !check.passed && !check.dryRun);
  const reasons = failing.map((check) => check.reason);
  if (failing.length === 0) return { outcome: 'passed', reasons };
  if (failing.every((check) => check.inconclusive)) return { outcome: 'inconclusive', reasons };
  const decided = failing.filter((check) => !check.inconclusive);
  const noData = decided.every((check) => check.error === 'noData' || check.error === 'notANumber');
  return { outcome: noData ? 'noData' : 'failed', reasons: decided.map((check) => check.reason) };
}

export type MetricOutcome = { value: MetricValue } | { error: unknown };

function errorKind(error: unknown): CheckErrorKind {
  if (error instanceof MetricError) return error.kind;
  if (error instanceof TemplateRenderError) return 'template';
  if (error instanceof CelConditionError) return 'condition';
  return 'config';
}

function describeValue(value: MetricValue): string {
  return Array.isArray(value) ? `[${value.map(formatNumber).join(', ')}]` : formatNumber(value);
}

/** The effective {min, max}: thresholdRange, else Flagger's deprecated `threshold`. */
export function thresholdRange(check: MetricCheck): { min?: number; max?: number } | undefined {
  if (
    check.thresholdRange &&
    (check.thresholdRange.min !== undefined || check.thresholdRange.max !== undefined)
  ) {
    return check.thresholdRange;
  }
  if (check.threshold !== undefined) {
    return check.name === 'request-success-rate' ? { min: check.threshold } : { max: check.threshold };
  }
  return undefined;
}

/** The check's criteria as one line of text, for status. */
function requirement(check: MetricCheck): string | undefined {
  const range = thresholdRange(check);
  const parts = [
    range?.min === undefined ? undefined : `min ${range.min}`,
    range?.max === undefined ? undefined : `max ${range.max}`,
    check.successCondition ? `successCondition: ${check.successCondition}` : undefined,
    check.failureCondition ? `failureCondition: ${check.failureCondition}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.length ? parts.join('; ') : undefined;
}

/** Judges one check from its value or its error. Pure. */
export function evaluateMetric(check: MetricCheck, outcome: MetricOutcome, query?: string): CheckResult {
  const required = requirement(check);
  const base = {
    name: check.name,
    dryRun: check.dryRun === true,
    ...(required ? { threshold: required } : {}),
    ...(query === undefined ? {} : { query }),
  };
  const failed = (reason: string, error?: CheckErrorKind, value?: MetricValue): CheckResult => ({
    ...base,
    passed: false,
    reason: `${check.name}: ${reason}`,
    ...(value === undefined ? {} : { value }),
    ...(error === undefined ? {} : { error }),
  });

  if ('error' in outcome) {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    return failed(message, errorKind(outcome.error));
  }
  const { value } = outcome;
  const range = thresholdRange(check);
  const passes: string[] = [];

  if (range) {
    if (Array.isArray(value)) {
      return failed(
        `the query returned ${value.length} series ${describeValue(value)}; thresholdRange needs one number (aggregate with sum/avg/max, or use a CEL condition over results)`,
        'multipleSeries',
        value,
      );
    }
    if (range.min !== undefined && value < range.min) {
      return failed(`${formatNumber(value)} < min ${range.min}`, undefined, value);
    }
    if (range.max !== undefined && value > range.max) {
      return failed(`${formatNumber(value)} > max ${range.max}`, undefined, value);
    }
    const bounds = [
      range.min === undefined ? undefined : `>= min ${range.min}`,
      range.max === undefined ? undefined : `<= max ${range.max}`,
    ].filter(Boolean);
    passes.push(`${formatNumber(value)} ${bounds.join(' and ')}`);
  }

  const conditions = [
    { field: 'failureCondition', expression: check.failureCondition, passWhen: false },
    { field: 'successCondition', expression: check.successCondition, passWhen: true },
  ] as const;
  const both = Boolean(check.failureCondition && check.successCondition);
  for (const { field, expression, passWhen } of conditions) {
    if (!expression) continue;
    let holds: boolean;
    try {
      holds = evaluateCondition(expression, value);
    } catch (error) {
      return failed(
        `${field}: ${error instanceof Error ? error.message : String(error)}`,
        'condition',
        value,
      );
    }
    const text = `${field} "${expression}" is ${holds} for result = ${describeValue(value)}`;
    if (holds !== passWhen) {
      // Only a failureCondition that holds is a failure when both are set.
      if (both && passWhen) {
        return {
          ...failed(
            `inconclusive: neither successCondition "${expression}" nor failureCondition "${check.failureCondition}" holds for result = ${describeValue(value)}`,
            undefined,
            value,
          ),
          inconclusive: true,
        };
      }
      return failed(text, undefined, value);
    }
    passes.push(text);
  }

  if (passes.length === 0) {
    if (Array.isArray(value)) {
      return failed(
        `the query returned ${value.length} series ${describeValue(value)}; a single number is expected unless a CEL condition reads results`,
        'multipleSeries',
        value,
      );
    }
    passes.push(`${formatNumber(value)} recorded (no thresholdRange or condition set)`);
  }
  return { ...base, passed: true, value, reason: `${check.name}: ${passes.join('; ')}` };
}

export interface TemplateRef {
  name: string;
  namespace: string;
}

export interface AnalysisDeps {
  canary: CanaryContext;
  /** Looks up a MetricTemplate (informer cache or API); undefined when it does not exist. */
  getTemplate(ref: TemplateRef): Promise<MetricTemplate | undefined>;
  /** Reads the credentials of a template's provider.secretRef (namespace: the template's). */
  getCredentials?(namespace: string, secretRef: { name: string }): Promise<ProviderCredentials>;
  /** Builds a provider; tests may hand in a fake. */
  createProvider?(request: ProviderRequest): MetricProvider;
  /** The Kubernetes API, for providers that read from the cluster (keptn, externalmetrics). */
  cluster?: ProviderRequest['cluster'];
  /** Per-query timeout, default 10 s. */
  queryTimeoutMs?: number;
  /**
   * Answers built-in checks of many canaries with one query per metric (batch.ts); unset, each
   * check runs its own query. Inline queries and MetricTemplates always run their own.
   */
  batcher?: QueryBatcher;
  /** Aborts every query of the step (controller shutdown). */
  signal?: AbortSignal;
  now?: () => number;
  /** Evaluate every query as of this instant (ms) instead of now: `sluice replay`. */
  at?: number;
  logger?: Logger;
}

export interface PreparedQuery {
  query: string;
  provider: MetricProvider;
  /** The check with the template's default conditions filled in. */
  check: MetricCheck;
  /** A template's own request timeout (web), instead of the analysis default. */
  timeoutMs?: number;
}

function renderWeb(
  web: WebQuery,
  address: string | undefined,
  model: TemplateModel,
  label: string,
): WebQuery {
  const url = web.url || address;
  const headers = Object.fromEntries(
    Object.entries(web.headers ?? {}).map(([name, value]) => [
      name,
      renderTemplate(value, model, `${label} spec.web.headers.${name}`, 'header'),
    ]),
  );
  return {
    ...web,
    ...(url ? { url: renderTemplate(url, model, `${label} spec.web.url`, 'url') } : {}),
    ...(web.body ? { body: renderTemplate(web.body, model, `${label} spec.web.body`) } : {}),
    headers,
  };
}

/** Prometheus takes PromQL; every other provider a language of its own (see TemplateDialect). */
export function queryDialect(type: string | undefined): TemplateDialect {
  return !type || type === 'prometheus' ? 'promql' : 'query';
}

/** Every credential value a provider may send, in the forms it sends them. */
export function credentialSecrets(credentials: ProviderCredentials | undefined): string[] {
  if (!credentials) return [];
  const { basicAuth } = credentials;
  return [
    ...(credentials.secret?.values() ?? []),
    ...(credentials.bearerToken ? [credentials.bearerToken] : []),
    ...(basicAuth ? [basicAuth.password, basicAuthForm(basicAuth.username, basicAuth.password)] : []),
    ...Object.values(credentials.headers ?? {}),
    ...(credentials.datadog ? [credentials.datadog.apiKey, credentials.datadog.applicationKey] : []),
  ].filter((value) => value.trim().length > 0);
}

/** Renders a MetricTemplate's query for `model` and builds its provider (shared with the judge). */
export async function prepareTemplate(
  check: MetricCheck & { templateRef: { name: string; namespace?: string } },
  deps: AnalysisDeps,
  model: TemplateModel,
  intervalMs: number,
  secrets: string[],
): Promise<PreparedQuery> {
  const { canary } = deps;
  const create = deps.createProvider ?? defaultCreateProvider;
  const ref = { name: check.templateRef.name, namespace: check.templateRef.namespace || canary.namespace };
  const label = `MetricTemplate ${ref.namespace}/${ref.name}`;
  const template = await deps.getTemplate(ref);
  if (!template) throw new Error(`${label} (templateRef) not found`);
  const { spec } = template;
  const providerSpec: MetricTemplateProvider = { ...spec.provider };
  let query: string;
  let web: WebQuery | undefined;
  let timeoutMs: number | undefined;
  if (providerSpec.type === 'web') {
    if (!spec.web) throw new Error(`${label}: spec.web is required for provider type web`);
    web = renderWeb(spec.web, providerSpec.address, model, label);
    query = renderTemplate(spec.web.jsonPath, model, `${label} spec.web.jsonPath`);
    if (spec.web.timeout) timeoutMs = durationMs(spec.web.timeout, `${label} spec.web.timeout`);
  } else {
    if (!spec.query) throw new Error(`${label} has no spec.query`);
    query = renderTemplate(spec.query, model, label, queryDialect(providerSpec.type));
  }
  let credentials: ProviderCredentials | undefined;
  if (providerSpec.secretRef) {
    if (!deps.getCredentials)
      throw new Error(`${label}: provider.secretRef is set but no Secret reader was given`);
    credentials = await deps.getCredentials(ref.namespace, providerSpec.secretRef);
    secrets.push(...credentialSecrets(credentials));
  }
  let provider: MetricProvider;
  try {
    provider = create({
      provider: providerSpec,
      ...(web ? { web } : {}),
      credentials,
      intervalMs,
      defaultAddress: canary.metricsServer,
      ...(deps.cluster ? { cluster: deps.cluster } : {}),
      now: deps.now,
    });
  } catch (error) {
    throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const effective: MetricCheck = {
    ...check,
    successCondition: check.successCondition ?? spec.successCondition,
    failureCondition: check.failureCondition ?? spec.failureCondition,
  };
  return { query, provider, check: effective, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

/** `secrets` receives the credential values read for the check, for redacting its errors. */
async function prepare(check: MetricCheck, deps: AnalysisDeps, secrets: string[]): Promise<PreparedQuery> {
  const { canary } = deps;
  const create = deps.createProvider ?? defaultCreateProvider;
  const interval = check.interval || DEFAULT_METRIC_INTERVAL;
  const intervalMs = durationMs(interval, `metric ${check.name}: interval`);
  const model = templateModel(canary, interval, check.templateVariables);
  const prometheus = (): MetricProvider =>
    create({
      provider: { type: 'prometheus' },
      intervalMs,
      defaultAddress: canary.metricsServer,
      now: deps.now,
    });

  if (check.templateRef) {
    return prepareTemplate({ ...check, templateRef: check.templateRef }, deps, model, intervalMs, secrets);
  }
  if (check.query) {
    const query = renderTemplate(check.query, model, `metric ${check.name} (inline query)`, 'promql');
    return { query, provider: prometheus(), check };
  }
  if (isBuiltinMetric(check.name)) {
    const provider = canary.provider || 'istio';
    const query = renderTemplate(
      builtinQuery(canary.provider, check.name, canary.protocol),
      model,
      `built-in ${check.name} (${provider})`,
      'promql',
    );
    const place = deps.batcher && batchPlace(canary.provider, check.name, canary.protocol, model);
    if (!deps.batcher || !place) return { query, provider: prometheus(), check };
    const { batcher } = deps;
    const own = prometheus();
    const batched: MetricProvider = {
      type: own.type,
      isOnline: (options) => own.isOnline(options),
      runQuery: (text, options) =>
        batcher.run({
          ...place,
          query: text,
          address: canary.metricsServer ?? '',
          provider: own,
          ...(options ? { options } : {}),
        }),
    };
    return { query, provider: batched, check };
  }
  throw new Error(
    'has no templateRef or query, and is not a built-in metric (request-success-rate, request-duration)',
  );
}

/** Runs a query with a hard deadline, even for a provider that ignores its signal. */
async function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onLate()), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Provider types that evaluate a query at a past instant (`QueryOptions.at`), for replay. */
export const HISTORICAL_PROVIDER_TYPES = ['prometheus', 'datadog'] as const;

/**
 * Runs one prepared query with the analysis' timeout, abort signal and instant (`deps.at`);
 * `run` picks the provider method (a number, or labelled series for the judge).
 */
export async function runPrepared<T>(
  prepared: PreparedQuery,
  deps: Pick<AnalysisDeps, 'queryTimeoutMs' | 'signal' | 'at' | 'logger'>,
  what: string,
  run: (provider: MetricProvider, query: string, options: QueryOptions) => Promise<T>,
): Promise<T> {
  const logger = deps.logger ?? silentLogger;
  const timeoutMs = prepared.timeoutMs ?? deps.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const type = prepared.provider.type;
  if (deps.at !== undefined && !(HISTORICAL_PROVIDER_TYPES as readonly string[]).includes(type)) {
    throw new MetricError('query', {
      provider: type,
      query: prepared.query,
      message: `${type} provider cannot answer for a past instant; sluice replay reads ${HISTORICAL_PROVIDER_TYPES.join(' and ')}`,
    });
  }
  logger.debug({ metric: what, provider: type, query: prepared.query }, 'running metric query');
  const { signal } = querySignal({ timeoutMs, ...(deps.signal ? { signal: deps.signal } : {}) });
  return withDeadline(
    run(prepared.provider, prepared.query, {
      signal,
      timeoutMs,
      ...(deps.at === undefined ? {} : { at: deps.at }),
    }),
    timeoutMs + Math.min(1000, timeoutMs),
    () =>
      new MetricError('timeout', {
        provider: type,
        query: prepared.query,
        message: `${type} did not answer within ${timeoutMs}ms: ${prepared.query}`,
      }),
  );
}

async function runCheck(check: MetricCheck, deps: AnalysisDeps): Promise<CheckResult> {
  let query: string | undefined;
  const secrets: string[] = [];
  try {
    const prepared = await prepare(check, deps, secrets);
    query = prepared.query;
    const value = await runPrepared(prepared, deps, check.name, (provider, text, options) =>
      provider.runQuery(text, options),
    );
    return evaluateMetric(prepared.check, { value }, query);
  } catch (error) {
    // A provider's error may quote its answer, and servers echo credentials back.
    if (error instanceof Error && secrets.length > 0) error.message = redact(error.message, secrets);
    return evaluateMetric(check, { error }, query);
  }
}

/**
 * Runs all metric checks of one analysis step concurrently. The step passes only if every
 * check that is not dryRun passed; dryRun checks are evaluated and reported all the same.
 */
export async function runAnalysis(
  metrics: readonly MetricCheck[],
  deps: AnalysisDeps,
): Promise<AnalysisResult> {
  const checks = await Promise.all(metrics.map((check) => runCheck(check, deps)));
  return { passed: checks.every((check) => check.passed || check.dryRun), checks };
}

/** A CheckResult in the shape of Canary `status.lastAnalysis[]` (a list value is left out). */
export function lastAnalysisEntry(check: CheckResult): {
  name: string;
  value?: number;
  threshold?: string;
  passed: boolean;
  inconclusive?: boolean;
  reason: string;
  dryRun: boolean;
} {
  return {
    name: check.name,
    ...(typeof check.value === 'number' ? { value: check.value } : {}),
    ...(check.threshold ? { threshold: check.threshold } : {}),
    passed: check.passed,
    ...(check.inconclusive ? { inconclusive: true } : {}),
    reason: check.reason,
    dryRun: check.dryRun,
  };
}

/** One line for an Event or a log: which checks failed and why (dry-run failures marked). */
export function summarizeAnalysis(result: AnalysisResult): string {
  const failing = result.checks.filter((check) => !check.passed);
  if (failing.length === 0) return `all ${result.checks.length} metric checks passed`;
  const counted = failing.filter((check) => !check.dryRun).length;
  const head = counted
    ? `${counted} of ${result.checks.length} metric checks failed`
    : `all metric checks passed (dry-run checks failing)`;
  return `${head}: ${failing.map((check) => (check.dryRun ? `[dry-run] ${check.reason}` : check.reason)).join('; ')}`;
}
