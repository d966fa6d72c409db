import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  checkUrl,
  guardedLookup,
  hostAllowed,
  parseUrlPolicy,
  UrlRefusedError,
  webhookUrlIssues,
} from './url-policy.ts';

describe('parseUrlPolicy and hostAllowed', () => {
  const policy = parseUrlPolicy('cluster-local, hooks.slack.com, *.example.com, 10.0.0.0/8, fd00::1');

  it('admits Service names, listed hosts, subdomains of a wildcard, and listed addresses', () => {
    for (const host of [
      'loadtester.test.svc',
      'loadtester.test.svc.cluster.local',
      'hooks.slack.com',
      'a.example.com',
      'a.b.example.com',
      '10.1.2.3',
      'fd00::1',
    ])
      expect(hostAllowed(policy, host), host).toBe(true);
  });

  it('refuses everything else: the apex of a wildcard, look-alikes, metadata and loopback addresses', () => {
    for (const host of [
      'example.com',
      'evilexample.com',
      'hooks.slack.com.evil.io',
      'svc',
      'a.svc.evil.io',
      '169.254.169.254',
      '127.0.0.1',
      '::1',
      'localhost',
    ])
      expect(hostAllowed(policy, host), host).toBe(false);
  });

  it('names an entry it cannot read', () => {
    expect(() => parseUrlPolicy('cluster-local,http://x')).toThrow(
      '--allowed-url-hosts: "http://x" is not cluster-local, a host name, *.domain, an IP address or a CIDR range',
    );
    expect(() => parseUrlPolicy('10.0.0.0/33')).toThrow(/no valid prefix length/);
    expect(() => parseUrlPolicy(' , ')).toThrow(/the list is empty/);
  });
});

describe('checkUrl', () => {
  const policy = parseUrlPolicy('cluster-local');

  it('refuses naming the field, the host and the flag, never the URL', () => {
    let error: unknown;
    try {
      checkUrl(policy, 'http://user:pa55word@169.254.169.254/latest?token=t0ken', 'webhook gate url');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UrlRefusedError);
    expect((error as UrlRefusedError).message).toBe(
      'webhook gate url: host "169.254.169.254" is not allowed by --allowed-url-hosts=cluster-local',
    );
  });

  it('passes every http(s) URL without a policy, and no other scheme', () => {
    expect(checkUrl(undefined, 'http://169.254.169.254/', 'f').host).toBe('169.254.169.254');
    expect(() => checkUrl(undefined, 'file:///etc/passwd', 'f')).toThrow(/must be an http\(s\) URL/);
    expect(checkUrl(policy, 'http://gate.test.svc.cluster.local.:8080/x', 'f').port).toBe('8080');
  });

  it('lists the webhooks a Canary may not call, by field', () => {
    expect(
      webhookUrlIssues(policy, [{ url: 'http://loadtester.test.svc/' }, { url: 'https://attacker.io/x' }]),
    ).toEqual([
      {
        path: 'spec.analysis.webhooks[1].url',
        message: 'host "attacker.io" is not allowed by --allowed-url-hosts=cluster-local',
      },
    ]);
    expect(webhookUrlIssues(undefined, [{ url: 'https://attacker.io/x' }])).toEqual([]);
  });
});

describe('guardedLookup', () => {
  const resolver =
    (addresses: LookupAddress[]) =>
    (_host: string, _options: unknown, callback: (error: null, addresses: LookupAddress[]) => void) =>
      callback(null, addresses);
  const lookup = (policy: string, addresses: LookupAddress[], all = false) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) =>
      guardedLookup(parseUrlPolicy(policy), 'webhook url', resolver(addresses) as never)(
        'gate.test.svc',
        { all },
        (error, address) => resolve({ error, address }),
      ),
    );

  it('refuses a name that resolves to a loopback or link-local address', async () => {
    for (const address of ['127.0.0.1', '169.254.169.254', '0.0.0.0', '::1', 'fe80::1', '::ffff:127.0.0.1']) {
      const family = address.includes(':') ? 6 : 4;
      const { error } = await lookup('cluster-local', [
        { address: '10.0.0.1', family: 4 },
        { address, family },
      ]);
      expect(error, address).toBeInstanceOf(UrlRefusedError);
      expect(error?.message).toContain(`resolves to ${address}`);
    }
  });

  it('answers with the addresses otherwise, one or all as asked', async () => {
    const addresses = [{ address: '10.96.0.10', family: 4 }];
    expect(await lookup('cluster-local', addresses)).toEqual({ error: null, address: '10.96.0.10' });
    expect(await lookup('cluster-local', addresses, true)).toEqual({ error: null, address: addresses });
    // Loopback listed by address is the operator's choice.
    expect((await lookup('cluster-local,127.0.0.1', [{ address: '127.0.0.1', family: 4 }])).error).toBeNull();
  });
});
