import { Agent } from 'node:https';
import { PrometheusDriver, type PrometheusConnectionOptions } from 'prometheus-query';
import { z } from 'zod';
import {
  MetricError,
  excerpt,
  oneLine,
  querySignal,
  toMetricValue,
  type LabelledValue,
  type MetricProvider,
  type MetricValue,
  type ProviderCredentials,
  type QueryOptions,
} from './provider.ts';

// PromQL over the HTTP API (GET /api/v1/query) through prometheus-query. The library's
// thrown shapes are normalised into MetricError; the body is validated with zod here
// because the library reads "+Inf" and "NaN" alike as NaN, and we report them apart.

export interface PrometheusConfig {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  address: string;
  credentials?: ProviderCredentials;
  insecureSkipVerify?: boolean;
}

const ONLINE_QUERY = 'vector(1)';
const POST_ABOVE_CHARS = 4000;

/** Prometheus' sample value: a string, because JSON has no NaN or Inf. */
const sampleSchema = z.tuple([z.number(), z.string()]);

const responseSchema = z.object({
  status: z.enum(['success', 'error']),
  data: z
    .discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleSchema })),
      }),
      z.object({ resultType: z.literal('scalar'), result: sampleSchema }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
      z.object({ resultType: z.literal('string'), result: z.unknown() }),
    ])
    .optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

/** Parses a Prometheus sample string ("1.5", "NaN", "+Inf", "-Inf"). */
export function parseSample(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return text.trim() === '' ? Number.NaN : value;
}

/** The value(s) of a successful /api/v1/query body, or a MetricError. */
export function prometheusResultToValue(body: unknown, query: string): MetricValue {
  const series = prometheusResultToSeries(body, query);
  return toMetricValue(
    series.map((one) => one.value),
    { provider: 'prometheus', query },
  );
}

/**
 * Every series of a successful /api/v1/query body with its labels (a scalar has none).
 * Values are parsed but not judged: NaN and ±Inf are left for the caller to report.
 */
export function prometheusResultToSeries(body: unknown, query: string): LabelledValue[] {
  const context = { provider: 'prometheus', query };
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) {
    throw new MetricError('http', {
      ...context,
      message: `prometheus: the answer is not a Prometheus API response (${excerpt(JSON.stringify(body) ?? '')}) for query ${query}`,
    });
  }
  const { data } = parsed.data;
  if (parsed.data.status === 'error' || !data) {
    throw new MetricError('query', {
      ...context,
      message: `prometheus: query failed (${parsed.data.errorType ?? 'error'}): ${parsed.data.error ?? 'no detail'}: ${query}`,
    });
  }
  switch (data.resultType) {
    case 'vector':
      return data.result.map((series) => ({ labels: series.metric, value: parseSample(series.value[1]) }));
    case 'scalar':
      return [{ labels: {}, value: parseSample(data.result[1]) }];
    case 'matrix':
      throw new MetricError('query', {
        ...context,
        message: `prometheus: query returned a range vector; a metric query must return an instant vector or a scalar (wrap the [range] selector in a function such as rate() or avg_over_time()): ${query}`,
      });
    case 'string':
      throw new MetricError('query', {
        ...context,
        message: `prometheus: query returned a string, expected a number: ${query}`,
      });
  }
}

const thrownSchema = z.object({
  errorType: z.string().optional(),
  error: z.string().optional(),
  code: z.string().optional(),
  httpStatus: z.number().optional(),
  prometheus: z.object({ errorType: z.string().optional(), error: z.string().optional() }).optional(),
});

/** Maps what prometheus-query throws into a MetricError naming the query. */
export function normalizePrometheusError(
  thrown: unknown,
  context: { query: string; address: string; timeoutMs?: number },
): MetricError {
  if (thrown instanceof MetricError) return thrown;
  const base = { provider: 'prometheus', query: context.query, cause: thrown };
  const parsed = thrownSchema.safeParse(thrown);
  if (!parsed.success || parsed.data.errorType === undefined) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new MetricError('query', { ...base, message: `prometheus: ${message}: ${context.query}` });
  }
  const { errorType, error, code, httpStatus, prometheus } = parsed.data;
  const detail = prometheus?.error ?? error ?? 'no detail';
  const timeoutText = context.timeoutMs === undefined ? '' : ` after ${context.timeoutMs}ms`;
  switch (errorType) {
    case 'timeout_error':
      return new MetricError('timeout', {
        ...base,
        message: `prometheus at ${context.address} did not answer${timeoutText}: ${context.query}`,
      });
    case 'network_error':
    case 'ssl_error':
      if (code === 'ERR_CANCELED') {
        return new MetricError('timeout', {
          ...base,
          message: `prometheus query was cancelled or timed out${timeoutText}: ${context.query}`,
        });
      }
      return new MetricError('http', {
        ...base,
        message: `prometheus at ${context.address} is unreachable (${code ?? detail}): ${context.query}`,
      });
    case 'http_error': {
      const status = httpStatus;
      if (status === 401 || status === 403) {
        return new MetricError('auth', {
          ...base,
          status,
          message: `prometheus at ${context.address} refused the credentials (HTTP ${status}): ${excerpt(detail)}`,
        });
      }
      const promType = prometheus?.errorType;
      if (promType === 'timeout' || promType === 'canceled') {
        return new MetricError('timeout', {
          ...base,
          status,
          message: `prometheus timed out evaluating the query (${detail}): ${context.query}`,
        });
      }
      if (promType === 'bad_data' || promType === 'execution' || status === 400 || status === 422) {
        return new MetricError('query', {
          ...base,
          status,
          message: `prometheus rejected the query (HTTP ${status}, ${promType ?? 'error'}): ${excerpt(detail)}: ${context.query}`,
        });
      }
      return new MetricError('http', {
        ...base,
        status,
        message: `prometheus at ${context.address} answered HTTP ${status ?? '?'}: ${excerpt(detail)}: ${context.query}`,
      });
    }
    default:
      return new MetricError('http', {
        ...base,
        message: `prometheus at ${context.address} gave an unusable answer (${errorType}: ${excerpt(detail)}): ${context.query}`,
      });
  }
}

