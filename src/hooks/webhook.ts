import { createHash } from 'node:crypto';
import { ExponentialBackoff, handleWhenResult, retry } from 'cockatiel';
import { loadGot } from '../got.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import { decodeSecretData, readSecretData } from '../analysis/providers/secret.ts';
import { apiErrorMessage, type Kube } from '../kube/client.ts';
import { silentLogger, type Logger } from '../log.ts';
import { redact } from '../redact.ts';
import { hookKey, IDEMPOTENCY_KEY_HEADER } from './idempotency.ts';
import type { CanaryWebhook, CanaryWebhookPayload, HookType, WebhookResult } from './types.ts';
import { checkUrl, guardedGotOptions, urlRefusal, UrlRefusedError, type UrlPolicy } from './url-policy.ts';

export interface WebhookRequest {
  url: string;
  body: string;
  timeoutMs: number;
  insecureSkipVerify: boolean;
  signal?: AbortSignal;
  /** Extra headers: `authorization` when the hook has a secretRef. */
  headers?: Record<string, string>;
  /** The operator's --allowed-url-hosts, held to on every redirect and DNS answer. */
  urlPolicy?: UrlPolicy;
  /** Names the URL's origin in a refusal, e.g. `webhook load-test url`. */
  field?: string;
}

export interface WebhookResponse {
  status: number;
  body: string;
}

/** One HTTP attempt. Throws on network errors and timeouts; returns any HTTP answer. */
export type WebhookTransport = (request: WebhookRequest) => Promise<WebhookResponse>;

export interface WebhookDeps {
  transport?: WebhookTransport;
  /** Delay before the first retry and the cap; receivers get the defaults, tests shorten them. */
  backoff?: { initialDelayMs: number; maxDelayMs: number };
  /** Monotonic milliseconds. */
  now?: () => number;
  logger?: Logger;
  /** Aborts the call (controller shutdown); the result is then a failure. */
  signal?: AbortSignal;
  /** The operator's --allowed-url-hosts: URLs outside it are refused, never called. */
  urlPolicy?: UrlPolicy;
  /** Reads a Secret's decoded data in a namespace, for a hook's secretRef. */
  readSecret?(namespace: string, name: string): Promise<Record<string, string>>;
}

/** The Secret key a hook's secretRef is read for. */
export const WEBHOOK_TOKEN_KEY = 'token';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Flagger gives event hooks 5 s: they are fire-and-forget and must not pile up. */
export const DEFAULT_EVENT_WEBHOOK_TIMEOUT_MS = 5_000;
const DEFAULT_BACKOFF = { initialDelayMs: 500, maxDelayMs: 5_000 };
/** How much of a receiver's answer is kept in the result message. */
const BODY_SNIPPET_CHARS = 500;

/**
 * Sends one attempt with got. got's own retry is off (the policy in callWebhook owns
 * retries) and the global agent has no per-host socket limit, so a receiver that hangs
 * holds one socket of its own and queues nothing behind it.
 */
export const gotTransport: WebhookTransport = async (request) => {
  const got = await loadGot();
  const response = await got.post(request.url, {
    body: request.body,
    headers: { 'content-type': 'application/json', 'user-agent': 'sluice-webhook', ...request.headers },
    timeout: { request: request.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    https: { rejectUnauthorized: !request.insecureSkipVerify },
    signal: request.signal,
    ...guardedGotOptions(request.urlPolicy, request.field ?? 'webhook url'),
  });
  return { status: response.statusCode, body: response.body };
};

/** The per-attempt timeout of a hook, in ms. */
export function webhookTimeoutMs(hook: Pick<CanaryWebhook, 'timeout' | 'type'>): number {
  const fallback = hook.type === 'event' ? DEFAULT_EVENT_WEBHOOK_TIMEOUT_MS : DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (!hook.timeout) return fallback;
  const ms = parseDuration(hook.timeout);
  return ms === undefined || ms <= 0 ? fallback : ms;
}

/** A URL without credentials or query string, safe for logs and status messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Only the scheme, host and port of a URL. */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** Whether a failed attempt is worth repeating: 5xx answers and network errors, never 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500;
}

