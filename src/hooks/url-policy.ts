import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Hooks } from 'got';

// Which hosts the controller may call for webhooks and notifications
// (`--allowed-url-hosts`, docs/decisions/0012-url-allowlist.md). A Canary author writes
// webhook URLs and AlertProvider Secrets; without a list the controller calls any of them,
// the cloud metadata address included (SSRF). With one, every URL, every redirect hop and
// every address a name resolves to must pass it.

export const URL_POLICY_FLAG = '--allowed-url-hosts';

/** Stands for the cluster's Service names: `*.svc` and `*.svc.cluster.local`. */
export const CLUSTER_LOCAL = 'cluster-local';

export interface UrlPolicy {
  /** The list as the operator wrote it, for messages. */
  readonly text: string;
  readonly exact: ReadonlySet<string>;
  /** `*.example.com` → `.example.com` (subdomains only, not the apex). */
  readonly suffixes: readonly string[];
  /** IP addresses and CIDR ranges written in the list. */
  readonly addresses: BlockList;
  readonly clusterLocal: boolean;
}

/** A URL the policy refuses; the message names the field, the host and the flag, never the URL. */
export class UrlRefusedError extends Error {
  readonly code = 'ERR_SLUICE_URL_REFUSED';
  /** Where the URL came from: `spec.analysis.webhooks[0].url`, `alertprovider ns/name`. */
  readonly field: string;
  readonly host: string;

  constructor(field: string, host: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'UrlRefusedError';
    this.field = field;
    this.host = host;
  }
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * Parses the flag's comma-separated list: `cluster-local`, host names, `*.domain` wildcards,
 * IP addresses and CIDR ranges. Throws naming the entry that is none of these.
 */
export function parseUrlPolicy(text: string): UrlPolicy {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  const addresses = new BlockList();
  let clusterLocal = false;
  const entries = text
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`${URL_POLICY_FLAG}: the list is empty`);
  for (const entry of entries) {
    if (entry === CLUSTER_LOCAL) {
      clusterLocal = true;
      continue;
    }
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address?.replace(/^\[|\]$/g, '') ?? '');
    if (family !== 0 && extra === undefined) {
      const ip = (address as string).replace(/^\[|\]$/g, '');
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) addresses.addAddress(ip, type);
      else {
        const prefix = Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
          throw new Error(`${URL_POLICY_FLAG}: "${entry}" has no valid prefix length`);
        addresses.addSubnet(ip, prefix, type);
      }
      continue;
    }
    if (!HOST_PATTERN.test(entry))
      throw new Error(
        `${URL_POLICY_FLAG}: "${entry}" is not ${CLUSTER_LOCAL}, a host name, *.domain, an IP address or a CIDR range`,
      );
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else exact.add(entry);
  }
  return { text: entries.join(','), exact, suffixes, addresses, clusterLocal };
}

function hostOf(url: URL): string {
  return url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** Whether the list admits this host name or address (not yet what a name resolves to). */
export function hostAllowed(policy: UrlPolicy, host: string): boolean {
  const family = isIP(host);
  if (family !== 0) return policy.addresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
  if (policy.exact.has(host)) return true;
  if (policy.suffixes.some((suffix) => host.endsWith(suffix))) return true;
  return policy.clusterLocal && (host.endsWith('.svc') || host.endsWith('.svc.cluster.local'));
}

/** Loopback, link-local (cloud metadata at 169.254.169.254) and unspecified addresses. */
const HOST_LOCAL = new BlockList();
HOST_LOCAL.addSubnet('127.0.0.0', 8, 'ipv4');
HOST_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
HOST_LOCAL.addSubnet('0.0.0.0', 8, 'ipv4');
HOST_LOCAL.addAddress('::1', 'ipv6');
HOST_LOCAL.addAddress('::', 'ipv6');
HOST_LOCAL.addSubnet('fe80::', 10, 'ipv6');
HOST_LOCAL.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
HOST_LOCAL.addSubnet('::ffff:169.254.0.0', 112, 'ipv6');

/**
 * Checks a URL before it is called: http(s) only, a host the list admits. Throws a
 * UrlRefusedError naming `field`. Without a policy every http(s) URL passes.
 */
export function checkUrl(policy: UrlPolicy | undefined, url: string | URL, field: string): URL {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new UrlRefusedError(field, '', 'the address is not a valid URL');
  }
  const host = hostOf(parsed);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UrlRefusedError(field, host, `the address must be an http(s) URL, not ${parsed.protocol}`);
  if (policy && !hostAllowed(policy, host))
    throw new UrlRefusedError(
      field,
      host,
      `host "${host}" is not allowed by ${URL_POLICY_FLAG}=${policy.text}`,
    );
  return parsed;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
export type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * A DNS lookup for got that refuses names resolving to loopback or link-local addresses
 * unless the list names that address itself: checked on the addresses the socket connects
 * to, so a name that resolves differently the second time (DNS rebinding) gains nothing.
 */
export function guardedLookup(
  policy: UrlPolicy,
  field: string,
  resolve: typeof dnsLookup = dnsLookup,
): Lookup {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = addresses.find(
        (entry) =>
          HOST_LOCAL.check(entry.address, entry.family === 6 ? 'ipv6' : 'ipv4') &&
          !policy.addresses.check(entry.address, entry.family === 6 ? 'ipv6' : 'ipv4'),
      );
      if (refused) {
        return callback(
          new UrlRefusedError(
            field,
            hostname,
            `host "${hostname}" resolves to ${refused.address}, a loopback or link-local address, which ${URL_POLICY_FLAG} admits only by address`,
          ),
          [],
        );
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}

/** got options that hold every hop of a request to the policy: redirects and DNS answers. */
export function guardedGotOptions(
  policy: UrlPolicy | undefined,
  field: string,
): { dnsLookup?: Lookup; hooks?: Partial<Hooks> } {
  if (!policy) return {};
  return {
    dnsLookup: guardedLookup(policy, field),
    hooks: {
      beforeRedirect: [
        (options) => {
          const target = options.url;
          if (target) checkUrl(policy, target, `${field} (redirected)`);
        },
      ],
    },
  };
}

/** The refusal behind an error, also when got wrapped it in a RequestError. */
export function urlRefusal(error: unknown): UrlRefusedError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof UrlRefusedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The Canary's webhook URLs the list refuses, as validation issues naming the field and the
 * flag: for the reconciler to mark the Canary Stalled before any hook is called.
 */
export function webhookUrlIssues(
  policy: UrlPolicy | undefined,
  webhooks: ReadonlyArray<{ url: string }>,
  basePath = 'spec.analysis.webhooks',
): Array<{ path: string; message: string }> {
  if (!policy) return [];
  const issues: Array<{ path: string; message: string }> = [];
  webhooks.forEach((hook, index) => {
    const path = `${basePath}[${index}].url`;
    try {
      checkUrl(policy, hook.url, path);
    } catch (error) {
      if (!(error instanceof UrlRefusedError)) throw error;
      issues.push({ path, message: error.message.slice(path.length + 2) });
    }
  });
  return issues;
}
