import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerDemo } from './demo.ts';

/** Parses `sluice demo …`; a refusal throws (commander's exit, overridden) with what it wrote. */
async function refusal(args: string[]): Promise<string> {
  const program = new Command('sluice').exitOverride();
  let written = '';
  program.configureOutput({ writeErr: (text) => (written += text), writeOut: () => undefined });
  registerDemo(program);
  for (const command of program.commands) command.exitOverride().configureOutput(program.configureOutput());
  await expect(program.parseAsync(['node', 'sluice', 'demo', ...args])).rejects.toThrow();
  return written;
}

describe('sluice demo --target', () => {
  it('refuses a target other than deployment or statefulset, naming the flag', async () => {
    const text = await refusal(['--target', 'daemonset']);
    expect(text).toContain("option '--target <kind>' argument 'daemonset' is invalid");
    expect(text).toContain('deployment, statefulset');
  });

  it('refuses --provider and --judge with a StatefulSet, naming each', async () => {
    expect(await refusal(['--target', 'statefulset', '--provider', 'contour'])).toContain(
      "option '--provider' does not apply with '--target statefulset'",
    );
    expect(await refusal(['--target', 'statefulset', '--judge'])).toContain(
      "option '--judge' does not apply with '--target statefulset'",
    );
  });
});
