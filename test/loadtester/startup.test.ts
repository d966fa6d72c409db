import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userWithRole, useNamespace } from '../support/kube.ts';
import { expectOneLineFailure, sluiceExit } from '../support/sluice.ts';
import { startLoadtester } from './process.ts';

// The load tester checks its gate store before it answers anything: a store it cannot use
// is one line naming the store and the ways out, then a non-zero exit (it used to answer
// /healthz 200 and fail every gate call with a TLS error).

const ns = useNamespace('lt-startup');
let home: string;
let portHolder: Server;

/** Runs `sluice loadtester` to its exit with no kubeconfig anywhere unless given one. */
function loadtesterExit(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.KUBECONFIG;
  return sluiceExit(['loadtester', '--host', '127.0.0.1', ...args], { env });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-lt-home-'));
  portHolder = createServer();
  await new Promise<void>((resolve) => portHolder.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await new Promise<void>((resolve) => portHolder.close(() => resolve()));
});

describe('sluice loadtester start-up', () => {
  it('stops when its ConfigMap gate store has no cluster, naming the store and the ways out', async () => {
    const exit = await loadtesterExit(['--port', '0']);
    expectOneLineFailure(
      exit,
      /^sluice: gate store configmap default\/sluice-loadtester-gates cannot be used \(reading configmap default\/sluice-loadtester-gates: .*\); give it a cluster with --kubeconfig \(no kubeconfig .* was used\), run it in a cluster, or keep gates in memory with --gate-store memory$/,
    );
  });

  it('stops when RBAC does not let it write the ConfigMap', async () => {
    const kubeconfig = await userWithRole(ns, 'read-only', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    ]);
    const exit = await loadtesterExit([
      '--port',
      '0',
      '--kubeconfig',
      kubeconfig,
      '--gate-namespace',
      ns.name,
    ]);
    expectOneLineFailure(
      exit,
      new RegExp(
        `^sluice: gate store configmap ${ns.name}/sluice-loadtester-gates cannot be used \\(creating configmap ${ns.name}/sluice-loadtester-gates \\(dry run\\): .*forbidden.*\\); give it a cluster with --kubeconfig`,
      ),
    );
  });

  it('names the port and --port when the port is taken', async () => {
    const port = (portHolder.address() as { port: number }).port;
    const exit = await loadtesterExit(['--port', String(port), '--gate-store', 'memory']);
    expect(exit.code).toBe(1);
    expect(exit.said).toEqual([
      `sluice: --port ${port}: 127.0.0.1:${port} is already in use by another process; choose a free port with --port`,
    ]);
  });

  it('runs without a cluster with --gate-store memory', async () => {
    const running = await startLoadtester(['--gate-store', 'memory']);
    try {
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });
});
