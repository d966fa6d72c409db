import { postJson } from './http.ts';
import { checkedUrl, type NotifierConfig, type NotifierDeps } from './config.ts';
import { canaryTitle, displayFields, SEVERITY_COLOURS } from './notifier.ts';
import type { Notification, Notifier } from './notifier.ts';

// Discord webhook with native embeds (not the Slack-compatible `/slack` endpoint Flagger
// uses). Discord's limits: title 256, description 4096, 25 fields, field value 1024.

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function discordPayload(notification: Notification, config: Pick<NotifierConfig, 'username'>) {
  return {
    // Discord refuses usernames containing "discord"; the default avoids it.
    username: config.username ?? 'sluice',
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: clip(canaryTitle(notification), 256),
        description: clip(notification.message, 4096),
        color: Number.parseInt(SEVERITY_COLOURS[notification.severity], 16),
        fields: displayFields(notification)
          .slice(0, 25)
          .map((field) => ({ name: clip(field.title, 256), value: clip(field.value, 1024), inline: true })),
        footer: { text: `sluice · ${notification.severity}` },
      },
    ],
  };
}

/** A Flagger-era URL may end in `/slack` (the Slack-compatible endpoint); native embeds need the plain one. */
export function discordUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = parsed.pathname.replace(/\/slack\/?$/, '');
  return parsed.href;
}

export function createDiscordNotifier(config: NotifierConfig, deps: NotifierDeps = {}): Notifier {
  const url = discordUrl(checkedUrl(config));
  return {
    name: config.name,
    post: (notification) =>
      postJson(url, discordPayload(notification, config), { provider: config.name, ...deps }),
  };
}
