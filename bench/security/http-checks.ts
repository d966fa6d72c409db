import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { callWebhook } from '../../src/hooks/webhook.ts';
import { parseUrlPolicy, type UrlPolicy } from '../../src/hooks/url-policy.ts';
import { splitCommand } from '../../src/loadtester/command.ts';
import { MemoryGateStore } from '../../src/loadtester/gates.ts';
import { Loadtester } from '../../src/loadtester/server.ts';
import { postJson } from '../../src/notify/http.ts';
import { hookPayload } from '../../test/support/canaries.ts';
import { listenOnLoopback, type Listening } from '../../test/support/loopback.ts';

// Issue 16 §5 checks that need only loopback HTTP, no control plane: the URL allowlist
// (hosts, redirects, DNS answers), the load tester's bearer token, and no shell from a
// webhook payload. Each returns what it tried and what went wrong, for the suite
// (test/security) and for `npm run chaos -- security`.

export interface CheckReport {
  /** Attempts made (requests, payloads, URLs). */
  cases: number;
  /** What did not hold, one line each; empty when the check passed. */
  failures: string[];
}

interface Local extends Listening {
  hits: string[];
}

/** A loopback server recording each request path; `handle` answers it. */
async function local(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<Local> {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '/');
    request.resume();
    request.on('end', () => handle(request, response));
  });
  return { ...(await listenOnLoopback(server)), hits };
}

/**
 * --allowed-url-hosts: listed hosts are called; others, redirects out of the list, and names
 * resolving to loopback are refused before a byte is sent to them, for webhooks and notifiers.
 */
