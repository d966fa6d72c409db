import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/dev/process.ts';

const run = promisify(execFile);
const sluice = (args: string[]) =>
  run(process.execPath, ['src/cli/main.ts', ...args], { env: process.env, maxBuffer: 10 * 1024 * 1024 });

describe('sluice dev up|env|down', () => {
  it('is safe to run up twice, and down leaves no process behind', async () => {
    const dir = resolve(`.sluice/dev-cli-test-${process.pid}`);
    const first = await sluice(['dev', 'up', '--dir', dir, '--nodes', '1']);
    expect(first.stdout).toContain(`export KUBECONFIG=${join(dir, 'kubeconfig')}`);
    expect(first.stdout).toMatch(/export PROMETHEUS_URL=http:\/\/127\.0\.0\.1:\d+/);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
      pids: Record<string, number>;
    };
    const pids = Object.values(state.pids);
    expect(pids).toHaveLength(6);

    const second = await sluice(['dev', 'up', '--dir', dir]);
    expect(second.stderr).toContain('already running');
    expect(second.stdout).toBe(first.stdout);
    const again = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
      pids: Record<string, number>;
    };
    expect(again.pids).toEqual(state.pids);

    const printed = await sluice(['dev', 'env', '--dir', dir]);
    expect(printed.stdout).toBe(first.stdout);

    await sluice(['dev', 'down', '--dir', dir]);
    expect(pids.filter(isAlive)).toEqual([]);
    const { stdout: ps } = await run('ps', ['-eo', 'args']);
    expect(ps.split('\n').filter((line) => line.includes(dir))).toEqual([]);
    const after = await sluice(['dev', 'env', '--dir', dir]).then(
      () => 'running',
      (error: { code?: number }) => error.code,
    );
    expect(after).toBe(1);
  });
});
