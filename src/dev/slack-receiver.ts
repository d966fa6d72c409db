import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message as a Slack incoming webhook received it. */
export interface ReceivedMessage {
  at: number;
  /** The plain-text line: the `text` field, markdown stripped. */
  text: string;
  /** The attachment colour (severity), when there is one. */
  color?: string;
  payload: unknown;
}

export interface SlackReceiver {
  url: string;
  messages: ReceivedMessage[];
  stop(): Promise<void>;
}

const unescape = (text: string) =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\*/g, '');

/**
 * A local stand-in for Slack's incoming webhooks (development tooling): accepts the
 * JSON Slack accepts, answers `ok` as Slack does, and keeps each message for the demo
 * to print. Listens on 127.0.0.1 only.
 */
export async function startSlackReceiver(
  options: { port?: number; onMessage?: (message: ReceivedMessage) => void } = {},
): Promise<SlackReceiver> {
  const messages: ReceivedMessage[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        const payload = JSON.parse(body) as {
          text?: string;
          blocks?: { text?: { text?: string } }[];
          attachments?: { color?: string }[];
        };
        const line = payload.blocks?.[0]?.text?.text ?? payload.text ?? '';
        const message: ReceivedMessage = {
          at: Date.now(),
          text: unescape(line),
          ...(payload.attachments?.[0]?.color ? { color: payload.attachments[0].color } : {}),
          payload,
        };
        messages.push(message);
        options.onMessage?.(message);
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } catch {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/local/demo`,
    messages,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
