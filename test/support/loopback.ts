import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';

// Loopback servers in tests and benches: listening on a free port, and passing requests on.

export interface Listening {
  url: string;
  port: number;
  /** Drops the open connections and resolves once the server is closed. */
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1. */
export async function listenOnLoopback(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Passes `request` on to `upstream` (http or https, as its URL says) and the answer back, as
 * a loopback proxy in front of a real server does. `tls`: the client's credentials for an https
 * upstream; `body`: the request's body when the proxy has read it already (else it is piped).
 * An upstream that fails drops the client's connection.
 */
export function forwardRequest(
  upstream: URL,
  request: IncomingMessage,
  response: ServerResponse,
  options: { tls?: Pick<RequestOptions, 'ca' | 'cert' | 'key'>; body?: Buffer } = {},
): void {
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const outgoing = send(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: { ...request.headers, host: upstream.host },
      ...options.tls,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  outgoing.on('error', () => response.destroy());
  if (options.body === undefined) request.pipe(outgoing);
  else outgoing.end(options.body);
}
