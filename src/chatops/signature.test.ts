import { describe, expect, it } from 'vitest';
import { ReplayGuard, slackSignature, verifySlackRequest } from './signature.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = 1_700_000_000;
const BODY = 'payload=%7B%22type%22%3A%22block_actions%22%7D';

describe('Slack request signatures', () => {
  it('computes v0 signatures as Slack documents them (HMAC-SHA256 of v0:ts:body, hex)', () => {
    // The example of Slack's "Verifying requests" page.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('accepts a request signed with the secret within five minutes', () => {
    const timestamp = String(NOW - 290);
    const signature = slackSignature(SECRET, timestamp, BODY);
    expect(verifySlackRequest(SECRET, { timestamp, signature, body: BODY }, NOW)).toEqual({ ok: true });
  });

  it.each([
    [
      'another secret',
      { timestamp: String(NOW), signature: slackSignature('other', String(NOW), BODY) },
      'does not match',
    ],
    [
      'a changed body',
      { timestamp: String(NOW), signature: slackSignature(SECRET, String(NOW), `${BODY}x`) },
      'does not match',
    ],
    [
      'a stale timestamp',
      { timestamp: String(NOW - 301), signature: slackSignature(SECRET, String(NOW - 301), BODY) },
      '5 minutes',
    ],
    [
      'a future timestamp',
      { timestamp: String(NOW + 301), signature: slackSignature(SECRET, String(NOW + 301), BODY) },
      '5 minutes',
    ],
    ['no signature', { timestamp: String(NOW), signature: undefined }, 'missing'],
    ['no timestamp', { timestamp: undefined, signature: 'v0=00' }, 'missing'],
    ['a malformed timestamp', { timestamp: '12abc', signature: 'v0=00' }, 'not a Unix time'],
    ['a short signature', { timestamp: String(NOW), signature: 'v0=abc' }, 'does not match'],
  ])('refuses %s', (_what, headers, reason) => {
    const verdict = verifySlackRequest(SECRET, { ...headers, body: BODY }, NOW);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? '' : verdict.reason).toContain(reason);
  });

  it('lets a signature through once: the same request again is a replay', () => {
    const guard = new ReplayGuard();
    expect(guard.firstUse('v0=aa', NOW, NOW)).toBe(true);
    expect(guard.firstUse('v0=aa', NOW, NOW + 10)).toBe(false);
    expect(guard.firstUse('v0=bb', NOW, NOW + 10)).toBe(true);
  });

  it('stays bounded, forgetting the oldest signatures first', () => {
    const guard = new ReplayGuard(2);
    guard.firstUse('a', NOW, NOW);
    guard.firstUse('b', NOW, NOW);
    guard.firstUse('c', NOW, NOW);
    expect(guard.firstUse('a', NOW, NOW)).toBe(true);
    expect(guard.firstUse('c', NOW, NOW)).toBe(false);
  });
});
