import { createHash } from 'node:crypto';

// Side effects exactly once across a kill (docs/decisions/0026-side-effects-once.md). Each
// effect the machine asks for has an id from its persisted counter (`context.seq`); a
// controller that dies before its status write restores the same counter and asks for the
// same effect under the same id again. A key made of the canary's uid, the revision's
// checksum, that id and what the effect is therefore names one side effect: the same key is
// a repeat of the same call, a new key a new call (the rollout hook of the next interval).

/** The header every webhook call carries its key in (as the IETF draft `Idempotency-Key`). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The length of a key in hex digits (128 bits). */
const KEY_HEX = 32;

/** What names one side effect of a rollout. */
export interface EffectIdentity {
  /** The Canary's metadata.uid: a Canary deleted and created again starts over. */
  uid: string;
  /** The revision's checksum (the webhook payload's `checksum`). */
  checksum: string;
  /** The machine's effect id (persisted with the status, so a replay after a kill asks for the same one). */
  effectId: number;
}

function digest(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, KEY_HEX);
}

/** The key of one effect; `what` tells its kind and content apart (a hook's type, an event's reason and message). */
export function effectKey(identity: EffectIdentity, ...what: string[]): string {
  return digest([identity.uid, identity.checksum, String(identity.effectId), ...what]);
}

/** The key of one webhook's call within an effect that calls several hooks. */
export function hookKey(effect: string, hookName: string): string {
  return digest([effect, hookName]);
}

/** The longest name an Event may have (a DNS subdomain). */
const MAX_NAME = 253;

/**
 * The name of the Kubernetes Event that announces an effect: the Canary's name and the key,
 * as client-go names Events (`<object>.<suffix>`). A second create of the same announcement
 * meets AlreadyExists, which tells the controller it was already made.
 */
export function keyedEventName(subjectName: string, key: string): string {
  const suffix = `.${key}`;
  return `${subjectName.slice(0, MAX_NAME - suffix.length)}${suffix}`;
}
