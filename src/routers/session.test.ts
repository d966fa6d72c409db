import { describe, expect, it } from 'vitest';
import { canaryWith as testCanary } from '../../test/support/canaries.ts';
import { sessionAffinityStatus, sessionCookie } from './session.ts';

function canaryWith(status: Record<string, unknown> = {}, affinity = true) {
  return testCanary(
    { analysis: { stepWeight: 10, ...(affinity ? { sessionAffinity: { cookieName: 'canary' } } : {}) } },
    { metadata: { uid: 'u-1' }, status },
  );
}

describe('session affinity status', () => {
  it('reports the cookie of the revision under analysis, and the one before once the revision moves on', () => {
    const first = canaryWith({ lastAppliedSpec: 'rev-1' });
    const cookie = sessionCookie(first)!;
    const status = sessionAffinityStatus(first);
    expect(status).toEqual({ sessionAffinityCookie: `canary=${cookie.value}` });

    const second = canaryWith({ lastAppliedSpec: 'rev-2', ...status });
    const next = sessionAffinityStatus(second);
    expect(next.sessionAffinityCookie).not.toBe(status.sessionAffinityCookie);
    expect(next.previousSessionAffinityCookie).toBe(status.sessionAffinityCookie);
    // Written again with the same revision, nothing moves.
    expect(sessionAffinityStatus(canaryWith({ lastAppliedSpec: 'rev-2', ...next }))).toEqual(next);
  });

  it('never takes the cookie from status: a stale recorded cookie does not pin a new revision', () => {
    const canary = canaryWith({ lastAppliedSpec: 'rev-2', sessionAffinityCookie: 'canary=stale' });
    expect(sessionCookie(canary)!.value).not.toBe('stale');
  });

  it('is empty without session affinity', () => {
    expect(sessionAffinityStatus(canaryWith({ lastAppliedSpec: 'rev-1' }, false))).toEqual({});
  });
});
