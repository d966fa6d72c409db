import { z } from 'zod';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { NotifierConfig } from './config.ts';
import { providerTypeSchema, type ProviderType } from './factory.ts';
import { severitySchema } from './notifier.ts';

// The slice of the AlertProvider and Canary APIs notifications need, in Flagger's field
// names. When src/api exports these schemas, this file should use them instead.

export const ALERT_PROVIDER_GROUP = 'sluice.dev';
export const ALERT_PROVIDER_VERSION = 'v1alpha1';
export const ALERT_PROVIDER_PLURAL = 'alertproviders';

export const alertProviderSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  spec: z.object({
    type: providerTypeSchema,
    channel: z.string().optional(),
    username: z.string().optional(),
    /** Flagger allows the URL in clear text; Sluice prefers secretRef and reads this only without one. */
    address: z.string().optional(),
    proxy: z.string().optional(),
    /** A Secret in the provider's namespace with keys `address` (the URL) and optionally `token`. */
    secretRef: z.object({ name: z.string().min(1) }).optional(),
  }),
});
export type AlertProvider = z.infer<typeof alertProviderSchema>;

/** One entry of a Canary's `analysis.alerts`. */
export const canaryAlertSchema = z.object({
  name: z.string(),
  severity: severitySchema.default('info'),
  providerRef: z.object({ name: z.string().min(1), namespace: z.string().optional() }),
});
export type CanaryAlert = z.infer<typeof canaryAlertSchema>;

/** A provider that cannot be used; the message names it and what to fix, never the URL. */
export class AlertProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlertProviderError';
  }
}

export interface ResolvedProvider {
  type: ProviderType;
  config: NotifierConfig;
}

/**
 * Turns an AlertProvider into a notifier config: URL and token from its Secret (keys
 * `address` and `token`, Flagger's), else `spec.address`.
 */
export async function resolveAlertProvider(
  kube: Pick<Kube, 'core'>,
  provider: AlertProvider,
): Promise<ResolvedProvider> {
  const { name, namespace } = provider.metadata;
  const label = `alertprovider ${namespace}/${name}`;
  const base = { name: label, username: provider.spec.username, channel: provider.spec.channel };
  const ref = provider.spec.secretRef;
  if (!ref) {
    if (!provider.spec.address) {
      throw new AlertProviderError(`${label}: spec.secretRef is required (a Secret with key "address")`);
    }
    return { type: provider.spec.type, config: { ...base, url: provider.spec.address } };
  }
  let data: Record<string, string>;
  try {
    const secret = await kube.core.readNamespacedSecret({ name: ref.name, namespace });
    data = secret.data ?? {};
  } catch (error) {
    if (isNotFound(error)) {
      throw new AlertProviderError(`${label}: spec.secretRef: secret ${namespace}/${ref.name} not found`);
    }
    throw new AlertProviderError(
      `${label}: reading secret ${namespace}/${ref.name}: ${apiErrorMessage(error)}`,
    );
  }
  const decode = (key: string): string | undefined => {
    const value = data[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8').trim();
  };
  const url = decode('address');
  if (!url) {
    throw new AlertProviderError(
      `${label}: secret ${namespace}/${ref.name} has no key "address" (the webhook URL)`,
    );
  }
  const token = decode('token');
  return { type: provider.spec.type, config: { ...base, url, ...(token ? { token } : {}) } };
}

/** Reads an AlertProvider by reference; the namespace defaults to the canary's. */
export async function getAlertProvider(
  kube: Pick<Kube, 'custom'>,
  ref: { name: string; namespace: string },
): Promise<AlertProvider> {
  let object: unknown;
  try {
    object = await kube.custom.getNamespacedCustomObject({
      group: ALERT_PROVIDER_GROUP,
      version: ALERT_PROVIDER_VERSION,
      namespace: ref.namespace,
      plural: ALERT_PROVIDER_PLURAL,
      name: ref.name,
    });
  } catch (error) {
    if (isNotFound(error))
      throw new AlertProviderError(`alertprovider ${ref.namespace}/${ref.name} not found`);
    throw new AlertProviderError(`alertprovider ${ref.namespace}/${ref.name}: ${apiErrorMessage(error)}`);
  }
  const parsed = alertProviderSchema.safeParse(object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AlertProviderError(
      `alertprovider ${ref.namespace}/${ref.name}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}
