import { actionsFor } from '../chatops/buttons.ts';
import { createSlackApiNotifier, isWebApiUrl } from './slack-api.ts';
import { postJson } from './http.ts';
import { checkedUrl, type NotifierConfig, type NotifierDeps } from './config.ts';
import { canaryTitle, displayFields, headline, SEVERITY_COLOURS, escapeHtml } from './notifier.ts';
import type { Notification, Notifier } from './notifier.ts';

// Slack: an incoming webhook, or the Web API's chat.postMessage with a bot token (slack-api.ts),
// the same message either way. The headline as a section block, a coloured attachment (colour
// by severity) whose blocks hold the fields. Slack wants &, <, > escaped in mrkdwn.

/** Slack allows at most 10 fields in one section block. */
const MAX_FIELDS = 10;

export function slackPayload(
  notification: Notification,
  config: Pick<NotifierConfig, 'username' | 'channel' | 'interactive'>,
) {
  // Buttons only where the controller receives Slack's callbacks (--slack-signing-secret-file).
  const actions = config.interactive ? actionsFor(notification) : undefined;
  const fields = displayFields(notification)
    .slice(0, MAX_FIELDS)
    .map((field) => ({ type: 'mrkdwn', text: `*${escapeHtml(field.title)}*\n${escapeHtml(field.value)}` }));
  const text = escapeHtml(headline(notification));
  return {
    // With top-level blocks, `text` is only the push-notification fallback: the
    // headline is shown once, and the coloured attachment below it carries the fields.
    text,
    username: config.username ?? 'sluice',
    ...(config.channel ? { channel: config.channel } : {}),
    icon_emoji: ':rocket:',
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${escapeHtml(canaryTitle(notification))}*: ${escapeHtml(notification.message)}`,
        },
      },
      ...(actions ? [actions] : []),
    ],
    attachments: [
      {
        color: `#${SEVERITY_COLOURS[notification.severity]}`,
        fallback: text,
        // Slack refuses an empty blocks array; a bare colour bar still shows the severity.
        ...(fields.length > 0 ? { blocks: [{ type: 'section', fields }] } : {}),
      },
    ],
  };
}

/** An incoming webhook (Rocket.Chat's too): the message POSTed to the URL, a token as Bearer. */
export function createSlackWebhookNotifier(config: NotifierConfig, deps: NotifierDeps = {}): Notifier {
  const url = checkedUrl(config);
  return {
    name: config.name,
    post: (notification) =>
      postJson(url, slackPayload(notification, config), {
        provider: config.name,
        token: config.token,
        ...deps,
      }),
  };
}

/**
 * Slack: the Web API (slack-api.ts) when the address is chat.postMessage's (a token alone
 * gets Slack's), else the incoming webhook as before.
 */
export function createSlackNotifier(config: NotifierConfig, deps: NotifierDeps = {}): Notifier {
  const url = checkedUrl(config);
  if (!isWebApiUrl(url)) return createSlackWebhookNotifier(config, deps);
  if (!config.token) {
    throw new Error(
      `notifier ${config.name}: the address is the Web API's chat.postMessage, which needs a bot token: set key "token" in the Secret (--slack-token for the global notifier)`,
    );
  }
  return createSlackApiNotifier(
    { ...config, token: config.token },
    url,
    (notification) => slackPayload(notification, config),
    deps,
  );
}
