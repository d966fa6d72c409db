import { silentLogger, type Logger } from '../log.ts';
import {
  BUILTIN_QUERY_SETS,
  builtinQuery,
  builtinQuerySet,
  type BuiltinMetric,
  type BuiltinQuerySet,
} from './builtins.ts';
import {
  DEFAULT_QUERY_TIMEOUT_MS,
  MetricError,
  excerpt,
  isMetricError,
  oneLine,
  toMetricValue,
  type LabelledValue,
  type MetricProvider,
  type MetricValue,
  type QueryOptions,
} from './providers/provider.ts';
import { renderTemplate, templateModel, type TemplateModel } from './template.ts';

// Batched built-in queries (docs/decisions/0028-batched-builtin-queries.md): the checks of one
// built-in metric, provider set, protocol and interval against one Prometheus that fall due
// within a short window are answered by one query grouped `by (namespace label, target label)`,
// and the answer is split by those labels. Each canary gets exactly what its own query gives:
// the same series are summed in the same order per group, a canary with no group in the answer
// has no data, and `or vector(0)` (every request failed) becomes `or 0 * denominator`, so a
// workload with requests but no successes is 0 % as before and one without requests stays
// "no data". Canaries whose query cannot be split that way run alone.

/** One canary's place in a batch: the values its query puts in the two labels. */
export interface BatchMember {
  namespace: string;
  target: string;
}

/** What checks must share to share a query. */
export interface BatchShape {
  /** The built-in query set (istio, linkerd: the sets with `batchBy`). */
  set: keyof typeof BUILTIN_QUERY_SETS;
  metric: BuiltinMetric;
  protocol: string;
  /** The PromQL range, as rendered into `[{{ interval }}]`. */
  interval: string;
}

/**
 * A value `label=~"value"` matches exactly (Prometheus anchors regexes): no regex
 * metacharacter. A Deployment name with a dot is a regex in its own query (`.` matches any
 * character), so such a canary keeps its own query.
 */
const LITERAL = /^[A-Za-z0-9_-]+$/;

/** The check's batch shape and place, or undefined when it must run its own query. */
export function batchPlace(
  provider: string | undefined,
  metric: BuiltinMetric,
  protocol: string | undefined,
  model: Pick<TemplateModel, 'namespace' | 'target' | 'interval'>,
): { shape: BatchShape; member: BatchMember } | undefined {
  const set = builtinQuerySet(provider);
  if (!set) return undefined;
  const querySet: BuiltinQuerySet = BUILTIN_QUERY_SETS[set];
  if (!querySet.batchBy) return undefined;
  if (!LITERAL.test(model.namespace) || !LITERAL.test(model.target)) return undefined;
  return {
    shape: { set, metric, protocol: protocol ?? 'http', interval: model.interval },
    member: { namespace: model.namespace, target: model.target },
  };
}

export function shapeKey(shape: BatchShape): string {
  return [shape.set, shape.metric, shape.protocol, shape.interval].join('\u0000');
}

const memberKey = (namespace: string, target: string) => `${namespace}/${target}`;

const NAMESPACE_TOKEN = 'sluicebatchnamespace';
const TARGET_TOKEN = 'sluicebatchtarget';

function labelsOf(set: BatchShape['set']): { namespace: string; target: string } {
  const querySet: BuiltinQuerySet = BUILTIN_QUERY_SETS[set];
  if (!querySet.batchBy) throw new Error(`built-in query set ${set} has no batchBy labels`);
  return querySet.batchBy;
}

function replaceAll(text: string, from: string, to: string, what: string): string {
  if (!text.includes(from)) throw new Error(`batched query: ${what} not found (expected ${from})`);
  return text.split(from).join(to);
}

/**
 * The one query for every member of a batch. `select: 'namespaces'` drops the target matcher
 * (every workload of the members' namespaces; the benchmark compares both).
 */
