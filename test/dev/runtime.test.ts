import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/dev/process.ts';
import { startLocalRuntime, type LocalRuntime } from '../../src/dev/runtime.ts';
import { mergePatch } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { configMap, secret } from '../support/objects.ts';
import { query } from '../support/prometheus.ts';
import { applyAll, demoDeployment, readyProcesses } from './fixtures.ts';

const ns = useNamespace('devrt');
let runtime: LocalRuntime;

beforeAll(async () => {
  const env = testEnv();
  runtime = await startLocalRuntime({
    kubeconfig: env.kubeconfig,
    stateDir: env.stateDir,
    prometheusTargetsDir: env.prometheusTargetsDir,
    namespace: ns.name,
  });
});

afterAll(async () => {
  await runtime?.stop();
});

async function answer(
  url: string,
): Promise<{ version: string; hostname: string; message: string; header: string | null }> {
  const response = await fetch(url);
  const body = (await response.json()) as { version: string; hostname: string; message: string };
  return { ...body, header: response.headers.get('x-app-version') };
}

describe('the local runtime', () => {
  it('runs one real process per Ready pod of a demo Deployment, with the env of its template', async () => {
    await applyAll(ns.kube, [
      configMap(ns.name, 'web-config', { message: 'hello from a ConfigMap' }),
      secret(ns.name, 'web-secret', { token: 's3cret' }),
      demoDeployment(ns.name, 'web', {
        replicas: 2,
        env: [
          { name: 'VERSION', value: '1.0.0' },
          { name: 'MESSAGE', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'message' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'web-secret', key: 'token' } } },
        ],
      }),
    ]);
    const processes = await readyProcesses(runtime, ns.name, 'web', 2);
    const pods = await ns.kube.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
    expect(processes.map((p) => p.pod).sort()).toEqual(pods.items.map((p) => p.metadata?.name).sort());

    const answers = await Promise.all(processes.map((p) => answer(p.url)));
    expect(answers.map((a) => a.hostname).sort()).toEqual(processes.map((p) => p.pod).sort());
    for (const a of answers) {
      expect(a).toMatchObject({ version: '1.0.0', header: '1.0.0', message: 'hello from a ConfigMap' });
    }
    for (const p of processes) {
      expect(p.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(isAlive(p.pid ?? -1)).toBe(true);
      expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${p.url}/readyz`)).status).toBe(200);
    }

    // The registry is also on disk for people debugging the demo.
    const onDisk = await eventually('registry.json lists both pods as ready', async () => {
      const entries = JSON.parse(await readFile(join(runtime.runtimeDir, 'registry.json'), 'utf8')) as {
        pod: string;
        state: string;
        url: string;
      }[];
      return entries.filter((e) => e.state === 'ready').length === 2 ? entries : undefined;
    });
    expect(onDisk.map((e) => e.url).sort()).toEqual(processes.map((p) => p.url).sort());
  });

  it("registers every process with Prometheus under the pod's namespace, pod and app labels", async () => {
    const processes = runtime.registry.readyOf(ns.name, 'web');
    for (const p of processes) {
      for (let i = 0; i < 5; i += 1) await (await fetch(`${p.url}/`)).arrayBuffer();
    }
    // One request each in the first test, five here.
    const promql = `sum by (pod, app, namespace) (http_requests_total{namespace="${ns.name}", path="/"})`;
    const series = await eventually('both pods scraped with 6 requests each', async () => {
      const result = await query(promql);
      return result.length === 2 && result.every((s) => s.value[1] === '6') ? result : undefined;
    });
    expect(series.map((s) => s.metric.pod).sort()).toEqual(processes.map((p) => p.pod).sort());
    for (const s of series) expect(s.metric).toMatchObject({ app: 'web', namespace: ns.name });
  });

  it('stops the process of a pod that goes away', async () => {
    const before = runtime.registry.readyOf(ns.name, 'web');
    await ns.kube.apps.patchNamespacedDeployment(
      { name: 'web', namespace: ns.name, body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    const [kept] = await readyProcesses(runtime, ns.name, 'web', 1);
    const gone = before.filter((p) => p.pod !== kept?.pod);
    expect(gone).toHaveLength(1);
    await eventually('the stopped process exits', async () => !isAlive(gone[0]?.pid ?? -1));
    expect(runtime.registry.get(ns.name, gone[0]?.pod ?? '')).toBeUndefined();
  });

  it('restarts a process that dies while its pod still serves, like a container', async () => {
    const [before] = runtime.registry.readyOf(ns.name, 'web');
    process.kill(before?.pid ?? -1, 'SIGKILL');
    const after = await eventually('a new process for the same pod', async () => {
      const [p] = runtime.registry.readyOf(ns.name, 'web');
      return p && p.pid !== before?.pid ? p : undefined;
    });
    expect(after).toMatchObject({ pod: before?.pod, restarts: 1 });
    expect((await answer(after.url)).hostname).toBe(before?.pod);
  });

  it('a ConfigMap-only release reaches the process of the new pod', async () => {
    await applyAll(ns.kube, [
      configMap(ns.name, 'api-config', { version: '1.0.0', errorRate: '0' }),
      demoDeployment(ns.name, 'api', {
        env: [
          { name: 'VERSION', valueFrom: { configMapKeyRef: { name: 'api-config', key: 'version' } } },
          { name: 'ERROR_RATE', valueFrom: { configMapKeyRef: { name: 'api-config', key: 'errorRate' } } },
        ],
        annotations: { 'example.com/config-revision': '1' },
      }),
    ]);
    const [first] = await readyProcesses(runtime, ns.name, 'api', 1);
    expect((await answer(first?.url ?? '')).version).toBe('1.0.0');

    // The release: new config, and a template change (as a config checksum annotation would) rolls the pods.
    await ns.kube.core.patchNamespacedConfigMap(
      { name: 'api-config', namespace: ns.name, body: { data: { version: '2.0.0', errorRate: '1' } } },
      mergePatch,
    );
    await ns.kube.apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: ns.name,
        body: { spec: { template: { metadata: { annotations: { 'example.com/config-revision': '2' } } } } },
      },
      mergePatch,
    );
    const second = await eventually('a new api pod serving 2.0.0', async () => {
      const [p] = runtime.registry.readyOf(ns.name, 'api');
      return p && p.pod !== first?.pod && p.version === '2.0.0' ? p : undefined;
    });
    const response = await fetch(second.url);
    expect(response.status).toBe(500);
    expect(response.headers.get('x-app-version')).toBe('2.0.0');
  });

  it('waits for a missing ConfigMap, naming it, and starts the process once it exists', async () => {
    await applyAll(ns.kube, [
      demoDeployment(ns.name, 'late', {
        env: [{ name: 'VERSION', valueFrom: { configMapKeyRef: { name: 'late-config', key: 'version' } } }],
      }),
    ]);
    const failed = await eventually('the late pod reported as failed', async () => {
      const entry = runtime.registry.list(ns.name).find((e) => e.workload === 'late');
      return entry?.state === 'failed' ? entry : undefined;
    });
    expect(failed.error).toContain(`ConfigMap ${ns.name}/late-config, which does not exist`);
    await applyAll(ns.kube, [configMap(ns.name, 'late-config', { version: '3.1.4' })]);
    const [ready] = await readyProcesses(runtime, ns.name, 'late', 1);
    expect((await answer(ready?.url ?? '')).version).toBe('3.1.4');
  });
});
