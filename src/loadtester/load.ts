import { z } from 'zod';
import { formatDuration, parseDuration } from '../api/duration.ts';
import { LatencyHistogram } from './histogram.ts';

/** How a `type: load` task is described in webhook metadata (all values are strings). */
export interface LoadSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Requests started per second (open model: the schedule never waits for answers). */
  rps: number;
  /** At most this many requests in flight; a request due while all are busy is dropped and counted. */
  concurrency: number;
  durationMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

export const LOAD_DEFAULTS = {
  method: 'GET',
  rps: 10,
  concurrency: 10,
  duration: '1m',
  timeout: '10s',
} as const;
export const LOAD_LIMITS = { rps: 10_000, concurrency: 1_000 } as const;

/** A metadata value that is wrong; the message names the key and what was expected. */
export class TaskSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskSpecError';
  }
}

const httpUrl = z.url({ protocol: /^https?$/ });

export function parseUrl(metadata: Record<string, string>): string {
  const url = metadata.url;
  if (!url) throw new TaskSpecError('metadata.url is required (the address to send requests to)');
  if (!httpUrl.safeParse(url).success)
    throw new TaskSpecError(`metadata.url: "${url}" is not an http(s) URL`);
  return url;
}

export function parseNumber(
  metadata: Record<string, string>,
  key: string,
  fallback: number,
  max: number,
  integer: boolean,
): number {
  const text = metadata[key];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    throw new TaskSpecError(
      `metadata.${key}: "${text}" is not ${integer ? 'a whole number' : 'a number'} between ${integer ? 1 : 'above 0'} and ${max}`,
    );
  }
  return value;
}

export function parseDurationKey(
  metadata: Record<string, string>,
  key: string,
  fallback: string,
  maxMs: number,
): number {
  const text = metadata[key] || fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new TaskSpecError(`metadata.${key}: "${text}" is not a duration such as 30s or 1m`);
  if (ms > maxMs)
    throw new TaskSpecError(
      `metadata.${key}: ${text} is longer than the load tester allows (${formatDuration(maxMs)})`,
    );
  return ms;
}

const headersSchema = z.record(z.string(), z.string());

/** Reads a load spec from webhook metadata; throws TaskSpecError naming the bad key. */
export function parseLoadSpec(metadata: Record<string, string>, maxDurationMs: number): LoadSpec {
  let headers: Record<string, string> = {};
  if (metadata.headers) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata.headers);
    } catch {
      throw new TaskSpecError(
        'metadata.headers: not JSON; expected an object such as {"x-canary":"insider"}',
      );
    }
    const result = headersSchema.safeParse(parsed);
    if (!result.success) throw new TaskSpecError('metadata.headers: expected a JSON object of string values');
    headers = result.data;
  }
  const method = (metadata.method || LOAD_DEFAULTS.method).toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    throw new TaskSpecError(`metadata.method: "${metadata.method}" is not an HTTP method`);
  if (metadata.body && (method === 'GET' || method === 'HEAD')) {
    throw new TaskSpecError(
      `metadata.body: a ${method} request has no body; set metadata.method to POST or PUT`,
    );
  }
  return {
    url: parseUrl(metadata),
    method,
    headers,
    ...(metadata.body ? { body: metadata.body } : {}),
    rps: parseNumber(metadata, 'rps', LOAD_DEFAULTS.rps, LOAD_LIMITS.rps, false),
    concurrency: parseNumber(
      metadata,
      'concurrency',
      LOAD_DEFAULTS.concurrency,
      LOAD_LIMITS.concurrency,
      true,
    ),
    durationMs: parseDurationKey(metadata, 'duration', LOAD_DEFAULTS.duration, maxDurationMs),
    timeoutMs: parseDurationKey(metadata, 'timeout', LOAD_DEFAULTS.timeout, maxDurationMs),
  };
}

/** One request's outcome. */
export interface RequestOutcome {
  /** The HTTP status, absent when no answer came. */
  status?: number;
  /** Why no answer came: timeout, connection refused, … */
  error?: string;
  latencyMs: number;
}

export interface LoadReport {
  /** Requests sent (answered or not). */
  requests: number;
  /** Requests due while `concurrency` were already in flight, not sent. */
  dropped: number;
  durationMs: number;
  /** Requests sent per second over the run. */
  achievedRps: number;
  statusCounts: Record<string, number>;
  errors: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  aborted: boolean;
}

export interface LoadDeps {
  /** Sends one request; the default uses Node's fetch (undici, keep-alive). */
  send?: (spec: LoadSpec) => Promise<number>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  onOutcome?: (outcome: RequestOutcome) => void;
}

/** Names a fetch failure the way an operator searches for it. */
export function errorReason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    const cause = (error as { cause?: unknown }).cause;
    if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
      return cause.code;
    }
    return error.message;
  }
  return String(error);
}

export async function fetchSend(spec: LoadSpec): Promise<number> {
  const response = await fetch(spec.url, {
    method: spec.method,
    headers: spec.headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    redirect: 'manual',
    signal: AbortSignal.timeout(spec.timeoutMs),
  });
  // Reading the body returns the connection to the keep-alive pool.
  await response.arrayBuffer();
  return response.status;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `rps` requests a second for `durationMs`, on a fixed schedule measured from the
 * start (an open model: a slow answer does not slow the schedule, so latency is not
 * hidden by coordinated omission). At most `concurrency` are in flight; a request due
 * beyond that is dropped and counted.
 */
export async function runLoad(spec: LoadSpec, deps: LoadDeps = {}): Promise<LoadReport> {
  const send = deps.send ?? fetchSend;
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? defaultSleep;
  const histogram = new LatencyHistogram();
  const statusCounts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const total = Math.max(1, Math.round((spec.rps * spec.durationMs) / 1000));
  const interval = 1000 / spec.rps;
  let scheduled = 0;
  let sent = 0;
  let dropped = 0;
  const start = now();

  const fire = (): void => {
    const begun = now();
    const request = (async () => {
      const outcome: RequestOutcome = { latencyMs: 0 };
      try {
        outcome.status = await send(spec);
        statusCounts[outcome.status] = (statusCounts[outcome.status] ?? 0) + 1;
      } catch (error) {
        outcome.error = errorReason(error);
        errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
      }
      outcome.latencyMs = now() - begun;
      histogram.record(outcome.latencyMs);
      deps.onOutcome?.(outcome);
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  while (scheduled < total && !deps.signal?.aborted) {
    const due = Math.min(total, Math.floor((now() - start) / interval) + 1);
    for (; scheduled < due; scheduled += 1) {
      if (inFlight.size >= spec.concurrency) {
        dropped += 1;
      } else {
        sent += 1;
        fire();
      }
    }
    if (scheduled < total) await sleep(Math.max(1, start + scheduled * interval - now()));
  }
  await Promise.allSettled([...inFlight]);
  const durationMs = now() - start;
  return {
    requests: sent,
    dropped,
    durationMs,
    achievedRps: durationMs > 0 ? (sent * 1000) / durationMs : 0,
    statusCounts,
    errors,
    latencyMs: {
      p50: histogram.quantile(0.5),
      p90: histogram.quantile(0.9),
      p99: histogram.quantile(0.99),
      max: histogram.max,
      mean: histogram.mean,
    },
    aborted: deps.signal?.aborted ?? false,
  };
}
