import { z } from 'zod';
import { httpAddress, jsonCall, probe, unexpectedAnswer, errorDetail, parseAnswer } from './http.ts';
import type { HttpProviderConfig } from './http.ts';
import { MetricError, oneLine, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, QueryOptions } from './provider.ts';

// New Relic NRQL, two ways in:
// - Insights query API, as Flagger: GET /v1/accounts/<id>/query?nrql=… with `X-Query-Key`
//   (Secret key newrelic_query_key); answer {results: [{<function>: value}]} or {facets: […]}.
// - NerdGraph (GraphQL), New Relic's current API: POST /graphql with `API-Key` (Secret key
//   newrelic_api_key); answer {data: {actor: {account: {nrql: {results: [row]}}}}, errors}.
// Like Flagger, the query gets `SINCE <metric interval> seconds ago` appended.

export const NEWRELIC_INSIGHTS_ADDRESS = 'https://insights-api.newrelic.com';
export const NEWRELIC_NERDGRAPH_ADDRESS = 'https://api.newrelic.com';

export interface NewRelicConfig extends HttpProviderConfig {
  accountId: string;
  /** Insights query key (Flagger's newrelic_query_key). */
  queryKey?: string;
  /** User API key for NerdGraph (newrelic_api_key); preferred when both are set. */
  apiKey?: string;
  intervalMs: number;
}

/** Keys of a result row that describe it rather than hold the value. */
const ROW_META = new Set(['facet', 'beginTimeSeconds', 'endTimeSeconds', 'timestamp']);

/** The one number of a result row ({count: 3}, {percentile.duration: {99: 0.4}}), or null. */
function rowValue(row: unknown, context: { provider: string; query: string }): number | null {
  const numbers: number[] = [];
  let nulls = 0;
  const walk = (value: unknown): void => {
    if (typeof value === 'number') numbers.push(value);
    else if (value === null) nulls += 1;
    else if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value as Record<string, unknown>))
        if (!ROW_META.has(key)) walk(child);
    }
  };
  walk(row);
  if (numbers.length > 1) {
    throw new MetricError('query', {
      ...context,
      message: `newrelic: a result row holds ${numbers.length} numbers; select one value: ${context.query}`,
    });
  }
  if (numbers.length === 0 && nulls === 0) {
    throw new MetricError('notANumber', {
      ...context,
      message: `newrelic: the result row ${JSON.stringify(row)} holds no number: ${context.query}`,
    });
  }
  return numbers[0] ?? null;
}

function rowsToValue(rows: unknown[], context: { provider: string; query: string }): MetricValue {
  const values = rows.map((row) => rowValue(row, context)).filter((value) => value !== null);
  return toMetricValue(values, context);
}

const insightsSchema = z.union([
  z.object({ facets: z.array(z.object({ results: z.array(z.unknown()) })) }),
  z.object({ results: z.array(z.unknown()) }),
]);

/** Values from an Insights query answer: one per row, or one per facet. */
export function insightsResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'newrelic', query };
  const answer = parseAnswer(insightsSchema, body, context, 'an Insights query result');
  const rows = 'facets' in answer ? answer.facets.flatMap((facet) => facet.results) : answer.results;
  return rowsToValue(rows, context);
}

