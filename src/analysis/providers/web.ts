import { JSONPath } from 'jsonpath-plus';
import { jsonCall, probeCall, type HttpCall } from './http.ts';
import { MetricError, authHeaders, excerpt, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, ProviderCredentials } from './provider.ts';

// A generic JSON endpoint: GET (or POST) the provider address, pick the number with a
// JSONPath. For this provider the MetricTemplate `query` is the JSONPath (e.g.
// `$.data.successRate`); address and body are templates too.

export interface WebConfig {
  /** The rendered URL to call. */
  url: string;
  method?: 'GET' | 'POST';
  /** The rendered request body (POST); sent as JSON when it parses as JSON. */
  body?: string;
  headers?: Record<string, string>;
  credentials?: ProviderCredentials;
  insecureSkipVerify?: boolean;
}

/** Picks the value(s) at `jsonPath` in `json`; numbers and numeric strings count. */
export function pickJsonValue(json: unknown, jsonPath: string): MetricValue {
  const context = { provider: 'web', query: jsonPath, what: 'JSONPath' };
  let matches: unknown[];
  try {
    matches = JSONPath({ path: jsonPath, json: json as object, wrap: true, eval: 'safe' }) as unknown[];
  } catch (error) {
    throw new MetricError('query', {
      ...context,
      cause: error,
      message: `web: JSONPath ${jsonPath} is not valid: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  const values: number[] = [];
  for (const match of matches ?? []) {
    if (match === null || match === undefined) continue;
    if (typeof match === 'number') values.push(match);
    else if (typeof match === 'string' && match.trim() !== '' && !Number.isNaN(Number(match)))
      values.push(Number(match));
    else {
      throw new MetricError('notANumber', {
        ...context,
        message: `web: JSONPath ${jsonPath} matched ${excerpt(JSON.stringify(match) ?? String(match), 80)}, expected a number`,
      });
    }
  }
  return toMetricValue(values, context);
}

export function createWebProvider(config: WebConfig): MetricProvider {
  const url = new URL(config.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`web provider: address "${config.url}" must be an http:// or https:// URL`);
  }
  const call: HttpCall = {
    url: config.url,
    method: config.method ?? 'GET',
    headers: { Accept: 'application/json', ...authHeaders(config.credentials), ...config.headers },
    insecureSkipVerify: config.insecureSkipVerify,
  };
  // A GET carries no body; only a POST sends the rendered one.
  if (config.body !== undefined && call.method === 'POST') {
    call.body = config.body;
    call.headers = {
      'Content-Type': isJson(config.body) ? 'application/json' : 'text/plain',
      ...call.headers,
    };
  }

  return {
    type: 'web',
    async runQuery(jsonPath, options) {
      const query = jsonPath.trim();
      const context = { provider: 'web', query: `${call.method} ${config.url} ${query}` };
      return pickJsonValue(await jsonCall(call, context, options), query);
    },
    isOnline: (options) =>
      probeCall(call, { provider: 'web', query: `${call.method} ${config.url}` }, options),
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