export function batchedQuery(
  shape: BatchShape,
  members: readonly BatchMember[],
  select: 'members' | 'namespaces' = 'members',
): string {
  const labels = labelsOf(shape.set);
  const provider = BUILTIN_QUERY_SETS[shape.set].providers[0];
  const model = templateModel(
    { name: 'batch', namespace: NAMESPACE_TOKEN, target: TARGET_TOKEN },
    shape.interval,
    undefined,
  );
  const label = `batched built-in ${shape.metric} (${shape.set})`;
  let query = oneLine(
    renderTemplate(builtinQuery(provider, shape.metric, shape.protocol), model, label, 'promql'),
  );
  const alternatives = (values: Iterable<string>) => [...new Set(values)].sort().join('|');
  query = replaceAll(
    query,
    `${labels.namespace}="${NAMESPACE_TOKEN}"`,
    `${labels.namespace}=~"${alternatives(members.map((m) => m.namespace))}"`,
    'the namespace matcher',
  );
  query = replaceAll(
    query,
    `${labels.target}=~"${TARGET_TOKEN}"`,
    select === 'members'
      ? `${labels.target}=~"${alternatives(members.map((m) => m.target))}"`
      : `${labels.target}!=""`,
    'the target matcher',
  );
  const by = `${labels.namespace}, ${labels.target}`;
  query = query.split('sum by (le) (').join(`sum by (le, ${by}) (`);
  query = query.split('sum(').join(`sum by (${by}) (`);
  // `(A or vector(0)) / B * 100`: vector(0) has no labels and would match no group of B.
  const ratio = /^\( (.+) or vector\(0\) \) \/ (.+) \* 100$/.exec(query);
  if (ratio) query = `( ${ratio[1]} or 0 * ${ratio[2]} ) / ${ratio[2]} * 100`;
  if (query.includes('vector(') || query.includes(NAMESPACE_TOKEN) || query.includes(TARGET_TOKEN)) {
    throw new Error(`batched query: ${label} has a shape batching does not know: ${query}`);
  }
  return query;
}

/**
 * The answer split by member: each member's values (none: no data). A series without both
 * labels, or for a workload that is not a member, is left out.
 */
export function splitBatch(shape: BatchShape, series: readonly LabelledValue[]): Map<string, number[]> {
  const labels = labelsOf(shape.set);
  const split = new Map<string, number[]>();
  for (const one of series) {
    const namespace = one.labels[labels.namespace];
    const target = one.labels[labels.target];
    if (namespace === undefined || target === undefined) continue;
    const key = memberKey(namespace, target);
    split.set(key, [...(split.get(key) ?? []), one.value]);
  }
  return split;
}

/** A member's value from the split answer, judged as its own query's answer would be. */
export function memberValue(
  split: ReadonlyMap<string, number[]>,
  member: BatchMember,
  query: string,
): MetricValue {
  return toMetricValue(split.get(memberKey(member.namespace, member.target)) ?? [], {
    provider: 'prometheus',
    query,
  });
}

export interface BatchRequest {
  shape: BatchShape;
  member: BatchMember;
  /** The canary's own query, for its messages (and run as it is when batching cannot). */
  query: string;
  /** Its Prometheus (the Canary's metricsServer); the key of the batch with `shape`. */
  address: string;
  provider: MetricProvider;
  options?: QueryOptions;
}

export interface BatchStats {
  /** Batched queries sent. */
  queries: number;
  /** Checks answered by them. */
  checks: number;
}

export interface QueryBatcher {
  run(request: BatchRequest): Promise<MetricValue>;
  stats(): BatchStats;
}

export interface QueryBatcherOptions {
  /** How long the first check of a batch waits for others at most (ms). */
  windowMs: number;
  /**
   * A batch goes out sooner when no check has joined it for this long (ms; default a tenth
   * of the window, at least 1): canaries due at one tick join within milliseconds, and a
   * batch the controller's concurrency has already filled should not wait out the window.
   */
  quietMs?: number;
  /** Members per query at most (the regex of targets grows with them); default 1000. */
  maxMembers?: number;
  logger?: Logger;
}

interface Waiter {
  member: BatchMember;
  query: string;
  resolve(value: MetricValue): void;
  reject(error: unknown): void;
}

interface Pending {
  shape: BatchShape;
  provider: MetricProvider;
  waiters: Waiter[];
  members: Map<string, BatchMember>;
  timeoutMs: number;
  /** The instant the batch is evaluated at (replay), or now. */
  at: number | undefined;
  flushed: boolean;
  /** Ends the window; `quiet` is reset by each check that joins. */
  window: NodeJS.Timeout | undefined;
  quiet: NodeJS.Timeout | undefined;
}

