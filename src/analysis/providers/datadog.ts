import { z } from 'zod';
import { errorDetail, jsonCall, parseAnswer, probeCall, type HttpProviderConfig } from './http.ts';
import { MetricError, lookbackWindow, oneLine, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, WindowedConfig } from './provider.ts';

// Datadog metrics query API v1: GET /api/v1/query?from&to&query with the DD-API-KEY and
// DD-APPLICATION-KEY headers; the answer's series[].pointlist holds [ms, value|null].

export const DATADOG_DEFAULT_ADDRESS = 'https://api.datadoghq.com';

export interface DatadogConfig extends HttpProviderConfig, WindowedConfig {
  apiKey: string;
  applicationKey: string;
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
  const answer = parseAnswer(queryResponseSchema, body, context, 'a metrics query response');
  if (answer.status === 'error' || answer.error) {
    throw new MetricError('query', {
      ...context,
      message: `datadog rejected the query: ${answer.error ?? 'no detail'}: ${query}`,
    });
  }
  const values: number[] = [];
  for (const series of answer.series ?? []) {
    const last = series.pointlist.findLast(([, value]) => value !== null);
    if (last) values.push(last[1] as number);
  }
  return toMetricValue(values, context);
}

export function createDatadogProvider(config: DatadogConfig): MetricProvider {
  const address = (config.address || DATADOG_DEFAULT_ADDRESS).replace(/\/+$/, '');
  const headers = { 'DD-API-KEY': config.apiKey, 'DD-APPLICATION-KEY': config.applicationKey };
  const { now, lookbackSeconds } = lookbackWindow(config);
  const insecureSkipVerify = config.insecureSkipVerify;

  return {
    type: 'datadog',
    async runQuery(rawQuery, options) {
      const query = oneLine(rawQuery);
      const to = Math.floor((options?.at ?? now()) / 1000);
      const body = await jsonCall(
        {
          url: `${address}/api/v1/query`,
          headers,
          searchParams: { from: String(to - lookbackSeconds), to: String(to), query },
          insecureSkipVerify,
        },
        { provider: 'datadog', query },
        options,
        datadogError,
      );
      return datadogResultToValue(body, query);
    },
    isOnline: (options) =>
      probeCall(
        { url: `${address}/api/v1/validate`, headers, insecureSkipVerify },
        { provider: 'datadog', query: 'GET /api/v1/validate' },
        options,
        datadogError,
      ),
  };
}
