import type { Canary } from '../api/canary.ts';
import { shortHash } from '../kube/hash.ts';

// Session affinity (spec.analysis.sessionAffinity): a response from the canary sets a
// cookie, and requests carrying it keep going to the canary. The cookie's value is
// derived from the Canary and the revision under analysis, so setting the same routes
// twice writes the same object and a new revision gets a new cookie.

export interface SessionCookie {
  name: string;
  value: string;
  maxAge: number;
}

/** The cookie of the revision under analysis (derived, never read back from status). */
export function sessionCookie(canary: Canary): SessionCookie | undefined {
  const affinity = canary.spec.analysis.sessionAffinity;
  if (!affinity) return undefined;
  const value = shortHash(
    `${canary.metadata.uid ?? canary.metadata.name}/${canary.status?.lastAppliedSpec ?? ''}`,
  );
  return { name: affinity.cookieName, value, maxAge: affinity.maxAge };
}

/**
 * status.sessionAffinityCookie and previousSessionAffinityCookie, as Flagger reports them
 * (`<name>=<value>`): the cookie the routes pin users with now, and the one before it once
 * a new revision has its own. Empty without session affinity. The controller writes them
 * with the status; the routes never read them back.
 */
export function sessionAffinityStatus(canary: Canary): {
  sessionAffinityCookie?: string;
  previousSessionAffinityCookie?: string;
} {
  const cookie = sessionCookie(canary);
  if (!cookie) return {};
  const current = `${cookie.name}=${cookie.value}`;
  const recorded = canary.status?.sessionAffinityCookie;
  const previous =
    recorded !== undefined && recorded !== current ? recorded : canary.status?.previousSessionAffinityCookie;
  return { sessionAffinityCookie: current, ...(previous ? { previousSessionAffinityCookie: previous } : {}) };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regular expression (RE2) for a Cookie header that carries this cookie. */
export function cookieRegex(cookie: SessionCookie): string {
  return `.*${escapeRegex(cookie.name)}=${escapeRegex(cookie.value)}.*`;
}

/** The Set-Cookie value that pins a client (or, with maxAge -1, lets it go). */
export function setCookie(cookie: SessionCookie, maxAge = cookie.maxAge): string {
  return `${cookie.name}=${cookie.value}; Max-Age=${maxAge}`;
}