export function createQueryBatcher(options: QueryBatcherOptions): QueryBatcher {
  const logger = options.logger ?? silentLogger;
  const maxMembers = options.maxMembers ?? 1000;
  const quietMs = options.quietMs ?? Math.max(1, Math.round(options.windowMs / 10));
  const pending = new Map<string, Pending>();
  const stats: BatchStats = { queries: 0, checks: 0 };

  async function flush(key: string, batch: Pending): Promise<void> {
    // Flushed once: when full, or when its window ends.
    if (batch.flushed) return;
    batch.flushed = true;
    clearTimeout(batch.window);
    clearTimeout(batch.quiet);
    if (pending.get(key) === batch) pending.delete(key);
    const members = [...batch.members.values()];
    const runSeries = batch.provider.runSeriesQuery?.bind(batch.provider);
    let series: readonly LabelledValue[] = [];
    let failure: unknown;
    try {
      const query = batchedQuery(batch.shape, members);
      stats.queries += 1;
      stats.checks += batch.waiters.length;
      if (!runSeries) throw new Error('the provider cannot return labelled series');
      series = await runSeries(query, {
        timeoutMs: batch.timeoutMs,
        ...(batch.at === undefined ? {} : { at: batch.at }),
      });
    } catch (error) {
      if (!(isMetricError(error) && error.kind === 'noData')) failure = error;
    }
    logger.debug(
      {
        metric: batch.shape.metric,
        set: batch.shape.set,
        interval: batch.shape.interval,
        members: members.length,
        checks: batch.waiters.length,
        ...(failure === undefined ? { series: series.length } : { error: String(failure) }),
      },
      'batched metric query',
    );
    const split = splitBatch(batch.shape, series);
    for (const waiter of batch.waiters) {
      if (failure === undefined) {
        try {
          waiter.resolve(memberValue(split, waiter.member, waiter.query));
        } catch (error) {
          waiter.reject(error);
        }
        continue;
      }
      const message = failure instanceof Error ? failure.message : String(failure);
      waiter.reject(
        new MetricError(isMetricError(failure) ? failure.kind : 'query', {
          provider: 'prometheus',
          query: waiter.query,
          message: `the batched query for ${members.length} canaries failed: ${excerpt(message, 400)}`,
          ...(isMetricError(failure) && failure.status !== undefined ? { status: failure.status } : {}),
          cause: failure,
        }),
      );
    }
  }

  return {
    stats: () => ({ ...stats }),
    run(request) {
      const { shape, member, query, provider, options: queryOptions } = request;
      // A provider without labelled answers (a test's fake): the canary's own query.
      if (!provider.runSeriesQuery) return provider.runQuery(query, queryOptions);
      const at = queryOptions?.at;
      const key = `${request.address}\u0000${shapeKey(shape)}\u0000${at ?? 'now'}`;
      let batch = pending.get(key);
      if (!batch) {
        batch = {
          shape,
          provider,
          waiters: [],
          members: new Map(),
          timeoutMs: 0,
          at,
          flushed: false,
          window: undefined,
          quiet: undefined,
        };
        const opened = batch;
        pending.set(key, opened);
        opened.window = setTimeout(() => void flush(key, opened), options.windowMs);
      }
      const joined = batch;
      clearTimeout(joined.quiet);
      joined.quiet = setTimeout(() => void flush(key, joined), Math.min(quietMs, options.windowMs));
      batch.timeoutMs = Math.max(batch.timeoutMs, queryOptions?.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
      batch.members.set(memberKey(member.namespace, member.target), member);
      const signal = queryOptions?.signal;
      const answer = new Promise<MetricValue>((resolve, reject) => {
        // As the provider names a query in its messages: on one line.
        batch.waiters.push({ member, query: oneLine(query), resolve, reject });
      });
      if (batch.members.size >= maxMembers) void flush(key, batch);
      if (!signal) return answer;
      // The canary's own deadline or the controller's shutdown ends its wait, not the batch.
      return new Promise<MetricValue>((resolve, reject) => {
        const onAbort = () =>
          reject(
            new MetricError('timeout', {
              provider: 'prometheus',
              query,
              message: `prometheus query was cancelled or timed out waiting for its batch: ${query}`,
            }),
          );
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
  };
}
