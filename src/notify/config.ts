import type { UrlPolicy } from '../hooks/url-policy.ts';
import type { NotifyTransport } from './http.ts';

/** A notifier's settings once its URL and token are resolved (from a Secret or a flag). */
export interface NotifierConfig {
  /** For logs and errors, e.g. "alertprovider test/on-call" or "global slack"; never the URL. */
  name: string;
  url: string;
  /** Sent as `Authorization: Bearer …` (Slack bot tokens, generic receivers). */
  token?: string;
  username?: string;
  channel?: string;
  /** Slack: add approve/deny, roll back and pause buttons (the controller receives the presses). */
  interactive?: boolean;
}

/** What every notifier can be handed, so tests can record instead of posting. */
export interface NotifierDeps {
  transport?: NotifyTransport;
  timeoutMs?: number;
  retries?: number;
  backoff?: { initialDelayMs: number; maxDelayMs: number };
  /** The operator's --allowed-url-hosts (src/hooks/url-policy.ts). */
  urlPolicy?: UrlPolicy;
}

/** Throws an error naming the provider (not the URL) when the URL is not http(s). */
export function checkedUrl(config: NotifierConfig): string {
  let parsed: URL;
  try {
    parsed = new URL(config.url);
  } catch {
    throw new Error(`notifier ${config.name}: the address is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`notifier ${config.name}: the address must be an http(s) URL, not ${parsed.protocol}`);
  }
  return parsed.href;
}
