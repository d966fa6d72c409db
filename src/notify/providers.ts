import { ALERT_SECRET_KEYS, AlertProvider } from '../api/alert-provider.ts';
import { GROUP, VERSION } from '../api/common.ts';
import { readSecretData } from '../analysis/providers/secret.ts';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { NotifierConfig } from './config.ts';
import type { ProviderType } from './factory.ts';
import { SLACK_POST_MESSAGE_URL } from './slack-api.ts';

// AlertProvider and Canary alerts come from the API (src/api), in Flagger's names.
export { CanaryAlert } from '../api/canary.ts';

export const ALERT_PROVIDER_PLURAL = 'alertproviders';

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
  /** Set when the provider asks for a proxy, which notifiers do not use yet. */
  proxy?: string;
}

/**
 * Turns an AlertProvider into a notifier config: URL and token from its Secret (keys
 * `address` and `token`, Flagger's; a slack token alone means Slack's Web API), else the
 * clear-text `spec.address`.
 */
export async function resolveAlertProvider(
  kube: Pick<Kube, 'wire'>,
  provider: AlertProvider,
  defaultNamespace = 'default',
): Promise<ResolvedProvider> {
  const namespace = provider.metadata.namespace ?? defaultNamespace;
  const label = `alertprovider ${namespace}/${provider.metadata.name}`;
  const base = {
    name: label,
    ...(provider.spec.username ? { username: provider.spec.username } : {}),
    ...(provider.spec.channel ? { channel: provider.spec.channel } : {}),
  };
  const ref = provider.spec.secretRef;
  if (!ref) {
    if (!provider.spec.address) {
      throw new AlertProviderError(`${label}: spec.secretRef is required (a Secret with key "address")`);
    }
    return withProxy(
      { type: provider.spec.type, config: { ...base, url: provider.spec.address } },
      provider.spec.proxy,
    );
  }
  let data: Record<string, string>;
  try {
    const secret = await readSecretData(kube, namespace, ref.name);
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
    const text = value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8').trim();
    return text || undefined;
  };
  const token = decode(ALERT_SECRET_KEYS.token);
  // Slack with a bot token and no address posts to Slack's Web API (slack-api.ts).
  const url =
    decode(ALERT_SECRET_KEYS.address) ??
    (token && provider.spec.type === 'slack' ? SLACK_POST_MESSAGE_URL : undefined);
  if (!url) {
    throw new AlertProviderError(
      `${label}: secret ${namespace}/${ref.name} has no key "${ALERT_SECRET_KEYS.address}" (the webhook URL)`,
    );
  }
  return withProxy(
    { type: provider.spec.type, config: { ...base, url, ...(token ? { token } : {}) } },
    decode(ALERT_SECRET_KEYS.proxy) ?? provider.spec.proxy,
  );
}

function withProxy(resolved: ResolvedProvider, proxy: string | undefined): ResolvedProvider {
  return proxy ? { ...resolved, proxy } : resolved;
}

/** Reads and validates an AlertProvider. */
export async function getAlertProvider(
  kube: Pick<Kube, 'wire'>,
  ref: { name: string; namespace: string },
): Promise<AlertProvider> {
  const label = `alertprovider ${ref.namespace}/${ref.name}`;
  let object: unknown;
  try {
    object = await kube.wire.readResource(
      { group: GROUP, version: VERSION, namespace: ref.namespace, plural: ALERT_PROVIDER_PLURAL },
      ref.name,
    );
  } catch (error) {
    if (isNotFound(error)) throw new AlertProviderError(`${label} not found`);
    throw new AlertProviderError(`${label}: ${apiErrorMessage(error)}`);
  }
  const parsed = AlertProvider.safeParse(object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AlertProviderError(
      `${label}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}
