import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { listenError } from '../startup.ts';

/** Whether the controller is ready, and in words why (or why not): the body of /readyz. */
export interface Readiness {
  ready: boolean;
  message: string;
}

/** Serves a request of its own (e.g. Slack's callbacks) and returns true, or returns false. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * /metrics, /healthz (the process is alive), /readyz (informers synced and leader election
 * working) and any `handlers`. /readyz always says why in its body: leading, standby behind
 * which holder, or what it is waiting for.
 */
export function startHttpServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
  handlers?: readonly HttpHandler[];
}): Promise<Server> {
  const server = createServer((req, res) => {
    if (options.handlers?.some((handle) => handle(req, res))) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.setHeader('content-type', options.registry.contentType);
          res.end(text);
        },
        (error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.end('ok');
      return;
    }
    if (path === '/readyz') {
      const { ready, message } = options.readiness();
      res.statusCode = ready ? 200 : 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${ready ? 'ok' : 'not ready'}: ${message}\n`);
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  const host = options.host ?? '0.0.0.0';
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, options.port, host)));
    server.listen(options.port, host, () => resolve(server));
  });
}
