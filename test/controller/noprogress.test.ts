import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { CanaryObject } from '../../src/controller/reconciler.ts';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { forwardRequest } from '../support/loopback.ts';
import { eventually, writeKubeconfig } from '../support/kube.ts';
import { virtualServiceWeights, type SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// Issue 13 §3 on the real control plane: routing writes that keep failing with an error
// that may go away roll the release back after progressDeadlineSeconds, the reason in
// status. The controller talks to the apiserver through a loopback proxy that passes
// everything on, except that while `failWrites` is set it answers 503 to writes of this
// namespace's VirtualServices, as an overloaded apiserver does. The rollback is announced
// (Event, event webhook) while the route writes still fail, and a controller restart in the
// middle goes on with the no-progress clock from status.noProgress.

const ns = useScene('noprogress');
let controller: SluiceProcess;
let proxy: Server;
let failWrites = false;
let receiver: Server;
/** Event webhook bodies' messages, as the controller sent them. */
const hookMessages: string[] = [];

/** A loopback receiver for the controller's --event-webhook. */
async function startEventReceiver(): Promise<string> {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body) as { metadata?: { eventMessage?: string } };
      hookMessages.push(parsed.metadata?.eventMessage ?? '');
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
}

/** A plain-HTTP proxy to the test apiserver, authenticating upstream as the admin. */
async function startApiProxy(): Promise<string> {
  const kc = loadKubeConfig(testEnv().kubeconfig);
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  const upstream = new URL(cluster.server);
  const tls = {
    ca: Buffer.from(cluster.caData!, 'base64'),
    cert: Buffer.from(user.certData!, 'base64'),
    key: Buffer.from(user.keyData!, 'base64'),
  };
  const routeWrite = new RegExp(
    `^/apis/networking\\.istio\\.io/v1[^/]*/namespaces/${ns.name}/virtualservices`,
  );
  proxy = createServer((request, response) => {
    if (failWrites && request.method !== 'GET' && routeWrite.test(request.url ?? '')) {
      request.resume();
      response.writeHead(503, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'the server is currently unable to handle the request',
          reason: 'ServiceUnavailable',
          code: 503,
        }),
      );
      return;
    }
    forwardRequest(upstream, request, response, { tls });
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  const port = (proxy.address() as AddressInfo).port;
  const path = join(testEnv().stateDir, `${ns.name}-proxy.kubeconfig`);
  await writeKubeconfig(path, 'proxy', {
    cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
    user: {},
  });
  return path;
}

describe('sluice controller: no progress within the progress deadline', () => {
  let kubeconfig: string;
  let eventWebhook: string;
  const start = () =>
    ns.startController({ kubeconfig, args: ['--no-leader-elect', '--event-webhook', eventWebhook] });

  beforeAll(async () => {
    kubeconfig = await startApiProxy();
    eventWebhook = await startEventReceiver();
    controller = await start();
    await ns.initialize(
      {
        provider: 'istio',
        progressDeadlineSeconds: 20,
        analysis: { interval: '10s', threshold: 2, stepWeight: 50, maxWeight: 50 },
      },
      'example.com/podinfo:1',
    );
  });

  afterAll(async () => {
    await controller?.kill();
    proxy?.closeAllConnections();
    await new Promise((done) => proxy?.close(done));
    receiver?.closeAllConnections();
    await new Promise((done) => receiver?.close(done));
  });

  it('rolls back a release whose route writes keep failing (503), through a restart, announcing it while they fail', async () => {
    failWrites = true;
    await ns.release('example.com/podinfo:2');
    const seen = new Set<number>();
    const clocks = new Set<string>();
    const look = (c: CanaryObject) => {
      if (typeof c.status?.canaryWeight === 'number') seen.add(c.status.canaryWeight);
      // The rollout's clock; the rollback's own failing route write starts another.
      if (c.status?.noProgress && c.status.phase === 'Progressing') clocks.add(c.status.noProgress.since);
    };
    // The first failed route write starts the no-progress clock, in status.
    const stuck = await ns.phase(
      (c) => {
        look(c);
        return c.status?.noProgress !== undefined || c.status?.phase === 'Failed';
      },
      { timeoutMs: 90_000 },
    );
    expect(stuck.status?.phase).toBe('Progressing');
    expect(stuck.status?.noProgress?.reason).toMatch(/^could not setRoutes: .*unable to handle the request/);
    // The controller dies mid-failure; the new one goes on with the clock, it does not restart it.
    await controller.kill('SIGKILL');
    controller = await start();
    const failed = await ns.phase(
      (c) => {
        look(c);
        // Done (or promoted: the failing writes were not seen) — either way, stop looking.
        return c.status?.phase === 'Failed' || c.status?.phase === 'Succeeded';
      },
      { timeoutMs: 90_000 },
    );
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.message).toMatch(
      /^rolling back: no progress within the progress deadline \(20s\): could not setRoutes: .*unable to handle the request/,
    );
    expect([...clocks]).toEqual([stuck.status?.noProgress?.since]);
    // Status never showed a weight past the one being applied.
    expect([...seen].every((weight) => weight <= 50)).toBe(true);

    // The rollback is announced while its own route write still fails: Event and event webhook.
    const announced = `rolling back: no progress within the progress deadline (20s)`;
    const events = await eventually(
      'the RolledBack Event while route writes fail',
      async () => {
        const found = await ns.events();
        return [...found.keys()].some((m) => m.startsWith(announced)) ? found : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(failWrites).toBe(true);
    expect([...events].filter(([m]) => m.startsWith(announced)).map(([, count]) => count)).toEqual([1]);
    await eventually('the event webhook told of the rollback', async () =>
      hookMessages.some((m) => m.startsWith(announced)),
    );
    // The writes recover: the rollback's route write lands and the clock is gone.
    failWrites = false;
    const restored = await ns.phase((c) => c.status?.noProgress === undefined, {
      timeoutMs: 60_000,
    });
    expect(restored.status?.phase).toBe('Failed');
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual([100, 0]);
    expect(hookMessages.filter((m) => m.startsWith(announced))).toHaveLength(1);
  });
});
