import { afterAll, beforeAll, expect } from 'vitest';
import type { V1Deployment, V1EnvVar, V1Service } from '@kubernetes/client-node';
import { apply, type Kube } from '../../src/kube/client.ts';
import { startLocalRuntime } from '../../src/dev/runtime.ts';
import type { RunningProxy } from '../../src/dev/traffic.ts';
import { testEnv } from '../support/env.ts';
import { DEMO_APP_LABEL } from '../../src/dev/pods.ts';
import type { LocalRuntime } from '../../src/dev/runtime.ts';
import { eventually, type TestNamespace } from '../support/kube.ts';
import { query } from '../support/prometheus.ts';

/** A Deployment of the demo app: its pods carry the demo label, so the runtime runs them. */
export function demoDeployment(
  namespace: string,
  name: string,
  options: { replicas?: number; env?: V1EnvVar[]; app?: string; annotations?: Record<string, string> } = {},
): V1Deployment {
  const app = options.app ?? name;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app } },
      template: {
        metadata: {
          labels: { app, [DEMO_APP_LABEL]: 'true' },
          ...(options.annotations ? { annotations: options.annotations } : {}),
        },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.com/demo-app:1.0.0',
              ports: [{ name: 'http', containerPort: 8080 }],
              env: options.env ?? [],
            },
          ],
        },
      },
    },
  };
}

