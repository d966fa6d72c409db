import { z } from 'zod';
import { CanaryWebhook as ApiCanaryWebhook } from '../api/canary.ts';
import type { UrlRefusedError } from './url-policy.ts';

// Webhook definitions come from the Canary API (src/api/canary.ts, Flagger's
// `analysis.webhooks[]` plus Sluice's `insecureSkipVerify`).

export { HOOK_TYPES, type HookType } from '../api/canary.ts';

/** One entry of `analysis.webhooks`. */
export const canaryWebhookSchema = ApiCanaryWebhook;
export type CanaryWebhook = Omit<z.output<typeof canaryWebhookSchema>, 'timeout'> & {
  /** Per-attempt timeout, a Go duration; 10s when absent (the API always sets one). */
  timeout?: string;
  /**
   * The URL's path is a secret too (the operator's --event-webhook, often a chat service's
   * incoming webhook): messages show only its origin. A Canary's own hooks show their path,
   * which the Canary holds in clear text anyway.
   */
  secretPath?: boolean;
};
export type CanaryWebhookInput = z.input<typeof canaryWebhookSchema>;

/**
 * The JSON body every webhook receives (Flagger's CanaryWebhookPayload). Event hooks
 * carry `eventMessage`, `eventType` and `timestamp` inside `metadata`, as Flagger sends
 * them, so receivers written for Flagger keep working.
 */
export const canaryWebhookPayloadSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  phase: z.string().default(''),
  checksum: z.string().default(''),
  metadata: z.record(z.string(), z.string()).optional(),
  /**
   * Sluice's addition: the same for a repeat of the same call (after a controller restart or
   * a leader change), new for every new call; also sent as the `Idempotency-Key` header.
   * Receivers that run something (a load test) run it once per key.
   */
  idempotencyKey: z.string().min(1).max(128).optional(),
});
export type CanaryWebhookPayload = z.infer<typeof canaryWebhookPayloadSchema>;

/** What one webhook call came to. `passed` is true only for a 2xx answer. */
export interface WebhookResult {
  passed: boolean;
  /** The HTTP status of the last attempt; absent when no answer came (timeout, refused). */
  status?: number;
  /** Why it passed or failed, fit for a log line, an Event or a Slack message. */
  message: string;
  durationMs: number;
  attempts: number;
  /** Set when --allowed-url-hosts refused the URL (or a redirect or DNS answer of it). */
  refused?: UrlRefusedError;
}
