import { z } from 'zod';
import { LocalObjectReference, customResource, withRules } from './common.ts';
import { conditionsStatus } from './status.ts';

/**
 * AlertProvider types: Flagger's (slack, msteams, discord, rocket, gchat) plus Sluice's
 * `googlechat` and `generic`. The one list: the CRD's enum, the notifier factory (a map
 * the compiler checks against it, src/notify/factory.ts), `sluice migrate` and the docs.
 */
export const ALERT_PROVIDER_TYPES = [
  'slack',
  'msteams',
  'discord',
  'googlechat',
  'gchat',
  'rocket',
  'generic',
] as const;
export type AlertProviderType = (typeof ALERT_PROVIDER_TYPES)[number];

/** What each type sends, in words (docs and schema descriptions). */
export const ALERT_PROVIDERS = {
  slack: { sends: 'a Slack message: incoming webhook, or the Web API (chat.postMessage) with a bot token' },
  msteams: { sends: 'a Microsoft Teams Workflows (Adaptive Card) message' },
  discord: { sends: 'a Discord webhook message' },
  googlechat: { sends: 'a Google Chat card' },
  gchat: { sends: 'a Google Chat card (Flagger’s name for googlechat)' },
  rocket: { sends: 'a Rocket.Chat incoming-webhook message (Slack’s format)' },
  generic: { sends: 'a JSON POST of the notification to any URL' },
} as const satisfies Record<AlertProviderType, { sends: string }>;

/** Keys read from the Secret named by spec.secretRef (Flagger's names). */
export const ALERT_SECRET_KEYS = { address: 'address', token: 'token', proxy: 'proxy' } as const;

export const AlertProviderSpec = withRules(
  z.object({
    type: z.enum(ALERT_PROVIDER_TYPES).describe(`Where notifications go: ${ALERT_PROVIDER_TYPES.join(', ')}`),
    secretRef: LocalObjectReference.optional().describe(
      'Secret whose "address" key holds the webhook URL (and optional "token"; slack: a "token" alone posts with the Web API)',
    ),
    address: z
      .string()
      .optional()
      .describe('Webhook URL in clear text; accepted for Flagger compatibility, prefer secretRef'),
    channel: z
      .string()
      .optional()
      .describe("Channel to post to, where the provider supports it (Slack's Web API: the channel ID)"),
    username: z.string().optional().describe('Name the messages are posted as'),
    proxy: z
      .string()
      .optional()
      .describe('HTTP(S) proxy for the webhook calls (refused: not supported yet, notifications go direct)'),
  }),
  [
    {
      rule: '!has(self.proxy)',
      message: 'spec.proxy is not supported yet: Sluice sends notifications straight to the URL; remove it',
      fieldPath: '.proxy',
      check: (spec) => spec.proxy === undefined,
    },
    {
      rule: 'has(self.secretRef) || has(self.address)',
      message: 'spec.secretRef (a Secret with an "address" key) or spec.address is required',
      fieldPath: '.secretRef',
      check: (spec) => spec.secretRef !== undefined || spec.address !== undefined,
    },
  ],
);
export type AlertProviderSpec = z.output<typeof AlertProviderSpec>;

export const AlertProviderStatus = conditionsStatus('provider');

export const AlertProvider = customResource('AlertProvider', AlertProviderSpec, AlertProviderStatus);
export type AlertProvider = z.output<typeof AlertProvider>;
