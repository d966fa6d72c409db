import { describe, expect, it } from 'vitest';
import { mayPress, parseAllowlist } from './allowlist.ts';

describe('Slack allowlist', () => {
  it('maps users to the buttons they may press; "all" and "*" widen it', () => {
    const list = parseAllowlist('U0ALICE: all\nU0BOB: [pause]\n"*": [pause]\n', 'users.yaml');
    expect(mayPress(list, 'U0ALICE', 'approve')).toBe(true);
    expect(mayPress(list, 'U0BOB', 'pause')).toBe(true);
    expect(mayPress(list, 'U0BOB', 'rollback')).toBe(false);
    expect(mayPress(list, 'U0CAROL', 'pause')).toBe(true);
    expect(mayPress(list, 'U0CAROL', 'approve')).toBe(false);
  });

  it('refuses nobody by default only when listed: an empty file allows nothing', () => {
    const list = parseAllowlist('', 'users.yaml');
    expect(mayPress(list, 'U0ALICE', 'pause')).toBe(false);
  });

  it('names the file and the entry of an unknown button', () => {
    expect(() => parseAllowlist('U0ALICE: [approve, merge]', 'users.yaml')).toThrow(
      /users\.yaml: U0ALICE\.1: .*approve, deny, rollback, pause/,
    );
  });

  it('refuses a user key that is no Slack id', () => {
    expect(() => parseAllowlist('alice: all', 'users.yaml')).toThrow(
      /users\.yaml: alice: expected a Slack user id/,
    );
  });
});
