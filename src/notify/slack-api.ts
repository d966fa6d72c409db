import { z } from 'zod';
import { redact } from '../hooks/webhook.ts';
import type { NotifierConfig, NotifierDeps } from './config.ts';
import { NotifyError, postForAnswer, type PostOptions } from './http.ts';
import type { Notification, Notifier, PostContext } from './notifier.ts';

// Slack's Web API (docs/decisions/0026-side-effects-once.md): a bot token posts with
// chat.postMessage and the message carries its outbox key as message metadata, so a
// controller that replays a pending message can first read the channel's history
// (conversations.history with include_all_metadata) and skip one that is already there.
// Slack answers errors as HTTP 200 with {ok: false, error}.

/** The Web API's chat.postMessage, where a token with no address posts. */
export const SLACK_POST_MESSAGE_URL = 'https://slack.com/api/chat.postMessage';
const POST_MESSAGE_PATH = '/chat.postMessage';
/** The metadata event type on Sluice's messages (Slack asks for alphanumerics and underscores). */
export const SLACK_METADATA_EVENT = 'sluice_announcement';
/** Messages are looked for from this long before the Event was created: the clocks differ. */
export const LOOKUP_MARGIN_MS = 60_000;
/** One history page, and how many pages a lookup reads at most (1000 messages). */
export const LOOKUP_PAGE_LIMIT = 200;
export const LOOKUP_MAX_PAGES = 5;
/** conversations.history takes a conversation ID only (C…, G… or D…), never a #name. */
const CONVERSATION_ID = /^[CGD][A-Z0-9]{8,}$/;

/** Whether an address names the Web API's chat.postMessage (Flagger's way to ask for it). */
export function isWebApiUrl(url: string): boolean {
  try {
    return new URL(url).pathname.endsWith(POST_MESSAGE_PATH);
  } catch {
    return false;
  }
}

const SlackAnswer = z.object({ ok: z.boolean(), error: z.string().optional() });

const HistoryPage = z.object({
  messages: z.array(
    z.object({
      metadata: z
        .object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() })
        .optional(),
    }),
  ),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

/** What chat.postMessage is sent: the webhook's message, the channel, and the key as metadata. */
export function slackApiPayload<T extends object>(message: T, channel: string, context?: PostContext) {
  return {
    ...message,
    channel,
    ...(context
      ? { metadata: { event_type: SLACK_METADATA_EVENT, event_payload: { key: context.key } } }
      : {}),
  };
}

/**
 * The Web API mode of the slack notifier. `config.url` is chat.postMessage's URL (Slack's, or
 * a stand-in's); conversations.history is its sibling. Lookups need the channel's ID.
 */
export function createSlackApiNotifier(
  config: NotifierConfig & { token: string },
  url: string,
  message: (notification: Notification) => object,
  deps: NotifierDeps = {},
): Notifier {
  const channel = config.channel;
  if (!channel) {
    throw new Error(
      `notifier ${config.name}: a Slack token posts with the Web API (chat.postMessage), which needs a channel: set spec.channel (--slack-channel for the global notifier)`,
    );
  }
  const historyUrl = `${url.slice(0, url.length - POST_MESSAGE_PATH.length)}/conversations.history`;
  const options: PostOptions = { provider: config.name, token: config.token, ...deps };
  const secrets = [url, config.token];

  /** One Web API call; {ok: false} is a NotifyError naming the method and Slack's error. */
  async function call(method: string, target: string, body: string, contentType: string): Promise<unknown> {
    const text = await postForAnswer(target, body, contentType, options);
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    const answer = SlackAnswer.safeParse(json);
    if (!answer.success)
      throw new NotifyError(config.name, `${method} answered something other than Slack's JSON`);
    if (!answer.data.ok) {
      const error = redact(answer.data.error ?? 'no error named', secrets);
      throw new NotifyError(config.name, `${method} answered ok: false (${error})`);
    }
    return json;
  }

  const notifier: Notifier = {
    name: config.name,
    post: async (notification, context) => {
      const payload = slackApiPayload(message(notification), channel, context);
      await call('chat.postMessage', url, JSON.stringify(payload), 'application/json; charset=utf-8');
    },
  };
  if (!CONVERSATION_ID.test(channel)) return notifier;
  notifier.findPosted = async (key, since) => {
    const oldest = (Math.max(0, since - LOOKUP_MARGIN_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < LOOKUP_MAX_PAGES; page += 1) {
      const form = new URLSearchParams({
        channel,
        include_all_metadata: 'true',
        oldest,
        limit: String(LOOKUP_PAGE_LIMIT),
        ...(cursor ? { cursor } : {}),
      });
      const answer = HistoryPage.safeParse(
        await call('conversations.history', historyUrl, form.toString(), 'application/x-www-form-urlencoded'),
      );
      if (!answer.success) {
        throw new NotifyError(config.name, 'conversations.history answered without a messages list');
      }
      const found = answer.data.messages.some(
        (m) => m.metadata?.event_type === SLACK_METADATA_EVENT && m.metadata.event_payload?.key === key,
      );
      if (found) return true;
      cursor = answer.data.response_metadata?.next_cursor;
      if (!answer.data.has_more || !cursor) return false;
    }
    throw new NotifyError(
      config.name,
      `conversations.history: not among the ${LOOKUP_MAX_PAGES * LOOKUP_PAGE_LIMIT} newest messages and more remain; not known whether it was posted`,
    );
  };
  return notifier;
}