export function service(namespace: string, name: string, app: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

export async function applyAll(kube: Kube, objects: object[]): Promise<void> {
  for (const object of objects) await apply(kube, object as Parameters<typeof apply>[1]);
}

/** Waits until the workload has exactly `count` ready processes. */
export function readyProcesses(runtime: LocalRuntime, namespace: string, workload: string, count: number) {
  return eventually(
    `${count} ready demo-app processes of ${namespace}/${workload}`,
    async () => {
      const ready = runtime.registry.readyOf(namespace, workload);
      return ready.length === count ? ready : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

export interface Tally {
  total: number;
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
}

/** Sends `n` requests (a few at a time) and counts answers by X-App-Version and status. */
export async function tally(
  url: string,
  n: number,
  options: { headers?: Record<string, string>; concurrency?: number } = {},
): Promise<Tally> {
  const result: Tally = { total: 0, byVersion: {}, byStatus: {} };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      const response = await fetch(url, {
        headers: options.headers ?? {},
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      const version = response.headers.get('x-app-version') ?? 'none';
      result.total += 1;
      result.byVersion[version] = (result.byVersion[version] ?? 0) + 1;
      result.byStatus[response.status] = (result.byStatus[response.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return result;
}

/**
 * Sends `n` requests and checks that the canary (version 2.0.0) answered a share of them
 * strictly between `low` and `high`, and the primary (1.0.0) all the others.
 */
export async function expectCanaryShare(
  url: string,
  n: number,
  [low, high]: [number, number],
): Promise<Tally> {
  const t = await tally(url, n);
  const canaryShare = (t.byVersion['2.0.0'] ?? 0) / n;
  expect(canaryShare).toBeGreaterThan(low);
  expect(canaryShare).toBeLessThan(high);
  expect((t.byVersion['1.0.0'] ?? 0) + (t.byVersion['2.0.0'] ?? 0)).toBe(n);
  return t;
}

/** A metric's samples (lines containing `contains`), summed over the given /metrics pages. */
export async function exported(
  metricsUrls: string[],
  metric: string,
  contains: string | string[] = '',
): Promise<number> {
  const parts = [contains].flat();
  let sum = 0;
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(`${metric}{`) && parts.every((part) => line.includes(part)))
        sum += Number(line.split(' ').at(-1));
    }
  }
  return sum;
}

/** The app's own counter for a path, summed over the given processes' /metrics. */
export function appRequests(urls: string[], path: string): Promise<number> {
  return exported(
    urls.map((url) => `${url}/metrics`),
    'http_requests_total',
    `path="${path}"`,
  );
}

/**
 * Waits until Prometheus has scraped what the exporters now say: `sum(<promql>)` equals the sum
 * of `metric` over their /metrics pages. A fixed sleep is not enough on a loaded machine, where
 * a scrape can come late and a rate window then sees only part of the traffic.
 */
export async function scrapedUpTo(metricsUrls: string[], metric: string, selector: string): Promise<void> {
  const expected = await exported(metricsUrls, metric);
  await eventually(
    `Prometheus scraping ${metric} up to ${expected}`,
    async () => {
      const [sample] = await query(`sum(${metric}${selector})`);
      return Number(sample?.value[1] ?? -1) === expected || undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

/** Waits until the proxy reaches a ready process behind its Service (EndpointSlices can trail pods). */
export function routable(proxyUrl: string, version: string) {
  return eventually(`the proxy reaching a ready ${version} process`, async () => {
    const t = await tally(proxyUrl, 4);
    return t.byVersion[version] === 4 || undefined;
  });
}

/**
 * What a router's bootstrap leaves for Canary `podinfo`: Deployments podinfo-primary
 * (VERSION 1.0.0, `primaryReplicas`) and podinfo (the canary: VERSION 2.0.0 and
 * `canaryEnv`), Services podinfo / podinfo-primary / podinfo-canary; then the local
 * runtime proxying podinfo.test, with every process ready.
 */
export async function startPodinfoPair(
  ns: TestNamespace,
  options: { primaryReplicas: number; canaryEnv: V1EnvVar[] },
): Promise<{ runtime: LocalRuntime; proxy: RunningProxy }> {
  const env = testEnv();
  await applyAll(ns.kube, [
    demoDeployment(ns.name, 'podinfo-primary', {
      ...(options.primaryReplicas > 1 ? { replicas: options.primaryReplicas } : {}),
      env: [{ name: 'VERSION', value: '1.0.0' }],
    }),
    demoDeployment(ns.name, 'podinfo', { env: [{ name: 'VERSION', value: '2.0.0' }, ...options.canaryEnv] }),
    service(ns.name, 'podinfo', 'podinfo-primary'),
    service(ns.name, 'podinfo-primary', 'podinfo-primary'),
    service(ns.name, 'podinfo-canary', 'podinfo'),
  ]);
  const runtime = await startLocalRuntime({
    kubeconfig: env.kubeconfig,
    stateDir: env.stateDir,
    prometheusTargetsDir: env.prometheusTargetsDir,
    namespace: ns.name,
    proxies: [{ service: 'podinfo', hosts: ['podinfo.test'] }],
  });
  await readyProcesses(runtime, ns.name, 'podinfo-primary', options.primaryReplicas);
  await readyProcesses(runtime, ns.name, 'podinfo', 1);
  return { runtime, proxy: runtime.proxies[0] as RunningProxy };
}

export interface PodinfoPair {
  runtime: LocalRuntime;
  proxy: RunningProxy;
  /** Applies a routing object and waits until the proxy routes by it (routeBy). */
  route(
    object: { kind: string },
    probe: { headers?: Record<string, string>; version: string },
  ): Promise<void>;
}

/** startPodinfoPair in the test file's namespace before its tests; the runtime stopped after them. */
export function usePodinfoPair(
  ns: TestNamespace,
  options: { primaryReplicas: number; canaryEnv: V1EnvVar[] },
): PodinfoPair {
  const pair = { route: (object, probe) => routeBy(ns.kube, pair.proxy, object, probe) } as PodinfoPair;
  beforeAll(async () => {
    Object.assign(pair, await startPodinfoPair(ns, options));
  });
  afterAll(async () => {
    await pair.runtime?.stop();
  });
  return pair;
}

/** Two weighted backends: `canaryWeight` percent to `canary`, the rest to `primary`. */
export function split<B extends object>(primary: B, canary: B, canaryWeight: number) {
  return [
    { ...primary, weight: 100 - canaryWeight },
    { ...canary, weight: canaryWeight },
  ];
}

/** Applies a routing object and waits until the proxy routes by it (a probe request says so). */
export async function routeBy(
  kube: Kube,
  proxy: RunningProxy,
  object: { kind: string },
  probe: { headers?: Record<string, string>; version: string },
): Promise<void> {
  await applyAll(kube, [object]);
  await eventually(`the proxy routing by the new ${object.kind}`, async () => {
    const t = await tally(proxy.url, 10, { headers: probe.headers ?? {} });
    return (t.byVersion[probe.version] ?? 0) > 0 || undefined;
  });
}
