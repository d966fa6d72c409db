import { z } from 'zod';
import type { NotifierConfig, NotifierDeps } from './config.ts';
import { createDiscordNotifier } from './discord.ts';
import { createGenericNotifier } from './generic.ts';
import { createGoogleChatNotifier } from './googlechat.ts';
import { createMSTeamsNotifier } from './msteams.ts';
import type { Notifier } from './notifier.ts';
import { createSlackNotifier } from './slack.ts';

/**
 * AlertProvider `type` values: Flagger's (slack, msteams, discord, gchat, rocket) plus
 * Sluice's `googlechat` alias and `generic`. Rocket.Chat takes Slack's format.
 */
export const PROVIDER_TYPES = [
  'slack',
  'msteams',
  'discord',
  'gchat',
  'googlechat',
  'rocket',
  'generic',
] as const;
export const providerTypeSchema = z.enum(PROVIDER_TYPES);
export type ProviderType = z.infer<typeof providerTypeSchema>;

/** Builds the notifier for a provider type; throws (naming the provider) on a bad config. */
export function createNotifier(
  type: ProviderType,
  config: NotifierConfig,
  deps: NotifierDeps = {},
): Notifier {
  switch (type) {
    case 'slack':
    case 'rocket':
      return createSlackNotifier(config, deps);
    case 'msteams':
      return createMSTeamsNotifier(config, deps);
    case 'discord':
      return createDiscordNotifier(config, deps);
    case 'gchat':
    case 'googlechat':
      return createGoogleChatNotifier(config, deps);
    case 'generic':
      return createGenericNotifier(config, deps);
  }
}
