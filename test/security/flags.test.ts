import { describe, expect, it } from 'vitest';
import { sluice } from '../support/sluice.ts';

// The operator's own URLs are held to --allowed-url-hosts too, and a list that cannot be
// read stops the controller at once, naming the flag.

describe('sluice controller --allowed-url-hosts (issue 16 §5)', () => {
  it('does not start when a global URL is outside the list', async () => {
    const run = await sluice(
      [
        'controller',
        '--no-leader-elect',
        '--allowed-url-hosts=cluster-local',
        '--slack-url=https://hooks.slack.com/services/T0/B0/secret-path',
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      '--slack-url: host "hooks.slack.com" is not allowed by --allowed-url-hosts=cluster-local',
    );
    expect(run.stderr).not.toContain('secret-path');
  });

  it('does not start with a list it cannot read', async () => {
    const run = await sluice(
      ['controller', '--no-leader-elect', '--allowed-url-hosts=cluster-local,http://x'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      '--allowed-url-hosts: "http://x" is not cluster-local, a host name, *.domain, an IP address or a CIDR range',
    );
  });
});
