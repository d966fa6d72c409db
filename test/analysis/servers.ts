import type { AnalysisDeps } from '../../src/analysis/evaluate.ts';
import { kubeLookups } from '../../src/analysis/kube.ts';
import { MetricError } from '../../src/analysis/providers/provider.ts';
import { apply } from '../../src/kube/client.ts';
import type { TestNamespace } from '../support/kube.ts';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

// Real HTTP servers on 127.0.0.1 for the provider tests: each records what it was sent.

export interface Received {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface LocalServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export type Handler = (request: Received, response: ServerResponse) => void | Promise<void>;

/** TLS material the harness made for the apiserver (its CA is unknown to Node). */
export async function untrustedTls(stateDir: string): Promise<{ cert: Buffer; key: Buffer }> {
  return {
    cert: await readFile(join(stateDir, 'pki', 'apiserver.crt')),
    key: await readFile(join(stateDir, 'pki', 'apiserver.key')),
  };
}

export async function serve(handler: Handler, tls?: { cert: Buffer; key: Buffer }): Promise<LocalServer> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const listener = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const entry: Received = {
      method: request.method ?? 'GET',
      url: new URL(request.url ?? '/', 'http://127.0.0.1'),
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    received.push(entry);
    try {
      await handler(entry, response);
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  };
  const server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  server.on(tls ? 'secureConnection' : 'connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests (timeout tests) must not keep the server open.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The MetricError a query must fail with; the test fails if it gives a value instead. */
export async function queryFailure(
  provider: { runQuery(query: string, options?: { timeoutMs?: number }): Promise<unknown> },
  query: string,
  timeoutMs?: number,
): Promise<MetricError> {
  try {
    await provider.runQuery(query, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (error) {
    if (error instanceof MetricError) return error;
    throw error;
  }
  throw new Error(`query ${query} did not fail`);
}

/** runAnalysis's deps for Canary `podinfo` in the test namespace, on the real apiserver. */
export function analysisDeps(ns: TestNamespace, queryTimeoutMs: number, service?: string): AnalysisDeps {
  return {
    canary: { name: 'podinfo', namespace: ns.name, target: 'podinfo', ...(service ? { service } : {}) },
    ...kubeLookups(ns.kube),
    queryTimeoutMs,
  };
}

/** Applies MetricTemplate `name` with `spec` in the test namespace. */
export function applyTemplate(ns: TestNamespace, name: string, spec: Record<string, unknown>) {
  return apply(ns.kube, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MetricTemplate',
    metadata: { name, namespace: ns.name },
    spec,
  });
}
