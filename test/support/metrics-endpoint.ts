import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// A Prometheus scrape target on loopback for series computed at scrape time (the test and
// benchmark exporters): GET /metrics answers render(), anything else 404.

export interface MetricsEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(render: () => string): Promise<MetricsEndpoint> {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/metrics')) {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      response.end(render());
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
