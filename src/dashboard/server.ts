import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiErrorMessage, statusCode, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { EventRecorder } from '../notify/events.ts';
import { VERSION } from '../version.ts';
import { bearerToken, reviewAccess, whoAmI } from './access.ts';
import { requestCommand } from './actions.ts';
import {
  DASHBOARD_COMMANDS,
  type Access,
  type CanaryDetail,
  type DashboardCommand,
  type DashboardConfig,
  type StreamMessage,
} from './api.ts';
import { filterSummaries } from './order.ts';
import { analysisEntries, mergeTimeline, metricLimits, parsedSpec, summarize } from './model.ts';
import { mergeHistory, prometheusHistory } from './prometheus.ts';
import { DashboardStore } from './store.ts';

export interface DashboardOptions {
  kube: Kube;
  log: Logger;
  /** Watch these namespaces (default: all the identity may list). */
  namespaces?: string[] | undefined;
  readOnly: boolean;
  /** `kubeconfig`: buttons act as the dashboard's identity; `token`: each press is reviewed (controller). */
  auth: 'kubeconfig' | 'token';
  prometheusUrl?: string | undefined;
  /** The built front end (index.html and assets/); found next to the package by default. */
  webDir?: string;
  /** Heartbeat of the live stream, so proxies keep it open. */
  heartbeatMs?: number;
}

export interface Dashboard {
  /** Serves a dashboard request; false when the path is not the dashboard's. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  store: DashboardStore;
  stop(): Promise<void>;
}

/** Where `npm run build` put the bundle: dist/web beside src/ or dist/. */
export function defaultWebDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, '..', 'web'), join(here, '..', '..', 'dist', 'web')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[1]!;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

