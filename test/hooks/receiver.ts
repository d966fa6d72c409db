import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SlackApiEmulation } from '../../bench/chaos/slack-api.ts';

/** One request a receiver got. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Monotonic ms when the request arrived. */
  at: number;
}

export type Handler = (request: Received, response: ServerResponse) => void | Promise<void>;

export interface Receiver {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  received: Received[];
  /** The received requests for one path, bodies parsed as JSON. */
  json(path: string): unknown[];
  close(): Promise<void>;
}

const ok: Handler = (_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
};

/** A real HTTP(S) server on 127.0.0.1 that records every request and answers with `handler`. */
export async function startReceiver(
  handler: Handler = ok,
  tls?: { key: string; cert: string },
): Promise<Receiver> {
  const received: Received[] = [];
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Received = {
        method: request.method ?? '',
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at,
      };
      received.push(entry);
      Promise.resolve(handler(entry, response)).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  // Hung handlers must not keep the server from closing at the end of a test.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    json: (path) => received.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as unknown),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Serves Slack's Web API stand-in (bench/chaos/slack-api.ts) under /api; anything else gets 200 OK. */
export function slackApiHandler(api: SlackApiEmulation): Handler {
  return (request, response) => {
    if (!request.path.startsWith('/api/')) return ok(request, response);
    const answer = api.handle({
      path: request.path.slice('/api'.length),
      headers: request.headers,
      body: request.body,
    });
    response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' }).end(answer.body);
  };
}
