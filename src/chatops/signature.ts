import { createHmac, timingSafeEqual } from 'node:crypto';

// Slack signs each request it sends: X-Slack-Signature is `v0=` + hex HMAC-SHA256 of
// `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret. A request
// older (or newer) than five minutes is refused, and so is one seen before: a captured
// request sent again changes nothing.

export const MAX_SKEW_SECONDS = 5 * 60;

export type Verdict = { ok: true } | { ok: false; reason: string };

/** The signature Slack would send for this body at this timestamp. */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedRequest {
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
}

/** Checks one request's signature and age; `nowSeconds` is the receiver's clock. */
export function verifySlackRequest(secret: string, request: SignedRequest, nowSeconds: number): Verdict {
  const { timestamp, signature } = request;
  if (!timestamp || !signature)
    return { ok: false, reason: 'missing X-Slack-Request-Timestamp or X-Slack-Signature' };
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time' };
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'X-Slack-Request-Timestamp is more than 5 minutes from now' };
  }
  const expected = Buffer.from(slackSignature(secret, timestamp, request.body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch is a mismatch.
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'X-Slack-Signature does not match' };
  }
  return { ok: true };
}

/** Signatures accepted in the last five minutes: the same one again is a replay. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** True the first time a signature is seen within the window, false after. */
  firstUse(signature: string, timestampSeconds: number, nowSeconds: number): boolean {
    for (const [key, at] of this.#seen) {
      if (nowSeconds - at > MAX_SKEW_SECONDS * 2) this.#seen.delete(key);
      else break;
    }
    if (this.#seen.has(signature)) return false;
    if (this.#seen.size >= this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#seen.set(signature, Math.max(timestampSeconds, nowSeconds));
    return true;
  }
}