// Everything the page loads comes from this server: no inline script, no CDN.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const MAX_BODY = 16 * 1024;

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, message: string): void {
  send(response, status, { error: message });
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A write from another site's page (CSRF) carries its own Origin; refuse it. */
function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

const segment = (value: string | undefined) => {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
};

/** Starts the watches and returns the request handler (mounted by `sluice dashboard` or the controller). */
export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { kube, log } = options;
  const store = new DashboardStore({ kube, log, namespaces: options.namespaces });
  await store.start();
  const events = new EventRecorder({ kube, component: 'sluice-dashboard', logger: log });
  const webDir = options.webDir ?? defaultWebDir();
  const assets = new Map<string, string>();
  for (const name of await readdir(join(webDir, 'assets')).catch(() => [] as string[])) {
    assets.set(`/assets/${name}`, join(webDir, 'assets', name));
  }
  const index = await readFile(join(webDir, 'index.html'), 'utf8').catch(() => undefined);
  if (!index)
    log.warn({ webDir }, 'the dashboard bundle is missing (npm run build); only the JSON API is served');
  const identity = options.auth === 'kubeconfig' ? ((await whoAmI(kube)) ?? 'the dashboard user') : undefined;
  const streams = new Set<ServerResponse>();
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  const config: DashboardConfig = {
    readOnly: options.readOnly,
    auth: options.auth,
    namespaces: options.namespaces?.length ? options.namespaces : null,
    version: VERSION,
  };

  async function detail(namespace: string, name: string): Promise<CanaryDetail | undefined> {
    const canary = store.canary(namespace, name);
    if (!canary) return undefined;
    const key = `${namespace}/${name}`;
    const status = canary.status ?? {};
    const now = Date.now();
    let weights = store.history.weights(key);
    let metrics = store.history.metrics(key);
    let historySince = store.history.startedAt;
    if (options.prometheusUrl) {
      const since = now - 3 * 3600_000;
      try {
        const before = await prometheusHistory(
          { url: options.prometheusUrl },
          { namespace, name },
          since,
          now,
        );
        weights = mergeHistory(before.weights, weights);
        const names = new Set([...Object.keys(before.metrics), ...Object.keys(metrics)]);
        metrics = Object.fromEntries(
          [...names].map((metric) => [
            metric,
            mergeHistory(before.metrics[metric] ?? [], metrics[metric] ?? []),
          ]),
        );
        historySince = Math.min(historySince, weights[0]?.at ?? historySince);
      } catch (error) {
        log.debug({ err: error, canary: key }, 'prometheus history unavailable');
      }
    }
    const str = (value: unknown) => (typeof value === 'string' ? value : null);
    const last = status.lastCommand as CanaryDetail['lastCommand'] | undefined;
    return {
      summary: summarize(canary),
      analysis: analysisEntries(status),
      weights,
      metrics,
      limits: metricLimits(canary),
      timeline: mergeTimeline(store.events(namespace, name), store.history.observed(key)).slice(-200),
      revisions: {
        canary: str(status.lastAppliedSpec),
        primary:
          str((status.machine as { primaryRevision?: unknown } | undefined)?.primaryRevision) ??
          str(status.lastPromotedSpec),
        lastPromoted: str(status.lastPromotedSpec),
      },
      lastCommand: last && typeof last.id === 'string' ? last : null,
      interval: parsedSpec(canary)?.analysis.interval ?? '60s',
      historySince,
    };
  }

  async function access(request: IncomingMessage, namespace: string, name: string): Promise<Access> {
    if (options.readOnly) return { allowed: false, reason: 'this dashboard is read-only (--read-only)' };
    if (options.auth === 'kubeconfig') {
      return { allowed: true, reason: '', ...(identity ? { user: identity } : {}) };
    }
    return reviewAccess(kube, bearerToken(request.headers.authorization), { namespace, name });
  }

  async function command(
    request: IncomingMessage,
    response: ServerResponse,
    namespace: string,
    name: string,
    verb: DashboardCommand,
  ): Promise<void> {
    if (!sameOrigin(request)) return sendError(response, 403, 'cross-site request refused');
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendError(response, 415, 'commands are POSTed as application/json');
    }
    await readBody(request);
    if (!store.canary(namespace, name))
      return sendError(response, 404, `canary ${namespace}/${name} not found`);
    const allowed = await access(request, namespace, name);
    if (!allowed.allowed) return sendError(response, options.readOnly ? 405 : 403, allowed.reason);
    const actor = allowed.user ?? identity ?? 'the dashboard user';
    try {
      const id = await requestCommand({ kube, events }, { namespace, name }, verb, {
        actor,
        via: 'dashboard',
      });
      send(response, 202, { id, message: `${verb} requested for canary ${namespace}/${name} by ${actor}` });
    } catch (error) {
      const status = statusCode(error);
      sendError(
        response,
        status === 403 ? 403 : 502,
        `${verb} for canary ${namespace}/${name} failed: ${error instanceof Error ? error.message : apiErrorMessage(error)}`,
      );
    }
  }

  function stream(request: IncomingMessage, response: ServerResponse, namespace: string | undefined): void {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    const write = (message: StreamMessage) => {
      const key = message.type === 'canary' ? message.summary.key : message.key;
      if (namespace && !key.startsWith(`${namespace}/`)) return;
      response.write(`data: ${JSON.stringify(message)}\n\n`);
    };
    const unsubscribe = store.subscribe(write);
    streams.add(response);
    request.on('close', () => {
      unsubscribe();
      streams.delete(response);
    });
  }

  async function api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').slice(3).map(segment);
    if (parts.some((p) => p === undefined)) return sendError(response, 400, 'malformed path');
    const [namespace, name, action, extra] = parts as string[];
    const method = request.method ?? 'GET';
    if (url.pathname === '/api/config') return send(response, 200, config);
    if (url.pathname === '/api/stream')
      return stream(request, response, url.searchParams.get('namespace') ?? undefined);
    if (!url.pathname.startsWith('/api/canaries'))
      return sendError(response, 404, `no API at ${url.pathname}`);
    if (namespace === undefined || namespace === '') {
      if (method !== 'GET') return sendError(response, 405, 'the canary list is read with GET');
      const filter = {
        ...(url.searchParams.get('namespace') ? { namespace: url.searchParams.get('namespace')! } : {}),
        ...(url.searchParams.get('phase') ? { phase: url.searchParams.get('phase')! } : {}),
      };
      return send(response, 200, { items: filterSummaries(store.summaries(), filter) });
    }
    if (!name || extra !== undefined) return sendError(response, 404, `no API at ${url.pathname}`);
    if (action === undefined) {
      if (method !== 'GET') return sendError(response, 405, 'a canary is read with GET');
      const found = await detail(namespace, name);
      return found
        ? send(response, 200, found)
        : sendError(response, 404, `canary ${namespace}/${name} not found`);
    }
    if (action === 'access' && method === 'GET')
      return send(response, 200, await access(request, namespace, name));
    if ((DASHBOARD_COMMANDS as readonly string[]).includes(action)) {
      if (method !== 'POST') return sendError(response, 405, `${action} is POSTed`);
      return command(request, response, namespace, name, action as DashboardCommand);
    }
    return sendError(response, 404, `no action ${action}; expected one of ${DASHBOARD_COMMANDS.join(', ')}`);
  }

  async function page(response: ServerResponse, path: string): Promise<void> {
    const asset = assets.get(path);
    if (asset) {
      const body = await readFile(asset);
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': TYPES[extname(asset)] ?? 'application/octet-stream',
        // File names carry a content hash: they never change.
        'cache-control': 'public, max-age=31536000, immutable',
      });
      response.end(body);
      return;
    }
    if (path === '/' || path === '/index.html' || /^\/canaries\/[^/]+\/[^/]+\/?$/.test(path)) {
      if (!index) return sendError(response, 503, 'the dashboard bundle is missing: run npm run build');
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
      });
      response.end(index);
      return;
    }
    sendError(response, 404, `not found: ${path}`);
  }

  return {
    store,
    handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
      const path = url.pathname;
      const mine =
        path === '/' ||
        path.startsWith('/api/') ||
        path.startsWith('/assets/') ||
        path.startsWith('/canaries/') ||
        path === '/index.html';
      if (!mine) return false;
      const work = path.startsWith('/api/') ? api(request, response, url) : page(response, path);
      work.catch((error: unknown) => {
        log.warn({ err: error, path }, 'dashboard request failed');
        if (!response.headersSent)
          sendError(response, 500, error instanceof Error ? error.message : String(error));
        else response.end();
      });
      return true;
    },
    async stop() {
      clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
      await store.stop();
    },
  };
}

export interface ServedDashboard {
  dashboard: Dashboard;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** The dashboard on its own HTTP server (`sluice dashboard`, the controller's --dashboard-address). */
export async function serveDashboard(
  options: DashboardOptions & {
    port: number;
    host: string;
    extra?: (req: IncomingMessage, res: ServerResponse) => boolean;
  },
): Promise<ServedDashboard> {
  const dashboard = await createDashboard(options);
  const server = createServer((request, response) => {
    if ((request.url ?? '').split('?')[0] === '/healthz') {
      response
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(dashboard.store.synced ? 'ok' : 'syncing');
      return;
    }
    if (dashboard.handle(request, response)) return;
    if (options.extra?.(request, response)) return;
    sendError(response, 404, 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':')
    ? `[${options.host}]`
    : options.host === '0.0.0.0'
      ? '127.0.0.1'
      : options.host;
  return {
    dashboard,
    server,
    url: `http://${host}:${port}/`,
    async stop() {
      await dashboard.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
