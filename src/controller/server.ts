import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** Serves a request of its own (e.g. Slack's callbacks) and returns true, or returns false. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** /metrics, /healthz (the process is alive), /readyz (informers synced) and any `handlers`. */
export function startHttpServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => boolean;
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
      const ready = options.ready();
      res.statusCode = ready ? 200 : 503;
      res.end(ready ? 'ok' : 'informers not synced');
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve(server));
  });
}