/** Certificate problems do not heal on a retry; other network errors may. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof Error && error.name === 'AbortError') return false;
  if (urlRefusal(error)) return false;
  const code = errorCode(error);
  return !(code && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code));
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A short reason for a network error, without the URL (which may carry a token). */
export function describeNetworkError(error: unknown, timeoutMs: number, url: string): string {
  const refusal = urlRefusal(error);
  if (refusal) return `refused: ${refusal.message}`;
  const code = errorCode(error);
  switch (code) {
    case 'ETIMEDOUT':
      return `no answer within ${formatDuration(timeoutMs)}`;
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the receiver';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return redact(code ? `${message} (${code})` : message, [url]);
    }
  }
}

/** Replaces every form of the given secrets in a text (see src/redact.ts). */
export { redact } from '../redact.ts';

function snippet(body: string): string {
  const text = body.trim().replace(/\s+/g, ' ');
  return text.length > BODY_SNIPPET_CHARS ? `${text.slice(0, BODY_SNIPPET_CHARS)}…` : text;
}

type Attempt = { ok: true; response: WebhookResponse } | { ok: false; error: unknown };

/**
 * Calls one webhook: POST the payload as JSON, retry network errors and 5xx answers up
 * to `hook.retries` times with exponential backoff, pass on 2xx. Never throws for a
 * receiver's failure: the result says what happened.
 */
export async function callWebhook(
  hook: CanaryWebhook,
  payload: CanaryWebhookPayload,
  deps: WebhookDeps = {},
): Promise<WebhookResult> {
  const transport = deps.transport ?? gotTransport;
  const now = deps.now ?? (() => performance.now());
  const logger = deps.logger ?? silentLogger;
  const timeoutMs = webhookTimeoutMs(hook);
  const shown = hook.secretPath ? safeOrigin(hook.url) : safeUrl(hook.url);
  const label = `webhook ${hook.name} (${hook.type}) at ${shown}`;
  const started = now();

  const field = `webhook ${hook.name} url`;
  try {
    new URL(hook.url);
  } catch {
    return {
      passed: false,
      message: `${label}: the url is not a valid URL`,
      durationMs: 0,
      attempts: 0,
    };
  }
  try {
    checkUrl(deps.urlPolicy, hook.url, field);
  } catch (error) {
    if (!(error instanceof UrlRefusedError)) throw error;
    logger.warn({ webhook: hook.name, type: hook.type, host: error.host }, error.message);
    return {
      passed: false,
      message: `${label}: refused: ${error.message}`,
      durationMs: 0,
      attempts: 0,
      refused: error,
    };
  }
  let token: string | undefined;
  if (hook.secretRef) {
    const read = await webhookToken(hook, payload.namespace, deps);
    if ('error' in read)
      return { passed: false, message: `${label}: ${read.error}`, durationMs: 0, attempts: 0 };
    token = read.token;
  }
  const secrets = [hook.url, token];

  const body = JSON.stringify(payload);
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  const policy = retry(
    handleWhenResult((attempt) => {
      const result = attempt as Attempt;
      return result.ok ? isRetryableStatus(result.response.status) : isRetryableError(result.error);
    }),
    {
      maxAttempts: hook.retries ?? 0,
      backoff: new ExponentialBackoff({ initialDelay: backoff.initialDelayMs, maxDelay: backoff.maxDelayMs }),
    },
  );

  const headers = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(payload.idempotencyKey ? { [IDEMPOTENCY_KEY_HEADER]: payload.idempotencyKey } : {}),
  };
  let attempts = 0;
  const attempt = async (): Promise<Attempt> => {
    attempts += 1;
    try {
      const response = await transport({
        url: hook.url,
        body,
        timeoutMs,
        insecureSkipVerify: hook.insecureSkipVerify ?? false,
        signal: deps.signal,
        field,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(deps.urlPolicy ? { urlPolicy: deps.urlPolicy } : {}),
      });
      return { ok: true, response };
    } catch (error) {
      return { ok: false, error };
    }
  };
  let last: Attempt;
  try {
    last = await policy.execute(attempt, deps.signal);
  } catch (error) {
    // Only a cancelled backoff (deps.signal) gets here: attempts never throw.
    last = { ok: false, error };
  }

  const durationMs = Math.round(now() - started);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  let result: WebhookResult;
  if (last.ok) {
    const status = last.response.status;
    const passed = status >= 200 && status < 300;
    const answer = snippet(last.response.body);
    result = {
      passed,
      status,
      message: `${label} answered ${status}${tries}${answer ? `: ${redact(answer, secrets)}` : ''}`,
      durationMs,
      attempts,
    };
  } else {
    const refused = urlRefusal(last.error);
    result = {
      passed: false,
      message: `${label}: ${redact(describeNetworkError(last.error, timeoutMs, hook.url), secrets)}${tries}`,
      durationMs,
      attempts,
      ...(refused ? { refused } : {}),
    };
  }
  const { refused: _refused, ...loggable } = result;
  logger.debug(
    { webhook: hook.name, type: hook.type, canary: `${payload.name}.${payload.namespace}`, ...loggable },
    'webhook called',
  );
  return result;
}

