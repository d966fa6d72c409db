import { z } from 'zod';
import { DURATION_PATTERN } from '../api/duration.ts';

// The small slice of the Canary API that webhooks need, in Flagger's field names
// (`analysis.webhooks[]`, `CanaryWebhookPayload`). When src/api/canary.ts exports the
// same shapes, this file should re-export them instead of declaring its own.

/** When a webhook is called during a canary run (Flagger's HookType values). */
export const HOOK_TYPES = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
] as const;

export const hookTypeSchema = z.enum(HOOK_TYPES);
export type HookType = z.infer<typeof hookTypeSchema>;

/** The largest `retries` Sluice accepts: retries multiply the time a hook may take. */
export const MAX_WEBHOOK_RETRIES = 10;

/** One entry of `analysis.webhooks`. */
export const canaryWebhookSchema = z.object({
  name: z.string().min(1),
  /** Flagger defaults a missing type to `rollout`. */
  type: hookTypeSchema.default('rollout'),
  url: z.url({ protocol: /^https?$/ }),
  /** Per-attempt timeout, a Go duration; 10s when absent (5s for event hooks, as Flagger). */
  timeout: z.string().regex(new RegExp(DURATION_PATTERN)).optional(),
  /** Failures of this hook raise no alert. */
  muteAlert: z.boolean().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /** Extra attempts after the first on a network error or 5xx (never on 4xx). */
  retries: z.number().int().min(0).max(MAX_WEBHOOK_RETRIES).optional(),
  /** Sluice addition: accept any TLS certificate from this receiver. */
  insecureSkipVerify: z.boolean().optional(),
});
export type CanaryWebhook = z.infer<typeof canaryWebhookSchema>;
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
}
