import { z } from 'zod';
import { httpAddress, jsonCall, probe, errorDetail, parseAnswer, type HttpProviderConfig } from './http.ts';
import { oneLine, toMetricValue, lookbackWindow } from './provider.ts';
import type { MetricProvider, MetricValue, WindowedConfig } from './provider.ts';

// Dynatrace Metrics API v2: GET /api/v2/metrics/query?metricSelector&resolution=Inf&from&to
// with `Authorization: Api-Token <token>`. Each result's data[] is one series; its values
// may hold null where there was no data. Like Flagger, the window is ten metric intervals.

export interface DynatraceConfig extends HttpProviderConfig, WindowedConfig {
  token: string;
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
  const answer = parseAnswer(responseSchema, body, context, 'a metrics query result');
  const values: number[] = [];
  for (const result of answer.result) {
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
  const { now, lookbackMs } = lookbackWindow(config);
  const insecureSkipVerify = config.insecureSkipVerify;

  return {
    type: 'dynatrace',
    async runQuery(rawQuery, options) {
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
    isOnline: (options) =>
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
