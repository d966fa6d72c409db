import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { IDEMPOTENCY_KEY_HEADER } from '../../src/hooks/idempotency.ts';
import { listenOnLoopback } from '../../test/support/loopback.ts';
import { createSlackApiEmulation, type SlackApiEmulation } from './slack-api.ts';

// The chaos scenarios' one receiver on loopback for everything the controller sends out:
// the canaries' webhooks (/hook/<type>/<namespace>/<name>), the confirm-promotion gate
// (/gate/<namespace>/<name>, opens a while after its first call for a revision), the global
// event webhook (/events), the global Slack webhook (/slack) and Slack's Web API (/api:
// chat.postMessage and conversations.history, slack-api.ts). It records every call (a message
// posted through the Web API as a Slack call; history reads are no side effect) so the
// invariant checker can count side effects, and can be told to misbehave (down, hang, 500,
// garbage) per kind of call, for the outage scenario.

const Payload = z.object({
  name: z.string(),
  namespace: z.string(),
  phase: z.string().optional(),
  checksum: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

const SlackPayload = z.object({
  text: z.string().optional(),
  blocks: z.array(z.object({ text: z.object({ text: z.string() }).optional() })).optional(),
});

export type CallKind = 'hook' | 'gate' | 'event' | 'slack';

export interface ReceivedCall {
  at: number;
  kind: CallKind;
  /** The webhook type for hooks; `confirm-promotion` for the gate; the event's message for events. */
  what: string;
  namespace: string;
  name: string;
  checksum: string;
  /** What Slack said, for Slack messages (the canary's name is in it). */
  text?: string;
  /** The call's idempotency key (header), when it had one: a repeat of a call has the same. */
  key?: string;
}

/** How the receiver answers one kind of call. `down` closes the connection unanswered. */
export type Behaviour = 'ok' | 'down' | 'hang' | 'error' | 'garbage';

/** The bot token and channel ID the receiver's Slack Web API takes. */
export const RECEIVER_SLACK_TOKEN = 'xoxb-chaos-receiver';
export const RECEIVER_SLACK_CHANNEL = 'C0CHAOS0001';

export interface Receiver {
  url: string;
  /** Slack's Web API behind `${url}/api` (chat.postMessage's URL: `${url}/api/chat.postMessage`). */
  slackApi: SlackApiEmulation;
  calls: ReceivedCall[];
  /** Changes how calls of one kind are answered from now on. */
  misbehave(kind: CallKind, behaviour: Behaviour): void;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** The confirm-promotion gate opens this long after its first call for a revision. */
  gateOpensAfterMs?: number;
  onCall?: (call: ReceivedCall) => void;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const calls: ReceivedCall[] = [];
  const behaviours = new Map<CallKind, Behaviour>();
  const gateFirstCall = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const gateDelay = options.gateOpensAfterMs ?? 8000;
  const slackApi = createSlackApiEmulation({ token: RECEIVER_SLACK_TOKEN });

  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const path = request.url ?? '/';
      const [, head = '', ...rest] = path.split('?')[0]!.split('/');
      const kind: CallKind | undefined =
        head === 'hook'
          ? 'hook'
          : head === 'gate'
            ? 'gate'
            : head === 'events'
              ? 'event'
              : head === 'slack' || head === 'api'
                ? 'slack'
                : undefined;
      if (!kind) {
        response.writeHead(404).end();
        return;
      }
      const behaviour = behaviours.get(kind) ?? 'ok';
      if (behaviour === 'down') {
        request.socket.destroy();
        return;
      }
      const json = parseJson(body);
      let call: ReceivedCall | undefined;
      let answer: { status: number; body: string } | undefined;
      if (head === 'api') {
        // Answered after the behaviour below, so a hang or 500 stores nothing: as Slack down.
        if (behaviour === 'ok') {
          const api = slackApi.handle({ path: path.slice('/api'.length), headers: request.headers, body });
          answer = api;
          if (api.posted) {
            const text = api.posted.headline;
            call = { at: Date.now(), kind, what: 'slack', namespace: '', name: '', checksum: '', text };
          }
        }
      } else if (kind === 'slack') {
        const slack = SlackPayload.safeParse(json);
        const text = slack.success ? (slack.data.blocks?.[0]?.text?.text ?? slack.data.text ?? '') : '';
        call = { at: Date.now(), kind, what: 'slack', namespace: '', name: '', checksum: '', text };
      } else {
        const payload = Payload.safeParse(json);
        if (payload.success) {
          const { name, namespace } = payload.data;
          const what =
            kind === 'hook'
              ? (rest[0] ?? '')
              : kind === 'gate'
                ? 'confirm-promotion'
                : (payload.data.metadata?.eventMessage ?? '');
          const header = request.headers[IDEMPOTENCY_KEY_HEADER];
          call = {
            at: Date.now(),
            kind,
            what,
            namespace,
            name,
            checksum: payload.data.checksum ?? '',
            ...(typeof header === 'string' && header ? { key: header } : {}),
          };
        }
      }
      if (call) {
        calls.push(call);
        options.onCall?.(call);
      }
      switch (behaviour) {
        case 'hang':
          hanging.add(response);
          return;
        case 'error':
          response.writeHead(500, { 'content-type': 'text/plain' }).end('chaos: internal error');
          return;
        case 'garbage':
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": tru\u0000\u00ff<html>');
          return;
        default:
      }
      if (answer) {
        response
          .writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' })
          .end(answer.body);
        return;
      }
      if (kind === 'gate' && call) {
        const key = `${call.namespace}/${call.name}/${call.checksum}`;
        const first = gateFirstCall.get(key) ?? call.at;
        gateFirstCall.set(key, first);
        if (call.at - first < gateDelay) {
          response.writeHead(403, { 'content-type': 'text/plain' }).end('gate closed');
          return;
        }
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    })().catch(() => response.destroy());
  });
  server.keepAliveTimeout = 1000;
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    slackApi,
    calls,
    misbehave(kind, behaviour) {
      behaviours.set(kind, behaviour);
      if (behaviour !== 'hang') {
        for (const response of hanging) response.destroy();
        hanging.clear();
      }
    },
    close: () => {
      for (const response of hanging) response.destroy();
      return close();
    },
  };
}
