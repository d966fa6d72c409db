import { HttpMethod } from '../kube/library.ts';
import { Option, type Command } from 'commander';
import { collectionPath } from '../controller/informers.ts';
import { apiErrorMessage, connect, loadKubeConfig, type Kube } from '../kube/client.ts';
import { createLogger } from '../log.ts';
import { CliError } from './canaries.ts';

interface DashboardFlags {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  port: number;
  address: string;
  prometheus?: string;
  readOnly?: boolean;
  logLevel: string;
}

/** The namespaces of `-n a,b`, or undefined for all (`-A`, or neither). */
export function dashboardNamespaces(
  flags: Pick<DashboardFlags, 'namespace' | 'allNamespaces'>,
): string[] | undefined {
  if (flags.allNamespaces && flags.namespace)
    throw new CliError('sluice dashboard: give -n NS or -A, not both', 2);
  if (!flags.namespace) return undefined;
  return flags.namespace
    .split(',')
    .map((ns) => ns.trim())
    .filter(Boolean);
}

/** Fails fast, naming the scope, when the identity may not list canaries there. */
export async function checkCanListCanaries(kube: Kube, namespaces: string[] | undefined): Promise<void> {
  for (const ns of namespaces ?? [undefined]) {
    try {
      await kube.wire.request(HttpMethod.GET, collectionPath('sluice.dev', 'v1alpha1', 'canaries', ns), {
        query: { limit: '1' },
      });
    } catch (error) {
      const scope = ns ? `namespace ${ns}` : 'all namespaces';
      throw new CliError(
        `cannot list canaries in ${scope}: ${apiErrorMessage(error)}${ns ? '' : ' (pass -n NS to watch the namespaces you may read)'}`,
        3,
      );
    }
  }
}

/** `sluice dashboard`: the web UI on this machine, as the kubeconfig's identity. */
export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('serve the web dashboard: every canary live, charts, timeline and buttons')
    .option('-A, --all-namespaces', 'show canaries of every namespace (the default without -n)')
    .addOption(new Option('--port <port>', 'port to listen on').default(8080).argParser(Number))
    .addOption(new Option('--address <address>', 'address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--prometheus <url>', 'Prometheus that scrapes the controller, for history').env(
        'PROMETHEUS_URL',
      ),
    )
    .option('--read-only', 'hide the promote/abort/pause/resume/retry buttons')
    .addOption(new Option('--log-level <level>', 'debug | info | warn | error').default('info'))
    .action(async (_options: unknown, command: Command) => {
      const flags = command.optsWithGlobals<DashboardFlags>();
      const namespaces = dashboardNamespaces(flags);
      const log = createLogger({ level: flags.logLevel, name: 'sluice-dashboard' });
      const kube = connect(loadKubeConfig(flags.kubeconfig));
      await checkCanListCanaries(kube, namespaces);
      // Loaded here, so no other command pays for the dashboard.
      const { serveDashboard } = await import('../dashboard/server.ts');
      const served = await serveDashboard({
        kube,
        log,
        namespaces,
        readOnly: Boolean(flags.readOnly),
        auth: 'kubeconfig',
        prometheusUrl: flags.prometheus,
        port: flags.port,
        host: flags.address,
      });
      process.stdout.write(`Sluice dashboard on ${served.url}\n`);
      const shutdown = () => void served.stop().finally(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
