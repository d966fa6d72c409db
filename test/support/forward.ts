import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';

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
