import { linesToTables, stringToLines } from '@influxdata/influxdb-client';
import { z } from 'zod';
import { httpAddress, httpCall, httpStatusError, jsonCall, probe, errorDetail, parseAnswer } from './http.ts';
import type { HttpProviderConfig } from './http.ts';
import { MetricError, authHeaders, excerpt, oneLine, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, ProviderCredentials, QueryOptions } from './provider.ts';

// InfluxDB, in both of its query languages (docs/decisions: influxdb query languages):
// - Flux, as Flagger: POST /api/v2/query?org=<org> with {query, type: flux, dialect},
//   `Authorization: Token <token>`; the answer is annotated CSV (parsed by InfluxData's
//   client library). Each table's last non-null `_value` is one value.
// - InfluxQL, when the query starts with SELECT: GET /query?db=<db>&q=…&epoch=ms (InfluxDB
//   1.x, and 2.x through its compatibility API); each series' last non-null value.

export interface InfluxConfig extends HttpProviderConfig {
  credentials?: ProviderCredentials;
  /** Flux: the organisation (InfluxDB 2.x; 1.8 ignores it). */
  org?: string;
  /** InfluxQL: the database. */
  db?: string;
}

const FLUX_DIALECT = {
  header: true,
  delimiter: ',',
  annotations: ['datatype', 'group', 'default'],
  commentPrefix: '#',
};

export function isInfluxQl(query: string): boolean {
  return /^\s*(select|show)\s/i.test(query);
}

/** Flux annotated CSV → the last non-null `_value` of each table. */
export function fluxCsvToValue(csv: string, query: string): MetricValue {
  const context = { provider: 'influxdb', query };
  const lastByTable = new Map<string, unknown>();
  let failure: string | undefined;
  let parseError: unknown;
  stringToLines(
    csv,
    linesToTables({
      next(row, meta) {
        const error: unknown = meta.get(row, 'error');
        if (typeof error === 'string' && error !== '') {
          failure = error;
          return;
        }
        const value: unknown = meta.get(row, '_value');
        if (value === undefined) {
          failure ??= `the result has no _value column (columns: ${meta.columns.map((c) => c.label).join(', ')})`;
          return;
        }
        const table = `${String(meta.get(row, 'result'))}/${String(meta.get(row, 'table'))}`;
        if (value !== null) lastByTable.set(table, value);
        else if (!lastByTable.has(table)) lastByTable.set(table, null);
      },
      error(error) {
        parseError = error;
      },
      complete() {},
    }),
  );
  if (parseError !== undefined) {
    throw new MetricError('http', {
      ...context,
      cause: parseError,
      message: `influxdb: the answer is not annotated CSV (${excerpt(csv)}): ${query}`,
    });
  }
  if (failure !== undefined) {
    throw new MetricError('query', {
      ...context,
      message: `influxdb rejected the query: ${failure}: ${query}`,
    });
  }
  const values: number[] = [];
  for (const value of lastByTable.values()) {
    if (value === null) continue;
    if (typeof value !== 'number') {
      throw new MetricError('notANumber', {
        ...context,
        message: `influxdb: _value is ${excerpt(JSON.stringify(value) ?? String(value), 80)}, expected a number: ${query}`,
      });
    }
    values.push(value);
  }
  return toMetricValue(values, context);
}

const influxQlSchema = z.object({
  results: z.array(
    z.object({
      error: z.string().optional(),
      series: z
        .array(
          z.object({
            name: z.string().optional(),
            columns: z.array(z.string()),
            values: z.array(z.array(z.union([z.number(), z.string(), z.boolean(), z.null()]))),
          }),
        )
        .optional(),
    }),
  ),
  error: z.string().optional(),
});

/** An InfluxQL /query answer → the last non-null value of each series (one field selected). */
export function influxQlResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'influxdb', query };
  const answer = parseAnswer(influxQlSchema, body, context, 'an InfluxQL query result');
  const failed = answer.error ?? answer.results.find((result) => result.error)?.error;
  if (failed) {
    throw new MetricError('query', {
      ...context,
      message: `influxdb rejected the query: ${failed}: ${query}`,
    });
  }
  const values: number[] = [];
  for (const result of answer.results) {
    for (const series of result.series ?? []) {
      const fields = series.columns.filter((column) => column !== 'time');
      if (fields.length !== 1) {
        throw new MetricError('query', {
          ...context,
          message: `influxdb: the query selects ${fields.length} fields (${fields.join(', ')}); select one: ${query}`,
        });
      }
      const index = series.columns.indexOf(fields[0] as string);
      const last = series.values.findLast((row) => row[index] !== null && row[index] !== undefined)?.[index];
      if (last === undefined || last === null) continue;
      if (typeof last !== 'number') {
        throw new MetricError('notANumber', {
          ...context,
          message: `influxdb: ${fields[0]} is ${JSON.stringify(last)}, expected a number: ${query}`,
        });
      }
      values.push(last);
    }
  }
  return toMetricValue(values, context);
}

