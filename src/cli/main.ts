import { Command } from 'commander';
import { isEntryPoint } from '../entry-point.ts';
import { VERSION } from '../version.ts';
import { registerMigrate } from './migrate.ts';
import { registerDev } from './dev.ts';
import { CliError, registerCanaryCommands } from './canaries.ts';
import { registerController } from './controller.ts';
import { registerDashboard } from './dashboard.ts';
import { registerDemo } from './demo.ts';
import { registerLoadtester } from './loadtester.ts';
import { registerReplay } from './replay.ts';

/**
 * The `sluice` command. Each area registers its own subcommands with a
 * `registerX(program)` function so this file stays a list.
 */
export function buildProgram(): Command {
  const program = new Command('sluice')
    .description(
      'Progressive delivery for Kubernetes: canary, A/B and blue/green releases checked by real metrics',
    )
    .version(VERSION)
    .showHelpAfterError();
  registerMigrate(program);
  registerCanaryCommands(program);
  registerController(program);
  registerDashboard(program);
  registerDemo(program);
  registerDev(program);
  registerLoadtester(program);
  registerReplay(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  await program.parseAsync(argv);
}

/**
 * main() as a process runs it: a failure is one line on stderr (`sluice: …`, naming what
 * failed and the flag that fixes it) and a non-zero exit, never a stack trace.
 */
export async function run(argv: string[]): Promise<void> {
  try {
    await main(argv);
  } catch (error) {
    console.error(`sluice: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

if (isEntryPoint(import.meta.url)) await run(process.argv);
