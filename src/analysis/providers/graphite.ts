import { z } from 'zod';
import { httpAddress, jsonCall, probe, unexpectedAnswer, parseAnswer } from './http.ts';
import type { HttpProviderConfig } from './http.ts';
import { MetricError, authHeaders, oneLine, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, ProviderCredentials, QueryOptions } from './provider.ts';

// graphite-web's render API: GET /render?<the query's parameters>&format=json. The query
// holds render parameters as Flagger's do (`target=…`, optionally `from=…`); the answer is
// [{target, datapoints: [[value|null, timestamp], …]}], and each target's last non-null
// point is its value.

export interface GraphiteConfig extends HttpProviderConfig {
  credentials?: ProviderCredentials;
}

const pointValue = z.union([z.number(), z.string(), z.null()]);
const responseSchema = z.array(
  z.object({ target: z.string(), datapoints: z.array(z.tuple([pointValue, z.unknown()])) }),
);

/** The last non-null point of each target. */
export function graphiteResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'graphite', query };
  const answer = parseAnswer(responseSchema, body, context, 'a render API result');
  const values: number[] = [];
  for (const series of answer) {
    const last = series.datapoints.findLast(([value]) => value !== null)?.[0];
    if (last === undefined || last === null) continue;
    const value = typeof last === 'number' ? last : Number(last);
    if (typeof last === 'string' && (last.trim() === '' || Number.isNaN(value))) {
      throw new MetricError('notANumber', {
        ...context,
        message: `graphite: target ${series.target} has the value "${last}", expected a number: ${query}`,
      });
    }
    values.push(value);
  }
  return toMetricValue(values, context);
}

/** The query's render parameters, with format=json; `target` is required. */
export function renderParameters(query: string): Record<string, string[]> {
  const params = new URLSearchParams(oneLine(query).replace(/^\?/, ''));
  if (!params.has('target')) {
    throw new MetricError('query', {
      provider: 'graphite',
      query,
      message: `graphite: the query must hold render parameters with a target, e.g. target=sumSeries(app.requests.*): ${query}`,
    });
  }
  params.set('format', 'json');
  const grouped: Record<string, string[]> = {};
  for (const [key, value] of params) (grouped[key] ??= []).push(value);
  return grouped;
}

export function createGraphiteProvider(config: GraphiteConfig): MetricProvider {
  const address = httpAddress(config.address, 'graphite', 'http://graphite.monitoring');
  const headers = { Accept: 'application/json', ...authHeaders(config.credentials) };

  async function render(query: string, options?: QueryOptions): Promise<unknown> {
    const params = renderParameters(query);
    const search = new URLSearchParams();
    for (const [key, values] of Object.entries(params)) for (const value of values) search.append(key, value);
    return jsonCall(
      {
        url: `${address}/render?${search.toString()}`,
        headers,
        insecureSkipVerify: config.insecureSkipVerify,
      },
      { provider: 'graphite', query },
      options,
    );
  }

  return {
    type: 'graphite',
    async runQuery(rawQuery, options) {
      const query = oneLine(rawQuery);
      return graphiteResultToValue(await render(query, options), query);
    },
    // A render of a series that need not exist: any JSON list means the API answers.
    isOnline: (options) =>
      probe(async () => {
        const query = 'target=sluice.online.probe&from=-1min';
        const body = await render(query, options);
        if (!Array.isArray(body))
          throw unexpectedAnswer(body, { provider: 'graphite', query }, 'a render API result');
      }),
  };
}
