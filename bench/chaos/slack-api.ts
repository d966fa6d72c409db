import { z } from 'zod';

// A small stand-in for Slack's Web API on loopback, in its documented shapes: chat.postMessage
// (a bearer token, JSON body; answers {ok, channel, ts, message}) and conversations.history
// (form or query parameters; newest first, `oldest` exclusive, `limit`, an opaque `cursor`,
// message metadata only with include_all_metadata). Errors are HTTP 200 with {ok: false, error},
// as Slack answers them. The chaos receiver serves it under /api, and the notifier's unit tests
// call `handle` as their transport.

export interface SlackApiMessage {
  channel: string;
  ts: string;
  text: string;
  /** The first block's text, where Sluice puts its headline. */
  headline: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface SlackApiRequest {
  /** The path after the API base, with its query: `/chat.postMessage`, `/conversations.history?…`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SlackApiAnswer {
  status: number;
  body: string;
  /** Set when chat.postMessage stored a message. */
  posted?: SlackApiMessage;
}

export interface SlackApiEmulation {
  readonly token: string;
  readonly messages: SlackApiMessage[];
  /** How many conversations.history calls were answered (a controller looking a message up). */
  readonly lookups: number;
  handle(request: SlackApiRequest): SlackApiAnswer;
}

const PostMessage = z.object({
  channel: z.string().min(1),
  text: z.string().optional(),
  blocks: z.array(z.object({ text: z.object({ text: z.string() }).optional() })).optional(),
  metadata: z
    .object({ event_type: z.string().min(1), event_payload: z.record(z.string(), z.unknown()) })
    .optional(),
});

/** Slack's maximum for conversations.history's limit; its default is 100. */
const MAX_LIMIT = 999;

function slackError(error: string): SlackApiAnswer {
  return { status: 200, body: JSON.stringify({ ok: false, error }) };
}

/** Request parameters as Slack reads them: the query, then a form or JSON body. */
function parameters(request: SlackApiRequest): Record<string, string> {
  const url = new URL(request.path, 'http://slack.invalid');
  const out: Record<string, string> = Object.fromEntries(url.searchParams);
  const type = String(request.headers['content-type'] ?? '');
  if (type.startsWith('application/x-www-form-urlencoded')) {
    Object.assign(out, Object.fromEntries(new URLSearchParams(request.body)));
  } else if (type.startsWith('application/json') && request.body) {
    try {
      const json = JSON.parse(request.body) as Record<string, unknown>;
      for (const [key, value] of Object.entries(json)) if (value !== undefined) out[key] = String(value);
    } catch {
      // Slack answers invalid_json for a broken body; parameters stay as they are.
    }
  }
  return out;
}

export function createSlackApiEmulation(options: { token: string }): SlackApiEmulation {
  const messages: SlackApiMessage[] = [];
  let clock = 0;

  /** Slack's message ts: seconds with six decimals, unique in a channel. */
  function nextTs(): string {
    const now = Math.max(Date.now() * 1000, clock + 1);
    clock = now;
    return `${Math.floor(now / 1e6)}.${String(now % 1e6).padStart(6, '0')}`;
  }

  function authorised(request: SlackApiRequest): string | undefined {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return 'not_authed';
    return header.slice('Bearer '.length) === options.token ? undefined : 'invalid_auth';
  }

  function postMessage(request: SlackApiRequest): SlackApiAnswer {
    let json: unknown;
    try {
      json = JSON.parse(request.body) as unknown;
    } catch {
      return slackError('invalid_json');
    }
    const parsed = PostMessage.safeParse(json);
    if (!parsed.success) {
      const channel = (json as { channel?: unknown } | null)?.channel;
      return slackError(typeof channel === 'string' && channel ? 'invalid_arguments' : 'channel_not_found');
    }
    const { channel, text = '', blocks, metadata } = parsed.data;
    if (!text && !blocks?.length) return slackError('no_text');
    const message: SlackApiMessage = {
      channel,
      ts: nextTs(),
      text,
      headline: blocks?.[0]?.text?.text ?? text,
      ...(metadata ? { metadata } : {}),
    };
    messages.push(message);
    return {
      status: 200,
      posted: message,
      body: JSON.stringify({
        ok: true,
        channel,
        ts: message.ts,
        message: { type: 'message', subtype: 'bot_message', text, ts: message.ts, bot_id: 'B0SLUICE0' },
      }),
    };
  }

  let lookups = 0;

  function history(request: SlackApiRequest): SlackApiAnswer {
    lookups += 1;
    const params = parameters(request);
    if (!params.channel) return slackError('channel_not_found');
    const limit = Math.min(Math.max(Number(params.limit ?? 100) || 100, 1), MAX_LIMIT);
    const oldest = params.oldest === undefined ? 0 : Number(params.oldest);
    const latest = params.latest === undefined ? Infinity : Number(params.latest);
    const inclusive = params.inclusive === 'true' || params.inclusive === '1';
    const withMetadata = params.include_all_metadata === 'true' || params.include_all_metadata === '1';
    let offset = 0;
    if (params.cursor) {
      const decoded = Number(
        Buffer.from(params.cursor, 'base64')
          .toString('utf8')
          .replace(/^offset:/, ''),
      );
      if (!Number.isInteger(decoded) || decoded < 0) return slackError('invalid_cursor');
      offset = decoded;
    }
    const inRange = messages
      .filter((m) => m.channel === params.channel)
      .filter((m) => {
        const ts = Number(m.ts);
        return (inclusive ? ts >= oldest : ts > oldest) && (inclusive ? ts <= latest : ts < latest);
      })
      .reverse();
    const page = inRange.slice(offset, offset + limit);
    const hasMore = offset + limit < inRange.length;
    return {
      status: 200,
      body: JSON.stringify({
        ok: true,
        messages: page.map((m) => ({
          type: 'message',
          subtype: 'bot_message',
          text: m.text,
          ts: m.ts,
          bot_id: 'B0SLUICE0',
          ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
        })),
        has_more: hasMore,
        pin_count: 0,
        response_metadata: {
          next_cursor: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '',
        },
      }),
    };
  }

  return {
    token: options.token,
    messages,
    get lookups() {
      return lookups;
    },
    handle(request) {
      const method = new URL(request.path, 'http://slack.invalid').pathname.replace(/^\//, '');
      if (method !== 'chat.postMessage' && method !== 'conversations.history') {
        return { status: 404, body: JSON.stringify({ ok: false, error: 'unknown_method' }) };
      }
      const refused = authorised(request);
      if (refused) return slackError(refused);
      return method === 'chat.postMessage' ? postMessage(request) : history(request);
    },
  };
}
