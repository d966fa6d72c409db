import { z } from 'zod';
import { API_VERSION, LocalObjectReference, ObjectMeta, withRules } from './common.ts';
import { Conditions } from './status.ts';

/** Notifier types Sluice sends to today. */
export const SUPPORTED_ALERT_PROVIDERS = ['slack', 'msteams', 'discord', 'googlechat', 'generic'] as const;
/** Accepted so Flagger manifests move unchanged; reported as not yet supported. */
export const UNSUPPORTED_ALERT_PROVIDERS = ['rocket'] as const;
export const ALERT_PROVIDER_TYPES = [...SUPPORTED_ALERT_PROVIDERS, ...UNSUPPORTED_ALERT_PROVIDERS] as const;
export type AlertProviderType = (typeof ALERT_PROVIDER_TYPES)[number];

/** Keys read from the Secret named by spec.secretRef (Flagger's names). */
export const ALERT_SECRET_KEYS = { address: 'address', token: 'token', proxy: 'proxy' } as const;

export const AlertProviderSpec = withRules(
  z.object({
    type: z
      .enum(ALERT_PROVIDER_TYPES)
      .describe('slack, msteams, discord, googlechat or generic (rocket: not yet supported)'),
    secretRef: LocalObjectReference.optional().describe(
      'Secret whose "address" key holds the webhook URL (and optional "token")',
    ),
    address: z
      .string()
      .optional()
      .describe('Webhook URL in clear text; accepted for Flagger compatibility, prefer secretRef'),
    channel: z.string().optional().describe('Channel to post to, where the provider supports it'),
    username: z.string().optional().describe('Name the messages are posted as'),
    proxy: z.string().optional().describe('HTTP(S) proxy URL for the webhook calls'),
  }),
  [
    {
      rule: 'has(self.secretRef) || has(self.address)',
      message: 'spec.secretRef (a Secret with an "address" key) or spec.address is required',
      fieldPath: '.secretRef',
      check: (spec) => spec.secretRef !== undefined || spec.address !== undefined,
    },
  ],
);
export type AlertProviderSpec = z.output<typeof AlertProviderSpec>;

export const AlertProviderStatus = z.looseObject({
  conditions: Conditions.optional().describe('Conditions of the provider'),
});

export const AlertProvider = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('AlertProvider'),
  metadata: ObjectMeta,
  spec: AlertProviderSpec,
  status: AlertProviderStatus.optional(),
});
export type AlertProvider = z.output<typeof AlertProvider>;
