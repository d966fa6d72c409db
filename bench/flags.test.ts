import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { flag, INTERVAL, KEEP, positiveInt, withFlags } from './flags.ts';

describe('withFlags', () => {
  const run = async (argv: string[]) => {
    let seen: unknown;
    const program = new Command('bench').exitOverride();
    withFlags(
      program
        .command('go')
        .exitOverride()
        .configureOutput({ writeErr: () => undefined }),
      {
        timeoutS: flag('--timeout <seconds>', 'give up after', 60, positiveInt),
        mode: { ...flag('--mode <name>', 'which', 'fast'), choices: ['fast', 'slow'] },
        interval: INTERVAL,
        keep: KEEP,
      },
      async (values) => {
        seen = values;
      },
    );
    await program.parseAsync(['go', ...argv], { from: 'user' });
    return seen;
  };

  it('hands the values under the specs keys, parsed, with the defaults for flags not given', async () => {
    expect(await run([])).toEqual({ timeoutS: 60, mode: 'fast', interval: '10s', keep: false });
    expect(await run(['--timeout', '5', '--mode', 'slow', '--interval', '1m', '--keep'])).toEqual({
      timeoutS: 5,
      mode: 'slow',
      interval: '1m',
      keep: true,
    });
  });

  it('refuses a value the parser or the choices refuse', async () => {
    await expect(run(['--timeout', '0'])).rejects.toThrow(/expected a positive integer, got 0/);
    await expect(run(['--mode', 'medium'])).rejects.toThrow(/Allowed choices are fast, slow/);
  });
});
