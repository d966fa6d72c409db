import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** /metrics, /healthz (the process is alive) and /readyz (informers synced). */
export function startHttpServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => boolean;
}): Promise<Server> {
  const server = createServer((req, res) => {
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
