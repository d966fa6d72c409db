import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HttpMethod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, connect, loadKubeConfig, type Kube } from '../../src/kube/client.ts';
import { freePort, isAlive } from '../../src/dev/process.ts';
import { readCanary } from '../../src/controller/reconciler.ts';
import { eventually } from '../support/kube.ts';
import { canaryObject } from '../support/canaries.ts';

const run = promisify(execFile);
const SLUICE = ['src/cli/main.ts'];
const sluice = (args: string[]) =>
  run(process.execPath, [...SLUICE, ...args], { env: process.env, maxBuffer: 10 * 1024 * 1024 });

// A fresh local control plane of this file's own (`sluice dev up --dir`), not the suite's
// shared one: the controller is started on it exactly as docs/development.md shows, with
// nothing prepared beforehand.

const dir = resolve(`.sluice/dev-cli-test-${process.pid}`);
let first: { stdout: string };
let pids: number[] = [];

/** `export X=…` lines as an environment. */
function exported(stdout: string): Record<string, string> {
  return Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The `npx sluice controller …` line of the docs' block, its variables expanded from `env`. */
async function documentedControllerArgs(env: Record<string, string>): Promise<string[]> {
  const docs = await readFile('docs/development.md', 'utf8');
  const section = docs.slice(docs.indexOf('## Running the controller on the local control plane'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  expect(block.split('\n').filter(Boolean)).toEqual([
    'npx sluice dev up',
    'eval "$(npx sluice dev env)"',
    expect.stringMatching(/^npx sluice controller /),
  ]);
  const line = block.split('\n').find((l) => l.startsWith('npx sluice controller '))!;
  return line
    .slice('npx sluice '.length)
    .split(/\s+/)
    .map((word) => word.replace(/^"?\$(\w+)"?$/, (_, name: string) => env[name] ?? `$${name}`));
}

beforeAll(async () => {
  first = await sluice(['dev', 'up', '--dir', dir, '--nodes', '1']);
}, 600_000);

afterAll(async () => {
  // Whatever failed above, leave no control plane behind.
  await sluice(['dev', 'down', '--dir', dir]).catch(() => undefined);
});

describe('sluice dev up|env|down', () => {
  it('is safe to run up twice', async () => {
    expect(first.stdout).toContain(`export KUBECONFIG=${join(dir, 'kubeconfig')}`);
    expect(first.stdout).toMatch(/export PROMETHEUS_URL=http:\/\/127\.0\.0\.1:\d+/);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
      pids: Record<string, number>;
    };
    pids = Object.values(state.pids);
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
  });

  describe('the controller, as docs/development.md starts it', () => {
    let kube: Kube;
    let args: string[];

    beforeAll(async () => {
      const env = exported((await sluice(['dev', 'env', '--dir', dir])).stdout);
      kube = connect(loadKubeConfig(env.KUBECONFIG));
      // This machine is shared: the one change to the documented line is a free port instead of 8080.
      args = [...(await documentedControllerArgs(env)), '--port', String(await freePort())];
    });

    it('leads, is ready and serves a Canary on a fresh control plane', async () => {
      const port = Number(args.at(-1));
      const controller = spawn(process.execPath, [...SLUICE, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      controller.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((done) => controller.once('exit', (code) => done(code)));
      try {
        const ready = await eventually(
          'the controller to be ready',
          async () => {
            if (controller.exitCode !== null) throw new Error(`controller exited: ${stderr.slice(-2000)}`);
            const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            return response?.ok ? response.text() : undefined;
          },
          { timeoutMs: 60_000 },
        );
        expect(ready.trim()).toBe('ok: leading (Lease sluice-system/sluice-controller)');

        await kube.core.createNamespace({ body: { metadata: { name: 'quickstart' } } });
        await apply(kube, podinfo('quickstart'), { fieldManager: 'kubectl' });
        await apply(
          kube,
          canaryObject('quickstart', {
            provider: 'kubernetes',
            analysis: { interval: '10s', iterations: 2 },
          }),
          { fieldManager: 'kubectl' },
        );
        await eventually(
          'the Canary to be initialized',
          async () => (await readCanary(kube, 'quickstart', 'podinfo')).status?.phase === 'Initialized',
          { timeoutMs: 120_000 },
        );
        // Nothing waited or retried on the way: no warning in the whole log.
        const warnings = stderr
          .split('\n')
          .filter((line) => line.startsWith('{') && (JSON.parse(line) as { level: number }).level >= 40);
        expect(warnings).toEqual([]);
      } finally {
        if (controller.exitCode === null) controller.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    });

    it('stops with one line when the Sluice CRDs are not installed', async () => {
      for (const plural of ['canaries', 'metrictemplates', 'alertproviders']) {
        await kube.wire.request(
          HttpMethod.DELETE,
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.sluice.dev`,
        );
      }
      // The apiserver removes a CRD's instances and then the group in the background; a check
      // that finds instances left is retried with a doubling backoff. 1–3 s in most runs, over
      // 60 s in two on December 7th (not yet explained), hence a deadline of two minutes.
      await eventually(
        'the sluice.dev API to be gone',
        async () =>
          kube.wire.request(HttpMethod.GET, '/apis/sluice.dev/v1alpha1').then(
            () => false,
            () => true,
          ),
        { timeoutMs: 120_000 },
      );
      const exit = await run(process.execPath, [...SLUICE, ...args], { timeout: 60_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );
      expect(exit.code).toBe(1);
      expect(exit.stderr.split('\n').filter((line) => line.trim() && !line.startsWith('{'))).toEqual([
        expect.stringMatching(
          /^sluice: the Sluice CRDs \(sluice\.dev\/v1alpha1\) are not installed at https:\/\/127\.0\.0\.1:\d+: install them with kubectl apply -f crds\/ \(or kubectl apply -k deploy\/\), or point --kubeconfig at the cluster that has them$/,
        ),
      ]);
    }, 240_000);
  });

  it('down leaves no process behind', async () => {
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

function podinfo(namespace: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'podinfo', namespace },
    spec: {
      selector: { matchLabels: { app: 'podinfo' } },
      template: {
        metadata: { labels: { app: 'podinfo' } },
        spec: { containers: [{ name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.0.0' }] },
      },
    },
  };
}
