import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/dev/process.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { applyAll, demoDeployment, service, tally } from './fixtures.ts';

const ns = useNamespace('devcli');
let runtime: ChildProcess | undefined;

afterAll(() => {
  if (runtime?.exitCode === null) runtime.kill('SIGKILL');
});

function sluice(args: string[]): ChildProcess {
  return spawn(process.execPath, ['src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', resolve));
}

describe('sluice dev runtime and sluice dev load', () => {
  it('run as child processes: the runtime prints its proxies, serves them, and stops its apps on SIGTERM', async () => {
    await applyAll(ns.kube, [
      demoDeployment(ns.name, 'hello', { env: [{ name: 'VERSION', value: '0.9.0' }] }),
      service(ns.name, 'hello', 'hello'),
    ]);
    const child = sluice([
      'dev',
      'runtime',
      '--dir',
      testEnv().stateDir,
      '-n',
      ns.name,
      '--proxy',
      'hello=hello.test',
    ]);
    runtime = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const firstLine = await new Promise<string>((resolve, reject) => {
      if (!child.stdout) return reject(new Error('no stdout'));
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`sluice dev runtime exited with ${code}: ${stderr}`)));
    });
    const started = JSON.parse(firstLine) as {
      metricsUrl: string;
      runtimeDir: string;
      proxies: { namespace: string; service: string; url: string }[];
    };
    expect(started.proxies).toEqual([
      { namespace: ns.name, service: 'hello', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) },
    ]);
    const url = started.proxies[0]?.url ?? '';
    await eventually(
      'hello answering through the proxy',
      async () => (await tally(url, 3)).byVersion['0.9.0'] === 3 || undefined,
    );
    expect(await (await fetch(started.metricsUrl)).text()).toContain(
      'istio_requests_total{reporter="destination"',
    );

    const load = sluice(['dev', 'load', '--url', url, '--rps', '20', '--duration', '1s']);
    let printed = '';
    load.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    expect(await exited(load)).toBe(0);
    expect(printed.trim().split('\n').at(-1)).toBe('20 requests · 200 100.0% · hello 100.0%');

    const registry = JSON.parse(await readFile(join(started.runtimeDir, 'registry.json'), 'utf8')) as {
      pid: number;
    }[];
    const pids = registry.map((entry) => entry.pid);
    expect(pids).toHaveLength(1);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
