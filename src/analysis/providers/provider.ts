import type { SecretValues } from './secret.ts';

// The one interface every metric provider implements (Prometheus, Datadog, web), in the
// shape of Flagger's pkg/metrics/providers: run one query, get a number; is it online.

/** Why a query gave no usable number. Every kind is a failed check, never a pass. */
export type MetricErrorKind =
  | 'noData' // the query matched nothing (no series, no points, no JSONPath match)
  | 'multipleSeries' // a single number was needed and the query returned several
  | 'notANumber' // NaN or ±Inf (e.g. 0/0 when there was no traffic in the window)
  | 'timeout' // the provider did not answer within the per-query timeout
  | 'http' // transport failure or an HTTP error status other than auth
  | 'auth' // 401/403: the credentials were refused
  | 'query'; // the provider rejected the query (syntax, bad data, unexpected result type)

export class MetricError extends Error {
  readonly kind: MetricErrorKind;
  /** Provider type (`prometheus`, `datadog`, `web`). */
  readonly provider: string;
  /** The query as sent, so a person can paste it into the provider's console. */
  readonly query: string;
  /** HTTP status, when the provider answered with one. */
  readonly status: number | undefined;

  constructor(
    kind: MetricErrorKind,
    details: { provider: string; query: string; message: string; status?: number; cause?: unknown },
  ) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MetricError';
    this.kind = kind;
    this.provider = details.provider;
    this.query = details.query;
    this.status = details.status;
  }
}

export function isMetricError(error: unknown): error is MetricError {
  return error instanceof MetricError;
}

/** One number for a single series, or one per series for multi-series results. */
export type MetricValue = number | number[];

export interface QueryOptions {
  /** Aborts the query; an abort is reported as a `timeout` MetricError. */
  signal?: AbortSignal;
  /** Per-query timeout in milliseconds (providers default to 10 s). */
  timeoutMs?: number;
  /**
   * Evaluate the query as of this instant (ms since the epoch) instead of now, for
   * `sluice replay`. Only the types in HISTORICAL_PROVIDER_TYPES (evaluate.ts) are asked to;
   * the analysis refuses the others before querying.
   */
  at?: number;
}

/** One series of a query's answer with its labels (e.g. a histogram bucket and its `le`). */
export interface LabelledValue {
  labels: Record<string, string>;
  value: number;
}

export type OnlineStatus = { online: true } | { online: false; error: MetricError };

export interface MetricProvider {
  /** Provider type, as in MetricTemplate `spec.provider.type`. */
  readonly type: string;
  /**
   * Runs one query. Resolves to a number when the result has one series and to a list when
   * it has several (the caller decides whether a list is acceptable); rejects only with a
   * MetricError. Empty results, NaN and ±Inf are errors, never values.
   */
  runQuery(query: string, options?: QueryOptions): Promise<MetricValue>;
  /**
   * Optional: every series of the answer with its labels, for judged distribution metrics
   * (histogram buckets by `le`). Rejects with `noData` when nothing matched.
   */
  runSeriesQuery?(query: string, options?: QueryOptions): Promise<LabelledValue[]>;
  /** Asks the provider whether it is reachable and accepts the credentials. */
  isOnline(options?: QueryOptions): Promise<OnlineStatus>;
}

/** Credentials already read from the MetricTemplate's Secret (see secret.ts). */
export interface ProviderCredentials {
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Extra request headers (e.g. `X-Scope-OrgID` for a multi-tenant Prometheus). */
  headers?: Record<string, string>;
  /** Datadog keys (Secret keys `datadog_api_key`, `datadog_application_key`). */
  datadog?: { apiKey: string; applicationKey: string };
  /** Every key of the Secret, for providers with keys of their own. */
  secret?: SecretValues;
}

/** The Secret a provider needs, or an error naming the provider and the keys it wants. */
export function requireSecret(
  credentials: ProviderCredentials | undefined,
  provider: string,
  keys: string,
): SecretValues {
  if (!credentials?.secret) {
    throw new Error(`${provider} provider: spec.provider.secretRef is required (a Secret with ${keys})`);
  }
  return credentials.secret;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/** Like Flagger, the vendor providers look back ten metric intervals so sparse series still have a point. */
export const LOOKBACK_INTERVALS = 10;

/** The config of a provider whose queries cover a window that ends now. */
export interface WindowedConfig {
  /** The metric interval in milliseconds (sets the query's time range). */
  intervalMs: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

/** The clock and the look-back (LOOKBACK_INTERVALS metric intervals) of a windowed provider. */
export function lookbackWindow(config: WindowedConfig): {
  now: () => number;
  lookbackMs: number;
  /** The look-back in whole seconds, at least one, for APIs that count in seconds. */
  lookbackSeconds: number;
} {
  const lookbackMs = LOOKBACK_INTERVALS * config.intervalMs;
  return {
    now: config.now ?? Date.now,
    lookbackMs,
    lookbackSeconds: Math.max(1, Math.round(lookbackMs / 1000)),
  };
}

/** Collapses whitespace so multi-line templates become one-line queries (as Flagger does). */
export function oneLine(query: string): string {
  return query.replace(/\s+/g, ' ').trim();
}

/** Shortens a provider's answer for an error message. */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Headers carrying the credentials, for providers that authenticate by header. */
export function authHeaders(credentials: ProviderCredentials | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...credentials?.headers };
  if (credentials?.bearerToken) {
    headers.Authorization = `Bearer ${credentials.bearerToken}`;
  } else if (credentials?.basicAuth) {
    const { username, password } = credentials.basicAuth;
    headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return headers;
}

/** A timeout signal joined with the caller's signal. */
export function querySignal(options: QueryOptions | undefined): { signal: AbortSignal; timeoutMs: number } {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  return { signal: options?.signal ? AbortSignal.any([options.signal, timeout]) : timeout, timeoutMs };
}

/**
 * Turns the numbers a query produced into a MetricValue: none is `noData`, NaN/±Inf is
 * `notANumber`, one is a number, several are a list.
 */
export function toMetricValue(
  values: number[],
  context: { provider: string; query: string; what?: string },
): MetricValue {
  const what = context.what ?? 'query';
  if (values.length === 0) {
    throw new MetricError('noData', {
      ...context,
      message: `no values from ${context.provider} for ${what} ${context.query}`,
    });
  }
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) {
    const hint = Number.isNaN(bad) ? ' (0/0: probably no traffic in the window)' : '';
    throw new MetricError('notANumber', {
      ...context,
      message: `${context.provider} ${what} returned ${formatNumber(bad)}${hint}: ${context.query}`,
    });
  }
  return values.length === 1 ? (values[0] as number) : values;
}

export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
}
