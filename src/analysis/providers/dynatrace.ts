import { z } from 'zod';
import { httpAddress, jsonCall, probe, unexpectedAnswer, errorDetail } from './http.ts';
import {
  oneLine,
  toMetricValue,
  type MetricProvider,
  type MetricValue,
  type QueryOptions,
} from './provider.ts';

// Dynatrace Metrics API v2: GET /api/v2/metrics/query?metricSelector&resolution=Inf&from&to
// with `Authorization: Api-Token <token>`. Each result's data[] is one series; its values
// may hold null where there was no data. Like Flagger, the window is ten metric intervals.

const LOOKBACK_INTERVALS = 10;

export interface DynatraceConfig {
  address?: string;
  token: string;
  intervalMs: number;
  insecureSkipVerify?: boolean;
  now?: () => number;
}

const responseSchema = z.object({
  result: z.array(
    z.object({
      metricId: z.string().optional(),
      data: z.array(z.object({ values: z.array(z.number().nullable()) })),
    }),
  ),
});

const errorSchema = z.object({ error: z.object({ code: z.number().optional(), message: z.string() }) });

const dynatraceError = errorDetail(errorSchema, (body) => body.error.message);

/** The last non-null value of each series. */
export function dynatraceResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'dynatrace', query };
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) throw unexpectedAnswer(body, context, 'a metrics query result');
  const values: number[] = [];
  for (const result of parsed.data.result) {
    for (const series of result.data) {
      const last = series.values.findLast((value) => value !== null);
      if (last !== undefined && last !== null) values.push(last);
    }
  }
  return toMetricValue(values, context);
}

export function createDynatraceProvider(config: DynatraceConfig): MetricProvider {
  const address = httpAddress(config.address, 'dynatrace', 'https://abc12345.live.dynatrace.com');
  const headers = { Authorization: `Api-Token ${config.token}`, Accept: 'application/json' };
  const now = config.now ?? Date.now;
  const lookbackMs = LOOKBACK_INTERVALS * config.intervalMs;
  const insecureSkipVerify = config.insecureSkipVerify;

  return {
    type: 'dynatrace',
    async runQuery(rawQuery: string, options?: QueryOptions): Promise<MetricValue> {
      const query = oneLine(rawQuery);
      const to = now();
      const body = await jsonCall(
        {
          url: `${address}/api/v2/metrics/query`,
          headers,
          searchParams: {
            metricSelector: query,
            resolution: 'Inf',
            from: String(to - lookbackMs),
            to: String(to),
          },
          insecureSkipVerify,
        },
        { provider: 'dynatrace', query },
        options,
        dynatraceError,
      );
      return dynatraceResultToValue(body, query);
    },
    isOnline: (options?: QueryOptions) =>
      probe(() =>
        jsonCall(
          { url: `${address}/api/v2/metrics`, headers, searchParams: { pageSize: '1' }, insecureSkipVerify },
          { provider: 'dynatrace', query: 'GET /api/v2/metrics?pageSize=1' },
          options,
          dynatraceError,
        ),
      ),
  };
}
