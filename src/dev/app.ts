// The demo app the local runtime runs for every Ready pod of a demo Deployment: a tiny
// podinfo-like HTTP server whose error rate and latency come from its environment, so a
// "bad release" is nothing more than a pod-template (or ConfigMap) change.
//
// Run directly: `node src/dev/app.ts` (PORT=8080 ERROR_RATE=0.2 VERSION=2.0.0 …).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { isEntryPoint } from '../entry-point.ts';

export interface AppConfig {
  port: number;
  /** Fraction (0–1) of answers that are 500s. */
  errorRate: number;
  /** Delay added to every answer. */
  latencyMs: number;
  /** Up to this much more, uniformly random. */
  latencyJitterMs: number;
  version: string;
  /** /readyz answers 503 until this long after start. */
  readyDelayMs: number;
  hostname: string;
  message: string;
}

/** Thrown when an environment variable has a value the app cannot use; names it. */
export class AppConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppConfigError';
  }
}

function numberVar(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  max: number,
): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new AppConfigError(`${name}: "${text}" is not a number between 0 and ${max}`);
  }
  return value;
}

/**
 * Reads the app's settings from its environment; throws AppConfigError naming the variable.
 * Checked by hand rather than with zod: importing zod costs every app process ~18 MB.
 */
export function parseAppConfig(env: Record<string, string | undefined>): AppConfig {
  const port = numberVar(env, 'PORT', 8080, 65535);
  if (!Number.isInteger(port)) throw new AppConfigError(`PORT: "${env.PORT}" is not a whole number`);
  return {
    port,
    errorRate: numberVar(env, 'ERROR_RATE', 0, 1),
    latencyMs: numberVar(env, 'LATENCY_MS', 0, 600_000),
    latencyJitterMs: numberVar(env, 'LATENCY_JITTER_MS', 0, 600_000),
    version: env.VERSION || 'unknown',
    readyDelayMs: numberVar(env, 'READY_DELAY_MS', 0, 3_600_000),
    hostname: env.HOSTNAME || 'localhost',
    message: env.MESSAGE || 'greetings from the Sluice demo app',
  };
}

/** Probe and scrape paths: answered at once, never failed, never counted in the metrics. */
const PLUMBING = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The `path` label: fixed paths as they are, `/status/<code>` as one series, anything else
 * by its first segment, so a client walking random URLs cannot grow the series without bound.
 */
export function pathLabel(pathname: string): string {
  if (pathname === '/' || PLUMBING.has(pathname)) return pathname;
  if (/^\/status\/\d{3}$/.test(pathname)) return '/status/:code';
  const first = pathname.split('/')[1] ?? '';
  return `/${first.slice(0, 32)}`;
}

export interface AppAnswer {
  status: number;
  body: Record<string, unknown>;
  delayMs: number;
}

/**
 * What the app answers to a business request (not a probe): the injected failure with
 * probability errorRate, `/status/<code>` with that code, else the version document.
 */
export function answer(config: AppConfig, pathname: string, random: () => number): AppAnswer {
  const delayMs = config.latencyMs + (config.latencyJitterMs > 0 ? random() * config.latencyJitterMs : 0);
  const identity = { version: config.version, hostname: config.hostname };
  if (config.errorRate > 0 && random() < config.errorRate) {
    return { status: 500, body: { ...identity, error: 'injected failure (ERROR_RATE)' }, delayMs };
  }
  const status = /^\/status\/(\d{3})$/.exec(pathname);
  if (status) {
    const code = Number(status[1]);
    if (code >= 200 && code <= 599) return { status: code, body: { ...identity, status: code }, delayMs };
  }
  return { status: 200, body: { ...identity, message: config.message, path: pathname }, delayMs };
}

export interface AppDeps {
  now?: () => number;
  random?: () => number;
}

export interface RunningApp {
  port: number;
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Starts the demo app on 127.0.0.1:config.port (0 = any free port). */
export async function startApp(config: AppConfig, deps: AppDeps = {}): Promise<RunningApp> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const startedAt = now();
  const registry = new Registry();
  const labelNames = ['method', 'path', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, path and status (probes and scrapes excluded)',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, path and status (probes and scrapes excluded)',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const send = (res: ServerResponse, status: number, body: unknown, contentType = 'application/json') => {
    const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-app-version': config.version,
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const begun = performance.now();
    const pathname = new URL(req.url ?? '/', 'http://app').pathname;
    if (pathname === '/healthz') return send(res, 200, { status: 'ok' });
    if (pathname === '/readyz') {
      const ready = now() - startedAt >= config.readyDelayMs;
      return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting' });
    }
    if (pathname === '/metrics') return send(res, 200, await registry.metrics(), registry.contentType);
    // Drain the request body so keep-alive connections stay usable.
    req.resume();
    const result = answer(config, pathname, random);
    if (result.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, result.delayMs));
    send(res, result.status, result.body);
    const labels = { method: req.method ?? 'GET', path: pathLabel(pathname), status: String(result.status) };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - begun) / 1000);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The process entry: configuration from the environment, stop on SIGTERM or when the runtime goes. */
export async function runApp(): Promise<void> {
  const config = parseAppConfig(process.env);
  process.title = `sluice-demo-app ${config.hostname}`;
  const app = await startApp(config);
  process.stdout.write(
    `${JSON.stringify({ msg: 'demo app listening', url: app.url, version: config.version })}\n`,
  );
  // The runtime starts the app with PORT=0 and learns the port it got over IPC (no port races).
  process.send?.({ type: 'listening', port: app.port });
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Started by the runtime with an IPC channel: when the runtime goes away (even killed),
  // the channel closes and the app follows instead of lingering on its port.
  if (process.send) process.once('disconnect', stop);
}

if (isEntryPoint(import.meta.url)) {
  runApp().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