type RequestInterceptor = NonNullable<PrometheusConnectionOptions['requestInterceptor']>;
type ResponseInterceptor = NonNullable<PrometheusConnectionOptions['responseInterceptor']>;

/** Gives error answers that are not Prometheus JSON (a proxy's "Unauthorized") a JSON body. */
function jsonErrorBody(error: unknown): Promise<never> {
  if (typeof error === 'object' && error !== null && 'response' in error) {
    const response = (error as { response?: { data?: unknown; statusText?: string } }).response;
    const data = response?.data;
    const isPrometheusJson = typeof data === 'object' && data !== null && 'status' in data;
    if (response && !isPrometheusJson) {
      const text =
        typeof data === 'string' ? data : data ? JSON.stringify(data) : (response.statusText ?? '');
      response.data = { status: 'error', errorType: 'http', error: excerpt(text || 'empty body') };
    }
  }
  return Promise.reject(error);
}

export function validateHttpAddress(address: string | undefined, provider: string): string {
  let url: URL;
  try {
    url = new URL(address ?? '');
  } catch {
    throw new Error(
      `${provider} provider: address "${address ?? ''}" is not a URL; expected e.g. http://prometheus.monitoring:9090`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${provider} provider: address "${address}" must be an http:// or https:// URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

export function createPrometheusProvider(config: PrometheusConfig): MetricProvider {
  const address = validateHttpAddress(config.address, 'prometheus');
  const headers: Record<string, string> = { ...config.credentials?.headers };
  if (config.credentials?.bearerToken) headers.Authorization = `Bearer ${config.credentials.bearerToken}`;
  const auth = config.credentials?.bearerToken ? undefined : config.credentials?.basicAuth;
  const httpsAgent = config.insecureSkipVerify ? new Agent({ rejectUnauthorized: false }) : undefined;

  /** Sends one instant query (at `options.at`, or now) and returns the raw body. */
  async function fetchBody(query: string, options?: QueryOptions): Promise<unknown> {
    const { signal, timeoutMs } = querySignal(options);
    let body: unknown;
    // One driver per query: the interceptors carry this query's signal and capture its body.
    const onRequest: RequestInterceptor['onFulfilled'] = (request) => {
      request.signal = signal;
      if (httpsAgent) request.httpsAgent = httpsAgent;
      return request;
    };
    const onResponse: ResponseInterceptor['onFulfilled'] = (response) => {
      body = response.data;
      return response;
    };
    const driver = new PrometheusDriver({
      endpoint: address,
      baseURL: '/api/v1/',
      headers,
      ...(auth ? { auth } : {}),
      timeout: timeoutMs,
      // Long templated queries would overflow a URL; Prometheus takes the same form as POST.
      preferPost: query.length > POST_ABOVE_CHARS,
      requestInterceptor: { onFulfilled: onRequest },
      responseInterceptor: { onFulfilled: onResponse, onRejected: jsonErrorBody },
    });
    try {
      await driver.instantQuery(query, options?.at);
    } catch (error) {
      // The library parses the result itself and may trip over shapes we handle below.
      if (body === undefined) throw normalizePrometheusError(error, { query, address, timeoutMs });
    }
    return body;
  }

  async function runQuery(rawQuery: string, options?: QueryOptions): Promise<MetricValue> {
    const query = oneLine(rawQuery);
    return prometheusResultToValue(await fetchBody(query, options), query);
  }

  async function runSeriesQuery(rawQuery: string, options?: QueryOptions): Promise<LabelledValue[]> {
    const query = oneLine(rawQuery);
    const series = prometheusResultToSeries(await fetchBody(query, options), query);
    if (series.length === 0) {
      throw new MetricError('noData', {
        provider: 'prometheus',
        query,
        message: `no values from prometheus for query ${query}`,
      });
    }
    return series;
  }

  return {
    type: 'prometheus',
    runQuery,
    runSeriesQuery,
    async isOnline(options?: QueryOptions) {
      try {
        const value = await runQuery(ONLINE_QUERY, options);
        if (value === 1) return { online: true };
        const error = new MetricError('query', {
          provider: 'prometheus',
          query: ONLINE_QUERY,
          message: `prometheus at ${address} answered ${String(value)} to ${ONLINE_QUERY}, expected 1`,
        });
        return { online: false, error };
      } catch (error) {
        return { online: false, error: normalizePrometheusError(error, { query: ONLINE_QUERY, address }) };
      }
    },
  };
}