const nerdGraphSchema = z.object({
  data: z
    .object({
      actor: z
        .object({
          account: z.object({ nrql: z.object({ results: z.array(z.unknown()) }).nullable() }).nullable(),
        })
        .nullable(),
    })
    .nullable()
    .optional(),
  errors: z
    .array(
      z.object({
        message: z.string(),
        extensions: z.object({ errorClass: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

/** NerdGraph reports a refused key as a GraphQL error of class UNAUTHORIZED or FORBIDDEN. */
function nerdGraphErrorKind(errors: { extensions?: { errorClass?: string } }[]): 'auth' | 'query' {
  return errors.some((error) => ['UNAUTHORIZED', 'FORBIDDEN'].includes(error.extensions?.errorClass ?? ''))
    ? 'auth'
    : 'query';
}

/** Values from a NerdGraph nrql answer; GraphQL errors are the query's errors. */
export function nerdGraphResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'newrelic', query };
  const answer = parseAnswer(nerdGraphSchema, body, context, 'a NerdGraph answer');
  const errors = answer.errors ?? [];
  if (errors.length > 0) {
    const kind = nerdGraphErrorKind(errors);
    throw new MetricError(kind, {
      ...context,
      message: `newrelic ${kind === 'auth' ? 'refused the API key' : 'rejected the query'}: ${errors.map((error) => error.message).join('; ')}: ${query}`,
    });
  }
  const rows = answer.data?.actor?.account?.nrql?.results;
  if (!rows) throw unexpectedAnswer(body, context, 'a NerdGraph nrql result');
  return rowsToValue(rows, context);
}

const insightsErrorSchema = z.object({ error: z.string() });

const insightsErrorDetail = errorDetail(insightsErrorSchema, (error) => error.error);

const NERDGRAPH_QUERY =
  'query ($accountId: Int!, $nrql: Nrql!) { actor { account(id: $accountId) { nrql(query: $nrql) { results } } } }';
const NERDGRAPH_PROBE = 'query ($accountId: Int!) { actor { account(id: $accountId) { id } } }';

export function createNewRelicProvider(config: NewRelicConfig): MetricProvider {
  if (!/^\d+$/.test(config.accountId)) {
    throw new Error(`newrelic provider: newrelic_account_id "${config.accountId}" is not an account number`);
  }
  const since = Math.max(1, Math.round(config.intervalMs / 1000));
  const insecureSkipVerify = config.insecureSkipVerify;
  const nerdGraph = config.apiKey !== undefined;
  const address = httpAddress(
    config.address || (nerdGraph ? NEWRELIC_NERDGRAPH_ADDRESS : NEWRELIC_INSIGHTS_ADDRESS),
    'newrelic',
    NEWRELIC_INSIGHTS_ADDRESS,
  );

  async function run(nrql: string, options: QueryOptions | undefined): Promise<unknown> {
    const context = { provider: 'newrelic', query: nrql };
    if (nerdGraph) {
      return jsonCall(
        {
          url: `${address}/graphql`,
          method: 'POST',
          headers: { 'API-Key': config.apiKey ?? '', 'Content-Type': 'application/json' },
          body: JSON.stringify({
            query: NERDGRAPH_QUERY,
            variables: { accountId: Number(config.accountId), nrql },
          }),
          insecureSkipVerify,
        },
        context,
        options,
      );
    }
    return jsonCall(
      {
        url: `${address}/v1/accounts/${config.accountId}/query`,
        headers: { 'X-Query-Key': config.queryKey ?? '', Accept: 'application/json' },
        searchParams: { nrql },
        insecureSkipVerify,
      },
      context,
      options,
      insightsErrorDetail,
    );
  }

  return {
    type: 'newrelic',
    async runQuery(rawQuery, options) {
      const nrql = `${oneLine(rawQuery)} SINCE ${since} seconds ago`;
      const body = await run(nrql, options);
      return nerdGraph ? nerdGraphResultToValue(body, nrql) : insightsResultToValue(body, nrql);
    },
    isOnline: (options) =>
      probe(async () => {
        if (!nerdGraph) return run('SELECT count(*) FROM Metric SINCE 1 minute ago', options);
        const query = 'NerdGraph account lookup';
        const body = await jsonCall(
          {
            url: `${address}/graphql`,
            method: 'POST',
            headers: { 'API-Key': config.apiKey ?? '', 'Content-Type': 'application/json' },
            body: JSON.stringify({
              query: NERDGRAPH_PROBE,
              variables: { accountId: Number(config.accountId) },
            }),
            insecureSkipVerify,
          },
          { provider: 'newrelic', query },
          options,
        );
        const parsed = nerdGraphSchema.safeParse(body);
        const errors = parsed.success ? (parsed.data.errors ?? []) : [];
        if (errors.length > 0) {
          throw new MetricError(nerdGraphErrorKind(errors) === 'auth' ? 'auth' : 'query', {
            provider: 'newrelic',
            query,
            message: `newrelic refused account ${config.accountId}: ${errors.map((e) => e.message).join('; ')}`,
          });
        }
      }),
  };
}