/** The bearer token of a hook's secretRef, or why it cannot be had (never the value). */
async function webhookToken(
  hook: CanaryWebhook,
  namespace: string,
  deps: WebhookDeps,
): Promise<{ token: string } | { error: string }> {
  const ref = hook.secretRef;
  if (!ref) return { error: 'no secretRef' };
  const where = `secretRef: Secret ${namespace}/${ref.name}`;
  if (!deps.readSecret)
    return { error: `${where} cannot be read: this controller was given no Secret reader` };
  let data: Record<string, string>;
  try {
    data = await deps.readSecret(namespace, ref.name);
  } catch (error) {
    return { error: `${where}: ${apiErrorMessage(error)}` };
  }
  const token = data[WEBHOOK_TOKEN_KEY]?.trim();
  if (!token) return { error: `${where} has no key "${WEBHOOK_TOKEN_KEY}" (the bearer token to send)` };
  return { token };
}

/** The result of one hook in a run, with the hook's identity. */
export interface NamedWebhookResult extends WebhookResult {
  name: string;
  type: HookType;
  muteAlert: boolean;
}

export interface WebhookRun {
  /** True when every hook of the type passed (and when there is none). */
  passed: boolean;
  results: NamedWebhookResult[];
}

/** The part of the payload that comes from the canary, not from the hook. */
export interface CanaryHookContext {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  /** Sluice's own metadata for every hook (the release's dora.metrics/* keys); it wins over the hook's. */
  metadata?: Record<string, string>;
  /** The effect's idempotency key (src/hooks/idempotency.ts); each hook's call gets its own from it. */
  idempotencyKey?: string;
}

/** The body one hook receives: the canary's identity plus the hook's own metadata. */
export function webhookPayload(
  context: CanaryHookContext,
  hook: Pick<CanaryWebhook, 'metadata'> & { name?: string },
): CanaryWebhookPayload {
  return {
    name: context.name,
    namespace: context.namespace,
    phase: context.phase,
    checksum: context.checksum,
    metadata: { ...hook.metadata, ...context.metadata },
    ...(context.idempotencyKey ? { idempotencyKey: hookKey(context.idempotencyKey, hook.name ?? '') } : {}),
  };
}

/**
 * Calls every hook of one type at once and waits for all of them. Each call is its own
 * promise with its own timeout, so one slow receiver delays only its own result.
 */
