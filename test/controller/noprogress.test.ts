import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// Issue 13 §3 on the real control plane: routing writes that keep failing with an error
// that may go away roll the release back after progressDeadlineSeconds, the reason in
// status. The controller talks to the apiserver through a loopback proxy that passes
// everything on, except that while `failWrites` is set it answers 503 to writes of this
// namespace's VirtualServices, as an overloaded apiserver does.

const ns = useScene('noprogress');
let controller: SluiceProcess;
let proxy: Server;
let failWrites = false;

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
    const forward = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
        ...tls,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  const port = (proxy.address() as AddressInfo).port;
  const path = join(testEnv().stateDir, `${ns.name}-proxy.kubeconfig`);
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'proxy', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'proxy', user: {} }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
      'current-context': 'proxy',
    }),
  );
  return path;
}

async function virtualServiceWeights(): Promise<number[]> {
  const vs = (await ns.kube.custom.getNamespacedCustomObject({
    group: 'networking.istio.io',
    version: 'v1',
    namespace: ns.name,
    plural: 'virtualservices',
    name: 'podinfo',
  })) as { spec: { http: { route: { weight?: number }[] }[] } };
  return vs.spec.http.at(-1)!.route.map((r) => r.weight ?? 0);
}

describe('sluice controller: no progress within the progress deadline', () => {
  beforeAll(async () => {
    const kubeconfig = await startApiProxy();
    controller = await ns.startController({ kubeconfig, args: ['--no-leader-elect'] });
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
  });

  it('rolls back a release whose route writes keep failing (503), the reason in status, the weight never claimed', async () => {
    failWrites = true;
    await ns.release('example.com/podinfo:2');
    const seen = new Set<number>();
    // The proxy refuses from here on; the test ends with it refusing (afterAll closes it).
    const failed = await ns.phase(
      (c) => {
        if (typeof c.status?.canaryWeight === 'number') seen.add(c.status.canaryWeight);
        // Done (or promoted: the failing writes were not seen) — either way, stop looking.
        return c.status?.phase === 'Failed' || c.status?.phase === 'Succeeded';
      },
      { timeoutMs: 90_000 },
    );
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.message).toMatch(
      /^rolling back: no progress within the progress deadline \(20s\): could not setRoutes: .*unable to handle the request/,
    );
    // Status never showed a weight past the one being applied.
    expect([...seen].every((weight) => weight <= 50)).toBe(true);
    expect(await virtualServiceWeights()).toEqual([100, 0]);
  });
});
