import { ExponentialBackoff, handleWhenResult, retry } from 'cockatiel';
import { loadGot } from '../got.ts';
import { describeNetworkError, redact } from '../hooks/webhook.ts';
import {
  checkUrl,
  guardedGotOptions,
  urlRefusal,
  UrlRefusedError,
  type UrlPolicy,
} from '../hooks/url-policy.ts';

export interface NotifyRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** The operator's --allowed-url-hosts, held to on every redirect and DNS answer. */
  urlPolicy?: UrlPolicy;
  /** Names the URL's origin in a refusal: the provider. */
  field?: string;
}

/** One HTTP attempt; throws on network errors, returns any HTTP answer. */
export type NotifyTransport = (request: NotifyRequest) => Promise<{ status: number; body: string }>;

export const gotNotifyTransport: NotifyTransport = async (request) => {
  const got = await loadGot();
  const response = await got.post(request.url, {
    body: request.body,
    headers: request.headers,
    timeout: { request: request.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    ...guardedGotOptions(request.urlPolicy, request.field ?? 'notifier url'),
  });
  return { status: response.statusCode, body: response.body };
};

export interface PostOptions {
  /** Names the provider in errors; the URL never appears in them. */
  provider: string;
  token?: string;
  timeoutMs?: number;
  /** Extra attempts on a network error or 5xx. */
  retries?: number;
  transport?: NotifyTransport;
  backoff?: { initialDelayMs: number; maxDelayMs: number };
  /** The operator's --allowed-url-hosts: a URL outside it is refused, never called. */
  urlPolicy?: UrlPolicy;
}

/** Flagger gives a notification 5 s; a chat service slower than that is down for us. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5_000;
export const DEFAULT_NOTIFY_RETRIES = 1;

/** A provider did not take a message. The message is safe to log: no URL, no token. */
export class NotifyError extends Error {
  readonly provider: string;
  readonly status: number | undefined;
  /** Set when --allowed-url-hosts refused the URL, a redirect of it or what its name resolves to. */
  readonly refused: UrlRefusedError | undefined;

  constructor(provider: string, reason: string, status?: number, refused?: UrlRefusedError) {
    super(`notifier ${provider}: ${reason}`);
    this.name = 'NotifyError';
    this.provider = provider;
    this.status = status;
    this.refused = refused;
  }
}

type Attempt = { ok: true; status: number; body: string } | { ok: false; error: unknown };

/** POSTs JSON; 2xx is success (Teams Workflows answer 202, Discord 204). */
export async function postJson(url: string, payload: unknown, options: PostOptions): Promise<void> {
  await postForAnswer(url, JSON.stringify(payload), 'application/json', options);
}

/**
 * POSTs a body of `contentType` and returns the 2xx answer's body (an API's answer to read,
 * src/notify/slack-api.ts); retries and errors as postJson's.
 */
export async function postForAnswer(
  url: string,
  body: string,
  contentType: string,
  options: PostOptions,
): Promise<string> {
  const transport = options.transport ?? gotNotifyTransport;
  const timeoutMs = options.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const secrets = [url, options.token];
  const field = `notifier ${options.provider} url`;
  try {
    checkUrl(options.urlPolicy, url, field);
  } catch (error) {
    if (error instanceof UrlRefusedError)
      throw new NotifyError(options.provider, `refused: ${error.message}`, undefined, error);
    throw error;
  }
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': 'sluice-notifier',
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const backoff = options.backoff ?? { initialDelayMs: 500, maxDelayMs: 2_000 };
  const policy = retry(
    handleWhenResult((value) => {
      const attempt = value as Attempt;
      return attempt.ok ? attempt.status >= 500 : !urlRefusal(attempt.error);
    }),
    {
      maxAttempts: options.retries ?? DEFAULT_NOTIFY_RETRIES,
      backoff: new ExponentialBackoff({ initialDelay: backoff.initialDelayMs, maxDelay: backoff.maxDelayMs }),
    },
  );
  const last = await policy.execute(async (): Promise<Attempt> => {
    try {
      return {
        ok: true,
        ...(await transport({
          url,
          body,
          headers,
          timeoutMs,
          field,
          ...(options.urlPolicy ? { urlPolicy: options.urlPolicy } : {}),
        })),
      };
    } catch (error) {
      return { ok: false, error };
    }
  });
  if (!last.ok) {
    throw new NotifyError(
      options.provider,
      redact(describeNetworkError(last.error, timeoutMs, url), secrets),
      undefined,
      urlRefusal(last.error),
    );
  }
  if (last.status < 200 || last.status >= 300) {
    const answer = redact(last.body.trim().slice(0, 300), secrets);
    throw new NotifyError(
      options.provider,
      `answered ${last.status}${answer ? `: ${answer}` : ''}`,
      last.status,
    );
  }
  return last.body;
}