export async function runWebhooks(
  hooks: readonly CanaryWebhook[],
  type: HookType,
  context: CanaryHookContext,
  deps: WebhookDeps = {},
): Promise<WebhookRun> {
  const selected = hooks.filter((hook) => hook.type === type);
  const results = await Promise.all(
    selected.map(async (hook): Promise<NamedWebhookResult> => {
      const result = await callWebhook(hook, webhookPayload(context, hook), deps);
      return { ...result, name: hook.name, type: hook.type, muteAlert: hook.muteAlert ?? false };
    }),
  );
  return { passed: results.every((result) => result.passed), results };
}

/**
 * Whether the alert for a failed run is muted (Flagger's `muteAlert`): every hook that
 * failed asked for it. The failure is still an Event and still counts; only chat is spared.
 */
export function alertMuted(run: WebhookRun): boolean {
  const failing = run.results.filter((result) => !result.passed);
  return failing.length > 0 && failing.every((result) => result.muteAlert);
}

export interface CanaryEvent {
  message: string;
  /** Kubernetes event type. */
  type: 'Normal' | 'Warning';
  /** Epoch milliseconds. */
  timestamp: number;
}

/**
 * The hooks that receive a canary's events: its own `event` hooks, or else the
 * controller's global event webhook (`--event-webhook`), as in Flagger.
 */
export function eventWebhooks(hooks: readonly CanaryWebhook[], globalEventWebhook?: string): CanaryWebhook[] {
  const own = hooks.filter((hook) => hook.type === 'event');
  if (own.length > 0 || !globalEventWebhook) return own;
  return [{ name: 'events', type: 'event', url: globalEventWebhook, secretPath: true }];
}

/** An event hook's body: event fields in metadata (Flagger's keys), hook metadata never overriding them. */
export function eventWebhookPayload(
  context: CanaryHookContext,
  hook: Pick<CanaryWebhook, 'metadata'> & { name?: string },
  event: CanaryEvent,
): CanaryWebhookPayload {
  return {
    ...webhookPayload(context, hook),
    metadata: {
      ...hook.metadata,
      ...context.metadata,
      eventMessage: event.message,
      eventType: event.type,
      timestamp: String(Math.trunc(event.timestamp)),
    },
  };
}

/** Sends one canary event to its event hooks (or the global one), all at once. */
export async function sendEventWebhooks(
  hooks: readonly CanaryWebhook[],
  globalEventWebhook: string | undefined,
  context: CanaryHookContext,
  event: CanaryEvent,
  deps: WebhookDeps = {},
): Promise<WebhookRun> {
  const targets = eventWebhooks(hooks, globalEventWebhook);
  const results = await Promise.all(
    targets.map(async (hook): Promise<NamedWebhookResult> => {
      const result = await callWebhook(hook, eventWebhookPayload(context, hook, event), deps);
      return { ...result, name: hook.name, type: hook.type, muteAlert: hook.muteAlert ?? false };
    }),
  );
  return { passed: results.every((result) => result.passed), results };
}

/**
 * The payload checksum: a hash of the canary's tracked config checksums and last applied
 * spec, so a receiver can tell one revision's run from another's (Flagger's meaning).
 */
export function canaryChecksum(status: {
  trackedConfigs?: Record<string, string> | undefined;
  lastAppliedSpec?: string | undefined;
}): string {
  const tracked = Object.entries(status.trackedConfigs ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return createHash('sha256')
    .update(JSON.stringify({ trackedConfigs: tracked, lastAppliedSpec: status.lastAppliedSpec ?? '' }))
    .digest('hex')
    .slice(0, 16);
}

/** WebhookDeps.readSecret from the Kubernetes API: a Secret's decoded data. */
export function kubeSecretReader(kube: Pick<Kube, 'wire'>): NonNullable<WebhookDeps['readSecret']> {
  return async (namespace, name) => decodeSecretData(await readSecretData(kube, namespace, name));
}