export async function checkUrlAllowlist(): Promise<CheckReport> {
  const report: CheckReport = { cases: 0, failures: [] };
  const ok = await local((_request, response) => response.writeHead(200).end('ok'));
  const redirector = await local((request, response) => {
    const to =
      request.url === '/to-metadata'
        ? 'http://169.254.169.254/latest/meta-data/'
        : `http://localhost:${ok.port}/via-redirect`;
    response.writeHead(307, { location: to }).end();
  });
  const sameHostRedirect = await local((_request, response) =>
    response.writeHead(307, { location: `${ok.url}/same-host` }).end(),
  );
  const fast = { initialDelayMs: 1, maxDelayMs: 1 };
  const webhook = async (url: string, policy: UrlPolicy | undefined) =>
    callWebhook({ name: 'probe', type: 'rollout', url }, hookPayload(), { urlPolicy: policy, backoff: fast });
  const notify = async (url: string, policy: UrlPolicy | undefined) =>
    postJson(
      url,
      { text: 'x' },
      { provider: 'probe', backoff: fast, retries: 0, ...(policy ? { urlPolicy: policy } : {}) },
    ).then(
      () => 'sent',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
  const expect = (what: string, holds: boolean, detail = '') => {
    report.cases += 1;
    if (!holds) report.failures.push(`${what}${detail ? `: ${detail}` : ''}`);
  };
  try {
    const loopback = parseUrlPolicy('127.0.0.1');
    const clusterLocal = parseUrlPolicy('cluster-local');
    const byName = parseUrlPolicy('localhost');

    const allowed = await webhook(`${ok.url}/allowed`, loopback);
    expect('a listed address is called', allowed.passed, allowed.message);
    const sameHost = await webhook(sameHostRedirect.url, loopback);
    expect(
      'a redirect within the list is followed',
      sameHost.passed && ok.hits.includes('/same-host'),
      sameHost.message,
    );

    const before = ok.hits.length;
    const notListed = await webhook(`${ok.url}/x`, clusterLocal);
    expect(
      'an address outside cluster-local is refused, naming the flag',
      !notListed.passed &&
        notListed.refused !== undefined &&
        /--allowed-url-hosts=cluster-local/.test(notListed.message),
      notListed.message,
    );
    const redirected = await webhook(`${redirector.url}/to-localhost`, loopback);
    expect(
      'a redirect to a host outside the list is refused',
      !redirected.passed && redirected.refused !== undefined && /redirected/.test(redirected.message),
      redirected.message,
    );
    const metadata = await webhook(`${redirector.url}/to-metadata`, loopback);
    expect(
      'a redirect to the cloud metadata address is refused',
      !metadata.passed && metadata.refused !== undefined,
      metadata.message,
    );
    const rebound = await webhook(`http://localhost:${ok.port}/by-name`, byName);
    expect(
      'a listed name that resolves to loopback is refused',
      !rebound.passed && /resolves to (127\.0\.0\.1|::1)/.test(rebound.message),
      rebound.message,
    );
    expect(
      'no refused request reached a receiver',
      ok.hits.length === before,
      ok.hits.slice(before).join(', '),
    );

    const noPolicy = await webhook(`${redirector.url}/to-localhost`, undefined);
    expect('without the flag every URL is called, as before', noPolicy.passed, noPolicy.message);

    expect('a notifier calls a listed address', (await notify(`${ok.url}/notify`, loopback)) === 'sent');
    const refusedNotify = await notify(`${ok.url}/notify`, clusterLocal);
    expect(
      'a notifier refuses an address outside the list',
      /refused: .*--allowed-url-hosts/.test(refusedNotify),
      refusedNotify,
    );
    const redirectedNotify = await notify(`${redirector.url}/to-metadata`, loopback);
    expect(
      'a notifier refuses a redirect out of the list',
      /refused: .*redirected/.test(redirectedNotify),
      redirectedNotify,
    );
  } finally {
    await Promise.all([ok.close(), redirector.close(), sameHostRedirect.close()]);
  }
  return report;
}

/** Log lines of a pino logger, for grepping. */
export function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/**
 * --token-file: without the bearer token every endpoint but /healthz and /metrics answers
 * 401; with it the gates work; a webhook with a secretRef sends it; it is never logged.
 */
export async function checkLoadtesterToken(): Promise<CheckReport> {
  const report: CheckReport = { cases: 0, failures: [] };
  const token = `lt-token-${Math.random().toString(36).slice(2)}`;
  const { logger, lines } = capturedLogger();
  const loadtester = new Loadtester({ gates: new MemoryGateStore(), token, logger });
  const base = `http://127.0.0.1:${await loadtester.listen(0, '127.0.0.1')}`;
  const expect = (what: string, holds: boolean, detail = '') => {
    report.cases += 1;
    if (!holds) report.failures.push(`${what}${detail ? `: ${detail}` : ''}`);
  };
  const post = async (path: string, authorization?: string) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(hookPayload({ type: 'load', url: 'http://podinfo-canary.test:9898/' })),
    });
    return response.status;
  };
  try {
    for (const path of [
      '/gate/check',
      '/gate/open',
      '/gate/close',
      '/rollback/check',
      '/rollback/open',
      '/gate/approve',
      '/',
    ]) {
      for (const [how, header] of [
        ['no header', undefined],
        ['a wrong token', `Bearer ${token}x`],
        ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
        ['the token as basic auth', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`],
      ] as const) {
        const status = await post(path, header);
        expect(`${path} with ${how} answers 401`, status === 401, `got ${status}`);
      }
    }
    for (const path of ['/healthz', '/metrics']) {
      const status = (await fetch(`${base}${path}`)).status;
      expect(`${path} answers without the token`, status === 200, `got ${status}`);
    }
    const bearer = `Bearer ${token}`;
    expect('a closed gate with the token answers 403', (await post('/gate/check', bearer)) === 403);
    expect('opening it with the token answers 202', (await post('/gate/open', bearer)) === 202);
    expect('the open gate with the token answers 200', (await post('/gate/check', bearer)) === 200);

    const viaSecret = await callWebhook(
      {
        name: 'gate',
        type: 'confirm-promotion',
        url: `${base}/gate/check`,
        secretRef: { name: 'loadtester-token' },
      },
      hookPayload(),
      {
        readSecret: async (namespace, name): Promise<Record<string, string>> =>
          namespace === 'team-a' && name === 'loadtester-token' ? { token } : {},
      },
    );
    expect(
      'a webhook with secretRef sends the token and passes the gate',
      viaSecret.passed,
      viaSecret.message,
    );
    const missingKey = await callWebhook(
      { name: 'gate', type: 'confirm-promotion', url: `${base}/gate/check`, secretRef: { name: 'other' } },
      hookPayload(),
      { readSecret: async () => ({ password: token }) },
    );
    expect(
      'a secretRef without the key "token" fails naming the Secret, not the value',
      !missingKey.passed &&
        /Secret team-a\/other has no key "token"/.test(missingKey.message) &&
        !missingKey.message.includes(token),
      missingKey.message,
    );
    const leaked = lines.filter((line) => line.includes(token));
    expect('the load tester never logs the token', leaked.length === 0, leaked.join('\n'));
    expect(
      'the load tester logs each refusal',
      lines.filter((line) => line.includes('no valid bearer token')).length >= 28,
    );
  } finally {
    await loadtester.close();
  }
  return report;
}

/**
 * No shell from webhook input: with only `echo` allowed, payloads that try pipes, command
 * separators, substitutions, variables, other programs and Flagger's bash/kubectl/helm types
 * never create the marker file; what runs, runs as argv without a shell.
 */
export async function checkNoShell(): Promise<CheckReport> {
  const report: CheckReport = { cases: 0, failures: [] };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-shell-'));
  const marker = join(dir, 'pwned');
  const { logger } = capturedLogger();
  const loadtester = new Loadtester({
    gates: new MemoryGateStore(),
    allowedCommandPrefixes: [splitCommand('echo')],
    logger,
  });
  const base = `http://127.0.0.1:${await loadtester.listen(0, '127.0.0.1')}`;
  const touch = `touch ${marker}`;
  const attempts: Array<Record<string, string>> = [
    ...['cmd', 'bash', 'kubectl', 'helm', 'helmv3'].flatMap((type) => [
      { type, cmd: touch },
      { type, cmd: `echo hi; ${touch}` },
      { type, cmd: `echo hi && ${touch}` },
      { type, cmd: `echo hi | ${touch}` },
      { type, cmd: `echo $(${touch})` },
      { type, cmd: `echo \`${touch}\`` },
      { type, cmd: `echo "$(${touch})"` },
      { type, cmd: `echo > ${marker}` },
      { type, cmd: `echo hi\n${touch}` },
      { type, cmd: `bash -c "${touch}"` },
      { type, cmd: `sh -c '${touch}'` },
      { type, cmd: `/usr/bin/${touch}` },
      { type, cmd: `echo;${touch}` },
      { type, cmd: `echox ${marker}` },
      { type, cmd: `env ${touch}` },
      { type, cmd: `PATH=/usr/bin ${touch}` },
    ]),
    // Flagger's payload without a type runs `cmd`.
    { cmd: `echo hi; ${touch}` },
    { cmd: touch },
  ];
  try {
    for (const metadata of attempts) {
      report.cases += 1;
      const response = await fetch(`${base}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(hookPayload({ ...metadata, returnCmdOutput: 'true' })),
      });
      const text = await response.text();
      if (existsSync(marker)) {
        report.failures.push(
          `${JSON.stringify(metadata)} created the marker (answer ${response.status}: ${text.trim()})`,
        );
        rmSync(marker, { force: true });
      }
    }
    // Background `cmd` tasks: wait for them before the last look.
    for (let i = 0; i < 50 && loadtester.activeTasks().length > 0; i += 1)
      await new Promise((r) => setTimeout(r, 100));
    if (existsSync(marker)) report.failures.push('a background command created the marker');
  } finally {
    await loadtester.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/**
 * No shell from Canary input in the controller itself: no module of the controller command
 * (src/cli/controller.ts and everything it imports, statically or dynamically) imports
 * node:child_process, and the load tester's one runner never asks for a shell.
 */
export function checkControllerSpawnsNothing(
  root = fileURLToPath(new URL('../../', import.meta.url)),
): CheckReport {
  const report: CheckReport = { cases: 0, failures: [] };
  const seen = new Set<string>();
  const queue = [join(root, 'src/cli/controller.ts')];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    report.cases += 1;
    const text = readFileSync(file, 'utf8');
    if (/from ['"](node:)?child_process['"]|import\(['"](node:)?child_process['"]\)/.test(text))
      report.failures.push(`${relative(root, file)} imports child_process and the controller loads it`);
    for (const match of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g))
      queue.push(resolvePath(dirname(file), match[1] as string));
  }
  const runner = readFileSync(join(root, 'src/loadtester/command.ts'), 'utf8');
  report.cases += 1;
  if (/\bshell\s*:/.test(runner) || /\bexec(Sync)?\(/.test(runner.replace(/execFile/g, '')))
    report.failures.push('src/loadtester/command.ts runs commands through a shell');
  return report;
}
