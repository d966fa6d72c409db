import { Option, type Command } from 'commander';
import { DEMO_PROVIDERS, runDemo, type DemoProvider } from '../dev/demo.ts';
import { consoleProgress } from '../dev/progress.ts';

/** `sluice demo`: the main job — a release promoted and a bad one rolled back, live, on loopback. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the local demo: a healthy release promoted and a bad one rolled back, with live progress',
    )
    .addOption(
      new Option('--provider <provider>', 'routing through').choices([...DEMO_PROVIDERS]).default('istio'),
    )
    .option('--keep', 'leave everything running afterwards (Ctrl-C stops it)')
    .option('--dir <path>', 'state directory', '.sluice/demo')
    .action(async (options: { provider: DemoProvider; keep?: boolean; dir: string }) => {
      const code = await runDemo({
        provider: options.provider,
        keep: Boolean(options.keep),
        stateDir: options.dir,
        progress: consoleProgress(),
        write: (text) => process.stdout.write(text),
        tty: Boolean(process.stdout.isTTY),
      });
      process.exitCode = code;
    });
}
