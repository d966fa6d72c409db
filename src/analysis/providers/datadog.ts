import { z } from 'zod';
import { httpCall, httpStatusError, parseJsonBody, errorDetail } from './http.ts';
import {
  MetricError,
  excerpt,
  oneLine,
  toMetricValue,
  type MetricProvider,
  type MetricValue,
  type QueryOptions,
} from './provider.ts';

// Datadog metrics query API v1: GET /api/v1/query?from&to&query with the DD-API-KEY and
// DD-APPLICATION-KEY headers; the answer's series[].pointlist holds [ms, value|null].

export const DATADOG_DEFAULT_ADDRESS = 'https://api.datadoghq.com';

/** Like Flagger, look back ten metric intervals so sparse series still have a point. */
const LOOKBACK_INTERVALS = 10;

export interface DatadogConfig {
  address?: string;
  apiKey: string;
  applicationKey: string;
  /** The metric interval in milliseconds (sets the query's time range). */
  intervalMs: number;
  insecureSkipVerify?: boolean;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

const queryResponseSchema = z.object({
  status: z.string().optional(),
  error: z.string().optional(),
  series: z.array(z.object({ pointlist: z.array(z.tuple([z.number(), z.number().nullable()])) })).optional(),
});

const errorsSchema = z.object({ errors: z.array(z.string()) });

const datadogError = errorDetail(errorsSchema, (body) => body.errors.join('; '));

/** The last non-null point of each series, from a /api/v1/query body. */
export function datadogResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'datadog', query };
  const parsed = queryResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new MetricError('http', {
      ...context,
      message: `datadog: the answer is not a metrics query response (${excerpt(JSON.stringify(body) ?? '')}): ${query}`,
    });
  }
  if (parsed.data.status === 'error' || parsed.data.error) {
    throw new MetricError('query', {
      ...context,
      message: `datadog rejected the query: ${parsed.data.error ?? 'no detail'}: ${query}`,
    });
  }
  const values: number[] = [];
  for (const series of parsed.data.series ?? []) {
    const last = series.pointlist.findLast(([, value]) => value !== null);
    if (last) values.push(last[1] as number);
  }
  return toMetricValue(values, context);
}

export function createDatadogProvider(config: DatadogConfig): MetricProvider {
  const address = (config.address || DATADOG_DEFAULT_ADDRESS).replace(/\/+$/, '');
  const headers = { 'DD-API-KEY': config.apiKey, 'DD-APPLICATION-KEY': config.applicationKey };
  const now = config.now ?? Date.now;
  const lookbackSeconds = Math.max(1, Math.round((LOOKBACK_INTERVALS * config.intervalMs) / 1000));

  return {
    type: 'datadog',
    async runQuery(rawQuery: string, options?: QueryOptions): Promise<MetricValue> {
      const query = oneLine(rawQuery);
      const context = { provider: 'datadog', query };
      const to = Math.floor((options?.at ?? now()) / 1000);
      const url = `${address}/api/v1/query`;
      const answer = await httpCall(
        {
          url,
          headers,
          searchParams: { from: String(to - lookbackSeconds), to: String(to), query },
          insecureSkipVerify: config.insecureSkipVerify,
        },
        context,
        options,
      );
      if (answer.status < 200 || answer.status > 299) {
        throw httpStatusError(answer, { ...context, url, detail: datadogError(answer.body) });
      }
      return datadogResultToValue(parseJsonBody(answer, context), query);
    },
    async isOnline(options?: QueryOptions) {
      const url = `${address}/api/v1/validate`;
      const context = { provider: 'datadog', query: 'GET /api/v1/validate' };
      try {
        const answer = await httpCall(
          { url, headers, insecureSkipVerify: config.insecureSkipVerify },
          context,
          options,
        );
        if (answer.status >= 200 && answer.status <= 299) return { online: true };
        return {
          online: false,
          error: httpStatusError(answer, { ...context, url, detail: datadogError(answer.body) }),
        };
      } catch (error) {
        if (error instanceof MetricError) return { online: false, error };
        throw error;
      }
    },
  };
}
