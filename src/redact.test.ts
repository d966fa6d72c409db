import { describe, expect, it } from 'vitest';
import { basicAuthForm, redact, secretForms } from './redact.ts';

describe('redact', () => {
  it('removes a secret in every form it travels in', () => {
    const token = 'xoxb-1234-abcd';
    for (const form of [token, Buffer.from(token).toString('base64'), encodeURIComponent('a b&c')]) {
      expect(redact(`got ${form} back`, [token, 'a b&c'])).toBe('got [redacted] back');
    }
  });

  it("removes a URL's path, query values and the basic auth its userinfo becomes (issue 16 §5 leak)", () => {
    const url = 'http://user:pa55-word@gate.test.svc/hooks/T0/B0/XYZ?token=t0ken-1&x=1';
    const echo = `you sent authorization=Basic ${basicAuthForm('user', 'pa55-word')} to /hooks/T0/B0/XYZ?token=t0ken-1&x=1 (token t0ken-1)`;
    expect(redact(echo, [url])).toBe(
      'you sent authorization=Basic [redacted] to [redacted][redacted] (token [redacted])',
    );
    expect(secretForms(url)).toContain('pa55-word');
  });

  it('ignores what is too short to be a secret, and undefined', () => {
    expect(redact('a b c', ['a', undefined, ''])).toBe('a b c');
  });
});