const fluxErrorSchema = z.object({ message: z.string() });
const fluxErrorDetail = errorDetail(fluxErrorSchema, (error) => error.message);
const influxQlErrorSchema = z.object({ error: z.string() });
const influxQlErrorDetail = errorDetail(influxQlErrorSchema, (error) => error.error);

export function createInfluxProvider(config: InfluxConfig): MetricProvider {
  const address = httpAddress(config.address, 'influxdb', 'http://influxdb.monitoring:8086');
  const token = config.credentials?.bearerToken;
  // InfluxDB reads `Token <token>`; 1.x users sign in with basic auth instead.
  const auth: Record<string, string> = token
    ? { ...config.credentials?.headers, Authorization: `Token ${token}` }
    : authHeaders(config.credentials);
  const insecureSkipVerify = config.insecureSkipVerify;

  async function flux(query: string, options?: QueryOptions): Promise<string> {
    const context = { provider: 'influxdb', query };
    const url = `${address}/api/v2/query`;
    const answer = await httpCall(
      {
        url,
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/csv' },
        searchParams: config.org ? { org: config.org } : {},
        // The dialect asks for the annotations that carry each column's type.
        body: JSON.stringify({ query, type: 'flux', dialect: FLUX_DIALECT }),
        insecureSkipVerify,
      },
      context,
      options,
    );
    if (answer.status === 404 && fluxErrorDetail(answer.body) === undefined) {
      throw new MetricError('query', {
        ...context,
        status: 404,
        message: `influxdb at ${new URL(address).host} does not serve Flux (/api/v2/query answered 404: InfluxDB 1.x before 1.8, or flux-enabled is off); write the query in InfluxQL (SELECT …) with the Secret key db: ${query}`,
      });
    }
    if (answer.status < 200 || answer.status > 299) {
      throw httpStatusError(answer, { ...context, url, detail: fluxErrorDetail(answer.body) });
    }
    return answer.body;
  }

  async function influxQl(query: string, options?: QueryOptions): Promise<unknown> {
    if (!config.db && /^\s*select\s/i.test(query)) {
      throw new Error('influxdb provider: an InfluxQL query needs the database: Secret key db');
    }
    return jsonCall(
      {
        url: `${address}/query`,
        headers: { ...auth, Accept: 'application/json' },
        searchParams: { q: query, epoch: 'ms', ...(config.db ? { db: config.db } : {}) },
        insecureSkipVerify,
      },
      { provider: 'influxdb', query },
      options,
      influxQlErrorDetail,
    );
  }

  return {
    type: 'influxdb',
    async runQuery(rawQuery, options) {
      if (isInfluxQl(rawQuery)) {
        const query = oneLine(rawQuery);
        return influxQlResultToValue(await influxQl(query, options), query);
      }
      // Flux is sent as written: its line breaks are part of the source.
      const query = rawQuery.trim();
      return fluxCsvToValue(await flux(query, options), query);
    },
    // An authenticated query that needs no data: the databases (InfluxQL) or the buckets (Flux).
    isOnline: (options) =>
      probe(async () => {
        if (config.db) {
          const body = await influxQl('SHOW DATABASES', options);
          const parsed = influxQlSchema.safeParse(body);
          const failed = parsed.success ? (parsed.data.error ?? parsed.data.results[0]?.error) : 'not JSON';
          if (failed) {
            throw new MetricError('auth', {
              provider: 'influxdb',
              query: 'SHOW DATABASES',
              message: `influxdb at ${new URL(address).host} refused SHOW DATABASES: ${failed}`,
            });
          }
        } else {
          fluxCsvToValueOrEmpty(await flux('buckets() |> limit(n: 1)', options));
        }
      }),
  };
}

/** A probe's CSV only has to parse and hold no error table. */
function fluxCsvToValueOrEmpty(csv: string): void {
  try {
    fluxCsvToValue(csv, 'buckets() |> limit(n: 1)');
  } catch (error) {
    if (error instanceof MetricError && (error.kind === 'noData' || error.kind === 'notANumber')) return;
    throw error;
  }
}
