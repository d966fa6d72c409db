import { Option, type Command } from 'commander';
import { loadDevStack } from './dev-stack.ts';

/** The providers the local traffic layer stands in for (src/dev/demo.ts has a title and series for each). */
export const DEMO_PROVIDERS = ['istio', 'gatewayapi', 'contour', 'traefik'] as const;
export type DemoProvider = (typeof DEMO_PROVIDERS)[number];
/** What the demo releases: a Deployment routed by the provider, or a StatefulSet by partition. */
export const DEMO_TARGETS = ['deployment', 'statefulset'] as const;
export type DemoTarget = (typeof DEMO_TARGETS)[number];

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
    .addOption(
      new Option('--target <kind>', 'the workload released').choices([...DEMO_TARGETS]).default('deployment'),
    )
    .option('--keep', 'leave everything running afterwards (Ctrl-C stops it)')
    .option('--dir <path>', 'state directory', '.sluice/demo')
    .option(
      '--judge',
      "the statistical judge's run: a subtle bad release (3% errors) rolled back on the judge's evidence, shown live",
    )
    .action(async function (
      this: Command,
      options: { provider: DemoProvider; target: DemoTarget; keep?: boolean; dir: string; judge?: boolean },
    ) {
      if (options.target === 'statefulset') {
        // Sluice routes a StatefulSet by no provider, and the judge's built-ins cannot tell its
        // revisions apart (docs/routing.md#statefulset-targets): refused, not ignored.
        if (this.getOptionValueSource('provider') === 'cli')
          this.error(
            "error: option '--provider' does not apply with '--target statefulset': Sluice writes no routing object for a StatefulSet",
          );
        if (options.judge)
          this.error(
            "error: option '--judge' does not apply with '--target statefulset': the judge's built-in metrics cannot tell a StatefulSet's revisions apart",
          );
      }
      // The demo and the local stack load only now (dev-stack.ts).
      const { runDemo } = await loadDevStack(() => import('../dev/demo.ts'), 'demo');
      const { consoleProgress } = await loadDevStack(() => import('../dev/progress.ts'), 'demo');
      const code = await runDemo({
        provider: options.provider,
        target: options.target,
        keep: Boolean(options.keep),
        stateDir: options.dir,
        progress: consoleProgress(),
        write: (text) => process.stdout.write(text),
        tty: Boolean(process.stdout.isTTY),
        judge: Boolean(options.judge),
      });
      process.exitCode = code;
    });
}
