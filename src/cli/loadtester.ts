import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';
import { connect } from '../kube/client.ts';
import { kubeconfigSource, loadKubeConfigOrFail, StartupError } from '../startup.ts';
import { createLogger, type Logger } from '../log.ts';
import { splitCommand } from '../loadtester/command.ts';
import { ConfigMapGateStore, MemoryGateStore, type GateStore } from '../loadtester/gates.ts';
import { Loadtester } from '../loadtester/server.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const flagsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().optional(),
  namespaceRegexp: z.string().optional(),
  allowCmdPrefix: z.array(z.string()).default([]),
  kubeconfig: z.string().optional(),
  gateStore: z.enum(['configmap', 'memory']),
  gateConfigmap: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a ConfigMap name'),
  gateNamespace: z.string().optional(),
  timeout: z.string(),
  logLevel: z.string(),
  tokenFile: z.string().optional(),
});
type Flags = z.infer<typeof flagsSchema>;

/** `sluice loadtester`: the webhook-driven load tester service. */
export function registerLoadtester(program: Command): void {
  program
    .command('loadtester')
    .description('Run the load tester: load and smoke tests, manual and rollback gates, for canary webhooks')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--host <address>', 'address to listen on (all interfaces by default)')
    .option(
      '--namespace-regexp <regexp>',
      'serve only canaries in namespaces matching this regular expression',
    )
    .option(
      '--allow-cmd-prefix <prefix...>',
      'allow command tasks that start with this prefix, e.g. "hey" or "kubectl rollout status" (repeatable; none by default)',
    )
    .option('--kubeconfig <path>', 'kubeconfig for the gate ConfigMap (in-cluster or $KUBECONFIG by default)')
    .addOption(
      new Option(
        '--gate-store <kind>',
        'where gate state lives: configmap survives restarts, memory does not',
      )
        .choices(['configmap', 'memory'])
        .default('configmap'),
    )
    .option('--gate-configmap <name>', 'ConfigMap that holds gate state', 'sluice-loadtester-gates')
    .option('--gate-namespace <namespace>', "namespace of the gate ConfigMap (default: the pod's namespace)")
    .option('--timeout <duration>', 'longest a load test or command may run', '1h')
    .option(
      '--token-file <path>',
      'require "Authorization: Bearer <token>" on every endpoint but /healthz and /metrics, the token read from this file (a mounted Secret)',
    )
    .option('--log-level <level>', 'debug, info, warn or error', process.env.SLUICE_LOG_LEVEL ?? 'info')
    .action(async (_options: unknown, command: Command) => {
      // With globals: the program may own --kubeconfig (sluice get/promote share it).
      const parsed = flagsSchema.safeParse(command.optsWithGlobals());
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new StartupError(
          `sluice loadtester: --${String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue?.message ?? 'invalid'}`,
        );
      }
      await runLoadtester(parsed.data);
    });
}

async function runLoadtester(flags: Flags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel, name: 'sluice-loadtester' });
  const taskTimeoutMs = parseDuration(flags.timeout);
  if (!taskTimeoutMs)
    throw new Error(`sluice loadtester: --timeout: "${flags.timeout}" is not a duration such as 30m or 1h`);
  let namespacePattern: RegExp | undefined;
  if (flags.namespaceRegexp) {
    try {
      namespacePattern = new RegExp(flags.namespaceRegexp);
    } catch (error) {
      throw new Error(
        `sluice loadtester: --namespace-regexp: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
  const allowedCommandPrefixes = flags.allowCmdPrefix.map((prefix) => splitCommand(prefix));
  const token = flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile);
  const gates = gateStore(flags, logger);
  try {
    await gates.check();
  } catch (error) {
    throw new StartupError(
      `gate store ${gates.location} cannot be used (${error instanceof Error ? error.message : String(error)}); ` +
        `give it a cluster with --kubeconfig (${kubeconfigSource(flags.kubeconfig)} was used), run it in a cluster, ` +
        `or keep gates in memory with --gate-store memory`,
      { cause: error },
    );
  }
  const loadtester = new Loadtester({
    gates,
    namespacePattern,
    allowedCommandPrefixes,
    taskTimeoutMs,
    logger,
    ...(token === undefined ? {} : { token }),
  });
  const port = await loadtester.listen(flags.port, flags.host);
  logger.info(
    {
      port,
      namespaceRegexp: flags.namespaceRegexp ?? '(all)',
      allowedCommandPrefixes: flags.allowCmdPrefix,
      gates: gates.location,
      token: token === undefined ? 'none (every caller is served)' : `required (${flags.tokenFile})`,
    },
    'load tester listening',
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'shutting down');
      void loadtester.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function gateStore(flags: Flags, logger: Logger): GateStore {
  if (flags.gateStore === 'memory') {
    logger.warn('gate state is kept in memory: opened gates close again when the load tester restarts');
    return new MemoryGateStore();
  }
  const kc = loadKubeConfigOrFail(flags.kubeconfig);
  const namespace =
    flags.gateNamespace ??
    podNamespace() ??
    kc.getContextObject(kc.getCurrentContext())?.namespace ??
    'default';
  return new ConfigMapGateStore({ kube: connect(kc), namespace, name: flags.gateConfigmap });
}

/** The token of --token-file: the file's content without surrounding whitespace, never empty. */
function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new StartupError(
      `sluice loadtester: --token-file: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (!text) throw new StartupError(`sluice loadtester: --token-file: ${path} is empty`);
  if (/\s/.test(text))
    throw new StartupError(`sluice loadtester: --token-file: the token in ${path} has whitespace inside`);
  return text;
}

function podNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
