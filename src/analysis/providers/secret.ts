import { z } from 'zod';
import type { Kube } from '../../kube/client.ts';
import { apiErrorMessage, isNotFound } from '../../kube/client.ts';
import { coreResource } from '../../kube/wire.ts';
import type { ProviderCredentials } from './provider.ts';

// A MetricTemplate's `spec.provider.secretRef` names a Secret in the template's namespace.
// Keys, as in Flagger: `token` (bearer), `username` + `password` (basic auth),
// `datadog_api_key` + `datadog_application_key`; and Sluice's `header.<Name>` for any
// extra header (e.g. `header.X-Scope-OrgID`). Values are never logged or put in errors.

const HEADER_PREFIX = 'header.';

/**
 * Every key of the Secret, for providers with keys of their own (newrelic_query_key, …).
 * Prints as `[Secret ns/name]` in logs and JSON, so a logged object never shows a value.
 */
export class SecretValues {
  readonly name: string;
  readonly #data: ReadonlyMap<string, string>;

  constructor(name: string, data: Record<string, string>) {
    this.name = name;
    this.#data = new Map(Object.entries(data));
  }

  has(key: string): boolean {
    return this.#data.has(key);
  }

  /** The trimmed value, or undefined when the key is absent or empty. */
  optional(key: string): string | undefined {
    const value = this.#data.get(key)?.trim();
    return value ? value : undefined;
  }

  /** The trimmed value; the error names the Secret, the key and the provider that needs it. */
  required(key: string, provider: string): string {
    const value = this.optional(key);
    if (value === undefined) {
      throw new Error(`${provider} provider: the secretRef Secret ${this.name} must hold the key ${key}`);
    }
    return value;
  }

  /** Every value, for redacting what a provider answered (never to be logged). */
  values(): string[] {
    return [...this.#data.values()];
  }

  toJSON(): string {
    return `[Secret ${this.name}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

/** Credentials from a Secret's decoded data; errors name the Secret and the key. */
export function credentialsFromSecretData(data: Record<string, string>, secret: string): ProviderCredentials {
  const credentials: ProviderCredentials = { secret: new SecretValues(secret, data) };
  if (data.token) credentials.bearerToken = data.token.trim();
  if (data.username !== undefined || data.password !== undefined) {
    if (!data.username || data.password === undefined) {
      const [has, lacks] = data.username ? ['username', 'password'] : ['password', 'username'];
      throw new Error(`Secret ${secret}: has the key ${has} but no ${lacks}; basic auth needs both`);
    }
    credentials.basicAuth = { username: data.username, password: data.password };
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith(HEADER_PREFIX) && key.length > HEADER_PREFIX.length) {
      headers[key.slice(HEADER_PREFIX.length)] = value.trim();
    }
  }
  if (Object.keys(headers).length > 0) credentials.headers = headers;
  // Flagger's key names; apiKey / applicationKey are accepted as well.
  const apiKey = data.datadog_api_key ?? data.apiKey;
  const applicationKey = data.datadog_application_key ?? data.applicationKey;
  if (apiKey !== undefined || applicationKey !== undefined) {
    credentials.datadog = { apiKey: (apiKey ?? '').trim(), applicationKey: (applicationKey ?? '').trim() };
  }
  return credentials;
}

const SecretData = z.object({
  data: z.record(z.string(), z.string()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
});

/**
 * Reads a Secret's `data` and `stringData` as plain JSON: the generated CoreV1Api would load
 * all of client-node's generated APIs into the controller (decision 0029-client-node-subset).
 */
export async function readSecretData(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  name: string,
): Promise<z.infer<typeof SecretData>> {
  const secret = await kube.wire.readResource(coreResource('secrets', namespace), name);
  const parsed = SecretData.safeParse(secret);
  if (!parsed.success) {
    throw new Error(`Secret ${namespace}/${name}: data is not a map of strings`);
  }
  return parsed.data;
}

/** Decodes a Secret's base64 `data` (and plain `stringData`, for objects not yet stored). */
export function decodeSecretData(secret: {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}): Record<string, string> {
  const decoded: Record<string, string> = { ...secret.stringData };
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    decoded[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return decoded;
}

/** Reads the Secret a MetricTemplate references and returns the credentials in it. */
export async function resolveProviderSecret(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  secretRef: { name: string },
): Promise<ProviderCredentials> {
  const label = `${namespace}/${secretRef.name}`;
  let secret;
  try {
    secret = await readSecretData(kube, namespace, secretRef.name);
  } catch (error) {
    if (isNotFound(error))
      throw new Error(`Secret ${label} (provider.secretRef) not found`, { cause: error });
    throw new Error(`Secret ${label} (provider.secretRef) could not be read: ${apiErrorMessage(error)}`, {
      cause: error,
    });
  }
  return credentialsFromSecretData(decodeSecretData(secret), label);
}
