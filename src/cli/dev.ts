import type { Command } from 'commander';
import { DEFAULT_DEV_DIR, loadDevStack } from './dev-stack.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

// Each action loads src/dev when it runs (dev-stack.ts).
const cluster = () => loadDevStack(() => import('../dev/cluster.ts'), 'dev');
const progress = async () =>
  (await loadDevStack(() => import('../dev/progress.ts'), 'dev')).consoleProgress();

/** `sluice dev up|down|env|build|runtime|load|app`: the local control plane, runtime and traffic for development, tests and the demo. */
export function registerDev(program: Command): void {
  const dev = program
    .command('dev')
    .description(
      'Local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) and Prometheus on loopback',
    );
  /** A subcommand about the local control plane whose state is in --dir. */
  const onCluster = (name: string, description: string) =>
    dev.command(name).description(description).option('--dir <path>', 'state directory', DEFAULT_DEV_DIR);

  onCluster('up', 'build (first run only) and start the local control plane; safe to run twice')
    .option('--nodes <n>', 'simulated kwok nodes', (v) => Number.parseInt(v, 10), 2)
    .action(async (options: { dir: string; nodes: number }) => {
      const { up, exportLines } = await cluster();
      const started = Date.now();
      const result = await up({ stateDir: options.dir, progress: await progress(), nodes: options.nodes });
      process.stderr.write(`local control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      process.stdout.write(`${exportLines(result)}\n`);
    });

  onCluster('env', 'print the export lines for a running local control plane').action(
    async (options: { dir: string }) => {
      const { env, exportLines } = await cluster();
      const result = await env(options.dir);
      if (!result) {
        process.stderr.write(
          `no running local control plane in ${options.dir}; start one with: sluice dev up\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${exportLines(result)}\n`);
    },
  );

  onCluster('down', 'stop every process of the local control plane and remove its state').action(
    async (options: { dir: string }) => {
      const { stopped } = await (await cluster()).down(options.dir);
      process.stderr.write(`stopped ${stopped} processes, removed ${options.dir}\n`);
    },
  );

  dev
    .command('build')
    .description('build and cache the control plane binaries without starting them')
    .action(async () => {
      const { ensureBinaries } = await loadDevStack(() => import('../dev/binaries.ts'), 'dev');
      const bins = await ensureBinaries(await progress());
      process.stdout.write(`${bins.dir}\n`);
    });

  dev
    .command('runtime')
    .description(
      'run demo-app processes for demo pods (label demo.sluice.dev/app=true) and traffic proxies that route by the live VirtualService/HTTPRoute',
    )
    .option('--dir <path>', 'state directory of the local control plane', DEFAULT_DEV_DIR)
    .option('--kubeconfig <path>', 'another cluster than the local control plane in --dir')
    .option('--prometheus-targets <dir>', 'Prometheus file_sd directory (default: the local control plane’s)')
    .option('-n, --namespace <namespace>', 'run pods and read routing in this namespace only (default: all)')
    .option('--proxy <spec>', 'a proxy: [namespace/]service[:port][=host,…] (repeatable)', collect, [])
    .option('--log-level <level>', 'debug, info, warn or error', process.env.SLUICE_LOG_LEVEL ?? 'info')
    .action(async (_options: unknown, command: Command) => {
      const { runRuntime } = await loadDevStack(() => import('../dev/runtime-cli.ts'), 'dev runtime');
      await runRuntime(command.optsWithGlobals());
    });

  dev
    .command('load')
    .description('send constant-rate demo traffic and show the share each status, version and workload gets')
    .requiredOption('--url <url>', 'where to send requests (a proxy URL from sluice dev runtime)')
    .option('--rps <n>', 'requests per second', '20')
    .option('--duration <duration>', 'stop after this long (default: until interrupted)')
    .option('-H, --header <name:value>', 'a request header, e.g. x-canary:insider (repeatable)', collect, [])
    .option('--every <duration>', 'how often to print the counts', '2s')
    .action(async (_options: unknown, command: Command) => {
      const { runLoad } = await loadDevStack(() => import('../dev/runtime-cli.ts'), 'dev load');
      await runLoad(command.opts());
    });

  dev
    .command('app', { hidden: true })
    .description(
      'run the demo app itself (PORT, ERROR_RATE, LATENCY_MS, LATENCY_JITTER_MS, VERSION, READY_DELAY_MS)',
    )
    .action(async () => {
      const { runApp } = await loadDevStack(() => import('../dev/app.ts'), 'dev app');
      // The server keeps the process alive; SIGTERM/SIGINT stop it.
      await runApp();
    });
}
