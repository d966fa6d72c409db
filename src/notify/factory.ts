import { z } from 'zod';
import { ALERT_PROVIDER_TYPES, type AlertProviderType } from '../api/alert-provider.ts';
import type { NotifierConfig, NotifierDeps } from './config.ts';
import { createDiscordNotifier } from './discord.ts';
import { createGenericNotifier } from './generic.ts';
import { createGoogleChatNotifier } from './googlechat.ts';
import { createMSTeamsNotifier } from './msteams.ts';
import type { Notifier } from './notifier.ts';
import { createSlackNotifier, createSlackWebhookNotifier } from './slack.ts';

/** AlertProvider `type` values: the API's one list (src/api/alert-provider.ts). */
export const PROVIDER_TYPES = ALERT_PROVIDER_TYPES;
export const providerTypeSchema = z.enum(PROVIDER_TYPES);
export type ProviderType = AlertProviderType;

type NotifierFactory = (config: NotifierConfig, deps: NotifierDeps) => Notifier;

/** One notifier per type; the compiler checks every type has one. Rocket.Chat takes Slack's webhook format. */
export const NOTIFIERS = {
  slack: createSlackNotifier,
  rocket: createSlackWebhookNotifier,
  msteams: createMSTeamsNotifier,
  discord: createDiscordNotifier,
  googlechat: createGoogleChatNotifier,
  gchat: createGoogleChatNotifier,
  generic: createGenericNotifier,
} as const satisfies Record<AlertProviderType, NotifierFactory>;

/** Builds the notifier for a provider type; throws (naming the provider) on a bad config. */
export function createNotifier(
  type: ProviderType,
  config: NotifierConfig,
  deps: NotifierDeps = {},
): Notifier {
  const factory: NotifierFactory = NOTIFIERS[type];
  return factory(config, deps);
}
