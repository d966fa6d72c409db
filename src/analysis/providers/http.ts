import { Agent } from 'node:https';
import { loadGot } from '../../got.ts';
import type { z } from 'zod';
import { MetricError, excerpt, querySignal, type OnlineStatus, type QueryOptions } from './provider.ts';

// The HTTP round trip shared by the HTTP providers: one attempt (the analysis retries on the
// next interval), a hard timeout, and transport failures as MetricErrors; and the pieces of
// config, answer parsing and error reading they all have.

/** What the config of every provider that calls a vendor's HTTP API has. */
export interface HttpProviderConfig {
  /** The API's base URL; each provider says whether it has a default. */
  address?: string;
  insecureSkipVerify?: boolean;
}

export interface HttpCall {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  searchParams?: Record<string, string>;
  body?: string;
  insecureSkipVerify?: boolean;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

const insecureAgent = new Agent({ rejectUnauthorized: false });

export async function httpCall(
  call: HttpCall,
  context: { provider: string; query: string },
  options?: QueryOptions,
): Promise<HttpAnswer> {
  const { signal, timeoutMs } = querySignal(options);
  try {
    const got = await loadGot();
    const response = await got(call.url, {
      method: call.method ?? 'GET',
      headers: call.headers,
      searchParams: call.searchParams,
      body: call.body,
      signal,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: true,
      ...(call.insecureSkipVerify ? { agent: { https: insecureAgent } } : {}),
    });
    return { status: response.statusCode, body: response.body };
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    const host = new URL(call.url).host;
    if (signal.aborted || code === 'ETIMEDOUT' || code === 'ERR_ABORTED') {
      throw new MetricError('timeout', {
        ...context,
        cause: error,
        message: `${context.provider} at ${host} did not answer within ${timeoutMs}ms: ${context.query}`,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new MetricError('http', {
      ...context,
      cause: error,
      message: `${context.provider} at ${host} is unreachable (${code || message}): ${context.query}`,
    });
  }
}

/** The MetricError for a non-2xx answer: 401/403 → auth, 400/422 → query, else http. */
export function httpStatusError(
  answer: HttpAnswer,
  context: { provider: string; query: string; url: string; detail?: string },
): MetricError {
  const { status } = answer;
  const detail = excerpt(context.detail ?? answer.body) || 'empty body';
  const host = new URL(context.url).host;
  const base = { provider: context.provider, query: context.query, status };
  if (status === 401 || status === 403) {
    return new MetricError('auth', {
      ...base,
      message: `${context.provider} at ${host} refused the credentials (HTTP ${status}): ${detail}`,
    });
  }
  if (status === 400 || status === 422) {
    return new MetricError('query', {
      ...base,
      message: `${context.provider} rejected the query (HTTP ${status}): ${detail}: ${context.query}`,
    });
  }
  return new MetricError('http', {
    ...base,
    message: `${context.provider} at ${host} answered HTTP ${status}: ${detail}: ${context.query}`,
  });
}

/** Parses a JSON body, or fails with an `http` MetricError quoting the start of it. */
export function parseJsonBody(answer: HttpAnswer, context: { provider: string; query: string }): unknown {
  try {
    return JSON.parse(answer.body) as unknown;
  } catch {
    throw new MetricError('http', {
      ...context,
      status: answer.status,
      message: `${context.provider}: the answer is not JSON (${excerpt(answer.body) || 'empty body'}): ${context.query}`,
    });
  }
}

/** One round trip whose answer must be 2xx: any other is a MetricError (see httpStatusError). */
export async function okCall(
  call: HttpCall,
  context: { provider: string; query: string },
  options?: QueryOptions,
  errorDetail?: (body: string) => string | undefined,
): Promise<HttpAnswer> {
  const answer = await httpCall(call, context, options);
  if (answer.status < 200 || answer.status > 299) {
    throw httpStatusError(answer, { ...context, url: call.url, detail: errorDetail?.(answer.body) });
  }
  return answer;
}

/** One JSON round trip: a non-2xx answer is a MetricError (see httpStatusError). */
export async function jsonCall(
  call: HttpCall,
  context: { provider: string; query: string },
  options?: QueryOptions,
  errorDetail?: (body: string) => string | undefined,
): Promise<unknown> {
  return parseJsonBody(await okCall(call, context, options, errorDetail), context);
}

/** isOnline from a probe: a MetricError means offline (with why); anything else propagates. */
export async function probe(work: () => Promise<unknown>): Promise<OnlineStatus> {
  try {
    await work();
    return { online: true };
  } catch (error) {
    if (error instanceof MetricError) return { online: false, error };
    throw error;
  }
}

/** The answer read with the provider's documented schema, or an unexpectedAnswer error. */
export function parseAnswer<T>(
  schema: z.ZodType<T>,
  body: unknown,
  context: { provider: string; query: string },
  what: string,
): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw unexpectedAnswer(body, context, what);
  return parsed.data;
}

/** isOnline by one round trip that must answer 2xx; the body is not read. */
export function probeCall(
  call: HttpCall,
  context: { provider: string; query: string },
  options?: QueryOptions,
  errorDetail?: (body: string) => string | undefined,
): Promise<OnlineStatus> {
  return probe(() => okCall(call, context, options, errorDetail));
}

/** A MetricError for an answer whose shape is not the provider's documented one. */
export function unexpectedAnswer(
  body: unknown,
  context: { provider: string; query: string },
  what: string,
): MetricError {
  return new MetricError('http', {
    ...context,
    message: `${context.provider}: the answer is not ${what} (${excerpt(JSON.stringify(body) ?? '')}): ${context.query}`,
  });
}

/** An address from the template, checked to be an http(s) URL, without trailing slashes. */
export function httpAddress(address: string | undefined, provider: string, example: string): string {
  if (!address) throw new Error(`${provider} provider: spec.provider.address is required, e.g. ${example}`);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new Error(`${provider} provider: address "${address}" is not a URL; expected e.g. ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${provider} provider: address "${address}" must be an http:// or https:// URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** An error body's detail, read with a vendor's error schema; undefined when it is not one. */
export function errorDetail<T>(schema: z.ZodType<T>, pick: (error: T) => string | undefined) {
  return (body: string): string | undefined => {
    try {
      const parsed = schema.safeParse(JSON.parse(body));
      return parsed.success ? pick(parsed.data) : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * isOnline by a request the provider must refuse as invalid (HTTP 400), as Flagger checks
 * CloudWatch and Cloud Monitoring: they say so only after accepting the credentials.
 */
export function probeRefusedAsInvalid(work: () => Promise<unknown>): Promise<OnlineStatus> {
  return probe(async () => {
    try {
      await work();
    } catch (error) {
      if (error instanceof MetricError && error.kind === 'query' && error.status === 400) return;
      throw error;
    }
  });
}
