import { describe, expect, it } from 'vitest';
import {
  checkControllerSpawnsNothing,
  checkLoadtesterToken,
  checkNoShell,
  checkUrlAllowlist,
} from '../../bench/security/http-checks.ts';

// Thin wrappers: the checks live in bench/security so `npm run chaos -- security` runs the same.

describe('security over loopback HTTP (issue 16 §5)', () => {
  it('--allowed-url-hosts refuses hosts, redirects and DNS answers outside the list, for webhooks and notifiers', async () => {
    const report = await checkUrlAllowlist();
    expect(report.failures).toEqual([]);
    expect(report.cases).toBe(11);
  });

  it('the load tester with --token-file refuses every caller without the bearer token and never logs it', async () => {
    const report = await checkLoadtesterToken();
    expect(report.failures).toEqual([]);
    expect(report.cases).toBe(7 * 4 + 2 + 3 + 4);
  });

  it('no webhook payload starts a shell or a program outside the allowlist', async () => {
    const report = await checkNoShell();
    expect(report.failures).toEqual([]);
    expect(report.cases).toBe(5 * 16 + 2);
  });

  it("the controller command's code (src/cli/controller.ts and all it imports) cannot start a process", () => {
    const report = checkControllerSpawnsNothing();
    expect(report.failures).toEqual([]);
    expect(report.cases).toBeGreaterThan(50);
  });
});
