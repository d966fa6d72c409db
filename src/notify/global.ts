import { Option, type Command } from 'commander';
import type { NotifierDeps } from './config.ts';
import { createNotifier } from './factory.ts';
import type { Notifier } from './notifier.ts';
import { SLACK_POST_MESSAGE_URL } from './slack-api.ts';

/** The controller's global notification settings (Flagger's flag and variable names). */
export interface GlobalNotifyOptions {
  slackUrl?: string;
  slackToken?: string;
  slackUser?: string;
  slackChannel?: string;
  msteamsUrl?: string;
  /** Receives every canary's events unless the canary has its own `event` webhooks. */
  eventWebhook?: string;
  /** Shown in every message, to tell clusters apart in a shared channel. */
  clusterName?: string;
  /** Buttons in the global Slack's messages: set when the controller verifies Slack's callbacks. */
  slackInteractive?: boolean;
}

/**
 * Adds --slack-url, --slack-token, --slack-user, --slack-channel, --msteams-url,
 * --event-webhook and --cluster-name to a command; each falls back to its environment
 * variable (SLACK_URL, …) so URLs can come from a Secret through `envFrom`.
 */
export function addNotificationOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--slack-url <url>',
        "Slack incoming webhook URL for every canary, or the Web API's chat.postMessage URL with --slack-token",
      ).env('SLACK_URL'),
    )
    .addOption(
      new Option(
        '--slack-token <token>',
        "Slack bot token: alone, or with --slack-url set to a chat.postMessage URL, posts with Slack's Web API to --slack-channel; with a webhook --slack-url, sent as a Bearer token",
      ).env('SLACK_TOKEN'),
    )
    .addOption(new Option('--slack-user <name>', 'Slack user name').env('SLACK_USER'))
    .addOption(
      new Option(
        '--slack-channel <channel>',
        'Slack channel (its ID, e.g. C0123456789, with --slack-token)',
      ).env('SLACK_CHANNEL'),
    )
    .addOption(
      new Option('--msteams-url <url>', 'Microsoft Teams Workflows webhook URL for every canary').env(
        'MSTEAMS_URL',
      ),
    )
    .addOption(
      new Option('--event-webhook <url>', 'webhook that receives every canary event').env(
        'EVENT_WEBHOOK_URL',
      ),
    )
    .addOption(
      new Option('--cluster-name <name>', 'cluster name shown in notifications').env('CLUSTER_NAME'),
    );
}

/** The global notifiers: Slack and Teams may both be set (Flagger kept only one). */
export function globalNotifiers(options: GlobalNotifyOptions, deps: NotifierDeps = {}): Notifier[] {
  const notifiers: Notifier[] = [];
  // A token alone posts to Slack's Web API (chat.postMessage in the channel).
  const slackUrl = options.slackUrl ?? (options.slackToken ? SLACK_POST_MESSAGE_URL : undefined);
  if (slackUrl) {
    notifiers.push(
      createNotifier(
        'slack',
        {
          name: 'global slack',
          url: slackUrl,
          ...(options.slackToken ? { token: options.slackToken } : {}),
          ...(options.slackUser ? { username: options.slackUser } : {}),
          ...(options.slackChannel ? { channel: options.slackChannel } : {}),
          ...(options.slackInteractive ? { interactive: true } : {}),
        },
        deps,
      ),
    );
  }
  if (options.msteamsUrl) {
    notifiers.push(createNotifier('msteams', { name: 'global msteams', url: options.msteamsUrl }, deps));
  }
  return notifiers;
}
