import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, KubeConfig } from './kube/library.ts';
import { apiErrorMessage, statusCode, type Kube } from './kube/client.ts';

// What the long-running commands (controller, load tester) share at start-up: a failure is
// one line that names what failed and the flag that fixes it, and the process exits
// non-zero (src/cli/main.ts prints it). Nothing waits silently for a problem that will
// not go away by itself.

/** A start-up failure; the message is the whole story, one line, no stack needed. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where the Kubernetes credentials come from, in words, for messages. */
export function kubeconfigSource(path?: string): string {
  if (path) return `--kubeconfig ${path}`;
  const env = process.env.KUBECONFIG;
  if (env) return `$KUBECONFIG (${env})`;
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return `~/.kube/config`;
  if (existsSync(SERVICE_ACCOUNT_TOKEN)) return 'the in-cluster service account';
  return 'no kubeconfig (no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, not in a cluster)';
}

/** loadKubeConfig, with a kubeconfig that cannot be read reported as a start-up failure. */
export function loadKubeConfigOrFail(path?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(
      `cannot read the kubeconfig from ${kubeconfigSource(path)}: ${reason}; pass a readable file with --kubeconfig`,
      { cause: error },
    );
  }
  return kc;
}

/** The deepest message of an error and its causes (fetch failures hide the reason in `cause`). */
export function rootMessage(error: unknown): string {
  let current: unknown = error;
  let message = apiErrorMessage(error);
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth += 1) {
    current = current.cause;
    message = current instanceof Error ? current.message : String(current);
  }
  return message;
}

/** An error of server.listen() as a start-up failure naming the flag, or the error itself. */
export function listenError(error: unknown, port: number, host: string, flag = '--port'): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `${flag} ${port}: ${where} is already in use by another process; choose a free port with ${flag}`,
      { cause: error },
    );
  if (code === 'EACCES')
    return new StartupError(
      `${flag} ${port}: not allowed to listen on ${where} (ports below 1024 need privileges); choose a port above 1023 with ${flag}`,
      { cause: error },
    );
  if (code === 'EADDRNOTAVAIL')
    return new StartupError(`--host ${host}: not an address of this machine; pass one with --host`, {
      cause: error,
    });
  return error;
}

/**
 * Checks that the Kubernetes API answers with these credentials, within a deadline; a
 * failure names the server, where the credentials came from and --kubeconfig.
 */
export async function checkApiServer(
  kube: Pick<Kube, 'kc' | 'wire'>,
  source: string,
  timeoutMs = 10_000,
): Promise<void> {
  const server = kube.kc.getCurrentCluster()?.server ?? '(no server)';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      kube.wire.request(HttpMethod.GET, '/version'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    const status = statusCode(error);
    const why =
      status === 401
        ? 'it refused the credentials (401 Unauthorized)'
        : status !== undefined
          ? `it answered ${status}: ${apiErrorMessage(error)}`
          : rootMessage(error);
    throw new StartupError(
      `cannot reach the Kubernetes API at ${server} with ${source}: ${why}; point --kubeconfig at a running cluster`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
