import { Agent } from 'node:https';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { loadGot } from '../../got.ts';
import { z } from 'zod';
import { httpAddress, httpStatusError, jsonCall, probe, errorDetail } from './http.ts';
import type { HttpProviderConfig } from './http.ts';
import { MetricError, excerpt, querySignal, toMetricValue, lookbackWindow } from './provider.ts';
import type { MetricProvider, MetricValue, QueryOptions, WindowedConfig } from './provider.ts';

// Splunk Observability (SignalFx) SignalFlow, over the documented Server-Sent Events
// transport: POST <stream>/v2/signalflow/execute?start&stop&immediate=true with the program
// as text/plain and `X-SF-Token`. The stream carries control-message (…, END_OF_CHANNEL,
// CHANNEL_ABORT), metadata, data ({logicalTimestampMs, data: [{tsId, value}]}) and error
// events. Like Flagger, the window is ten metric intervals and api.<realm> becomes
// stream.<realm> for the query; each time series' last value is one value.

export interface SplunkConfig extends HttpProviderConfig, WindowedConfig {
  token: string;
}

/** The API host (api.<realm>…) and the stream host (stream.<realm>…) for an address. */
export function signalFxEndpoints(address: string): { api: string; stream: string } {
  const url = new URL(
    httpAddress(address.replace(/^ws(s?):/, 'http$1:'), 'splunk', 'https://api.us1.signalfx.com'),
  );
  const host = url.hostname;
  const api = new URL(url);
  const stream = new URL(url);
  if (host.startsWith('stream.')) api.hostname = `api.${host.slice('stream.'.length)}`;
  if (host.startsWith('api.')) stream.hostname = `stream.${host.slice('api.'.length)}`;
  const text = (u: URL) => u.toString().replace(/\/+$/, '');
  return { api: text(api), stream: text(stream) };
}

const dataSchema = z.object({
  logicalTimestampMs: z.number().optional(),
  data: z.array(z.object({ tsId: z.string(), value: z.number().nullable() })),
});
const controlSchema = z.object({ event: z.string(), abortInfo: z.unknown().optional() });
const errorSchema = z.object({ errors: z.array(z.unknown()) });

/** Reads SignalFlow SSE events: the last value of each time series, or why there is none. */
export class SignalFlowResult {
  readonly #last = new Map<string, number | null>();
  #problem: string | undefined;
  ended = false;

  add(event: EventSourceMessage): void {
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return;
    }
    if (event.event === 'data') {
      const parsed = dataSchema.safeParse(payload);
      if (!parsed.success) return;
      for (const point of parsed.data.data) {
        // A null is a gap: it keeps the series' last value, and counts only when it has none.
        if (point.value !== null) this.#last.set(point.tsId, point.value);
        else if (!this.#last.has(point.tsId)) this.#last.set(point.tsId, null);
      }
    } else if (event.event === 'error') {
      const parsed = errorSchema.safeParse(payload);
      this.#problem = parsed.success ? JSON.stringify(parsed.data.errors) : event.data;
      this.ended = true;
    } else if (event.event === 'control-message') {
      const parsed = controlSchema.safeParse(payload);
      if (parsed.success && parsed.data.event === 'END_OF_CHANNEL') this.ended = true;
      if (parsed.success && parsed.data.event === 'CHANNEL_ABORT') {
        this.#problem = `computation aborted: ${JSON.stringify(parsed.data.abortInfo ?? {})}`;
        this.ended = true;
      }
    }
  }

  value(query: string): MetricValue {
    const context = { provider: 'splunk', query };
    if (this.#problem !== undefined) {
      throw new MetricError('query', {
        ...context,
        message: `splunk rejected the program: ${excerpt(this.#problem)}: ${query}`,
      });
    }
    const values = [...this.#last.values()].filter((value): value is number => value !== null);
    return toMetricValue(values, context);
  }
}

/** Feeds an SSE text (whole or in chunks) into a result. */
export function readSignalFlow(chunks: Iterable<string>): SignalFlowResult {
  const result = new SignalFlowResult();
  const parser = createParser({ onEvent: (event) => result.add(event) });
  for (const chunk of chunks) parser.feed(chunk);
  return result;
}

const insecureAgent = new Agent({ rejectUnauthorized: false });

export function createSplunkProvider(config: SplunkConfig): MetricProvider {
  const { api, stream } = signalFxEndpoints(config.address ?? '');
  const { now, lookbackMs } = lookbackWindow(config);

  async function execute(program: string, options: QueryOptions | undefined): Promise<MetricValue> {
    const context = { provider: 'splunk', query: program };
    const stop = now();
    const url = `${stream}/v2/signalflow/execute`;
    const { signal, timeoutMs } = querySignal(options);
    const result = new SignalFlowResult();
    const parser = createParser({ onEvent: (event) => result.add(event) });
    const got = await loadGot();
    const request = got.stream.post(url, {
      searchParams: { start: String(stop - lookbackMs), stop: String(stop), immediate: 'true' },
      headers: { 'X-SF-Token': config.token, 'Content-Type': 'text/plain', Accept: 'text/event-stream' },
      body: program,
      signal,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      ...(config.insecureSkipVerify ? { agent: { https: insecureAgent } } : {}),
    });
    let status = 0;
    let errorBody = '';
    try {
      request.on('response', (response: { statusCode: number }) => {
        status = response.statusCode;
      });
      for await (const chunk of request) {
        const text = (chunk as Buffer).toString('utf8');
        if (status < 200 || status > 299) {
          errorBody += text;
          continue;
        }
        parser.feed(text);
        // The computation is over; the server may keep the stream open a while.
        if (result.ended) {
          request.destroy();
          break;
        }
      }
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
      if (signal.aborted || code === 'ETIMEDOUT' || code === 'ERR_ABORTED') {
        throw new MetricError('timeout', {
          ...context,
          cause: error,
          message: `splunk at ${new URL(url).host} did not finish the program within ${timeoutMs}ms: ${program}`,
        });
      }
      throw new MetricError('http', {
        ...context,
        cause: error,
        message: `splunk at ${new URL(url).host} is unreachable (${code || String(error)}): ${program}`,
      });
    }
    if (status < 200 || status > 299) {
      throw httpStatusError({ status, body: errorBody }, { ...context, url, detail: messageOf(errorBody) });
    }
    return result.value(program);
  }

  return {
    type: 'splunk',
    // SignalFlow is line-oriented (one statement a line): sent as written.
    runQuery: (rawQuery, options) => execute(rawQuery.trim(), options),
    isOnline: (options) =>
      probe(() =>
        jsonCall(
          {
            url: `${api}/v2/metric`,
            headers: { 'X-SF-Token': config.token, Accept: 'application/json' },
            searchParams: { limit: '1' },
            insecureSkipVerify: config.insecureSkipVerify,
          },
          { provider: 'splunk', query: 'GET /v2/metric?limit=1' },
          options,
          messageOf,
        ),
      ),
  };
}

const messageSchema = z.object({ message: z.string() });
const messageOf = errorDetail(messageSchema, (error) => error.message);
