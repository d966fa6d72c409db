import type { Command } from 'commander';
import { DEFAULT_DEV_DIR, down, env, exportLines, up } from '../dev/cluster.ts';
import { ensureBinaries } from '../dev/binaries.ts';
import { consoleProgress } from '../dev/progress.ts';
import { registerDevRuntime } from '../dev/runtime-cli.ts';

/** `sluice dev up|down|env|build`: the local control plane for development, tests and the demo. */
export function registerDev(program: Command): void {
  const dev = program
    .command('dev')
    .description(
      'Local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) and Prometheus on loopback',
    );

  dev
    .command('up')
    .description('build (first run only) and start the local control plane; safe to run twice')
    .option('--dir <path>', 'state directory', DEFAULT_DEV_DIR)
    .option('--nodes <n>', 'simulated kwok nodes', (v) => Number.parseInt(v, 10), 2)
    .action(async (options: { dir: string; nodes: number }) => {
      const started = Date.now();
      const result = await up({ stateDir: options.dir, progress: consoleProgress(), nodes: options.nodes });
      process.stderr.write(`local control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      process.stdout.write(`${exportLines(result)}\n`);
    });

  dev
    .command('env')
    .description('print the export lines for a running local control plane')
    .option('--dir <path>', 'state directory', DEFAULT_DEV_DIR)
    .action(async (options: { dir: string }) => {
      const result = await env(options.dir);
      if (!result) {
        process.stderr.write(
          `no running local control plane in ${options.dir}; start one with: sluice dev up\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${exportLines(result)}\n`);
    });

  dev
    .command('down')
    .description('stop every process of the local control plane and remove its state')
    .option('--dir <path>', 'state directory', DEFAULT_DEV_DIR)
    .action(async (options: { dir: string }) => {
      const { stopped } = await down(options.dir);
      process.stderr.write(`stopped ${stopped} processes, removed ${options.dir}\n`);
    });

  dev
    .command('build')
    .description('build and cache the control plane binaries without starting them')
    .action(async () => {
      const bins = await ensureBinaries(consoleProgress());
      process.stdout.write(`${bins.dir}\n`);
    });

  registerDevRuntime(dev);
}
