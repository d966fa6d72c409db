import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  answersOf,
  APP,
  apply,
  demoCanary,
  demoDeployment,
  eventMessages,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  virtualServiceWeights,
  waitForBootstrap,
  waitForOutcome,
  waitForCanary,
  type Canary,
} from './support.ts';

// Scenario 9: the Deployment reads its settings from a ConfigMap (envFrom), and only the
// ConfigMap changes. Each change is a new revision: a good one is promoted (the primary
// then reads the `-primary` copy with the new data), a bad one (ERROR_RATE 0.5) is rolled
// back and never reaches the primary's processes. The runtime builds each demo-app
// process's environment from the ConfigMap as the kubelet would; real traffic through the
// Istio stand-in; built-in success rate from the real Prometheus.

const ns = useNamespace('e2e-configmap');
const CONFIG = `${APP}-config`;
let stack: AppStack;
let traffic: DemoLoad;
let recorder: Recorder;

const setConfig = (data: Record<string, string>) =>
  apply(ns.kube, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG, namespace: ns.name },
    data,
  });

async function primaryConfig(): Promise<Record<string, string>> {
  const copy = await ns.kube.core.readNamespacedConfigMap({ name: `${CONFIG}-primary`, namespace: ns.name });
  return copy.data ?? {};
}

/** Waits until every ready process of a workload answers with this MESSAGE. */
function processesSay(workload: string, message: string) {
  return eventually(
    `every ${workload} process answering "${message}"`,
    async () => {
      const answers = await answersOf(stack, workload);
      return answers.length > 0 && answers.every((a) => a.message === message) ? answers : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  stack = await startStack(ns.name, { proxies: [{ service: APP }] });
  await setConfig({ MESSAGE: 'config v1' });
  await apply(ns.kube, demoDeployment(ns.name, '1.0.0', { envFromConfigMaps: [CONFIG] }));
  await apply(
    ns.kube,
    demoCanary(ns.name, {
      provider: 'istio',
      analysis: {
        interval: '10s',
        threshold: 1,
        stepWeight: 50,
        maxWeight: 50,
        metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
      },
    }),
  );
  traffic = load(stack.runtime.proxies[0]!.url);
  recorder = new Recorder(ns.kube, ns.name, { main: traffic }).start();
});

afterAll(async () => {
  recorder?.stop();
  await traffic?.stop();
  await stack?.stop();
});

describe('e2e: ConfigMap-only changes', () => {
  let promoted: Canary;

  it('rolls out a good ConfigMap change and promotes it to the -primary copy', async () => {
    const initialized = await waitForBootstrap(stack, traffic);
    expect((await primaryContainer(ns.kube, ns.name)).envFrom).toEqual([`${CONFIG}-primary`]);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v1' });
    await processesSay(`${APP}-primary`, 'config v1');
    recorder.reset();

    await setConfig({ MESSAGE: 'config v2' });
    await waitForCanary(
      ns.kube,
      ns.name,
      (c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 50,
      {
        timeoutMs: 60_000,
      },
    );
    // Mid-analysis the canary's processes run with the new config, the primary's with the old.
    await processesSay(APP, 'config v2');
    await processesSay(`${APP}-primary`, 'config v1');

    promoted = await waitForOutcome(stack, initialized);
    expect(promoted.status?.phase, promoted.status?.message).toBe('Succeeded');
    expect(promoted.status?.trackedConfigs?.[`configmap/${CONFIG}`]).toBeDefined();
    expect(promoted.status?.trackedConfigs?.[`configmap/${CONFIG}`]).not.toBe(
      initialized.status?.trackedConfigs?.[`configmap/${CONFIG}`],
    );
    // The pod template did not change: same image, still reading the -primary copy, now v2.
    const primary = await primaryContainer(ns.kube, ns.name);
    expect(primary.image).toBe(`${IMAGE}:1.0.0`);
    expect(primary.envFrom).toEqual([`${CONFIG}-primary`]);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v2' });
    await processesSay(`${APP}-primary`, 'config v2');
    expect(await eventMessages(ns.kube, ns.name)).toEqual(
      expect.arrayContaining(['new revision detected, starting canary analysis', 'promotion completed']),
    );
  });

  it('rolls back a bad ConfigMap change; the primary keeps the promoted config', async () => {
    expect(promoted?.status?.phase).toBe('Succeeded');
    recorder.reset();
    const errorsBefore = traffic.counts().byStatus['500'] ?? 0;

    await setConfig({ MESSAGE: 'config v3', ERROR_RATE: '0.5' });
    const failed = await waitForOutcome(stack, promoted);
    await recorder.catchUp();
    expect(failed.status?.phase, failed.status?.message).toBe('Failed');
    expect(failed.status?.message).toMatch(
      /^rolling back: failed checks threshold reached 1: request-success-rate: [\d.]+ < min 99$/,
    );
    expect(failed.status?.canaryWeight).toBe(0);
    expect(recorder.weights()).toContain(50);
    expect((traffic.counts().byStatus['500'] ?? 0) - errorsBefore).toBeGreaterThan(5);
    const analysis = failed.status?.lastAnalysis?.[0];
    expect(analysis?.name).toBe('request-success-rate');
    expect(analysis?.passed).toBe(false);
    expect(analysis?.value).toBeGreaterThan(20);
    expect(analysis?.value).toBeLessThan(80);

    // The bad config never reached the primary: its copy and its processes still say v2.
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v2' });
    await processesSay(`${APP}-primary`, 'config v2');
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    const before = traffic.counts();
    await eventually(
      'real traffic answered by the primary only, without errors',
      async () => {
        const now = traffic.counts();
        const primary = (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const canary = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        const errors = (now.byStatus['500'] ?? 0) - (before.byStatus['500'] ?? 0);
        return primary > 20 && canary === 0 && errors === 0;
      },
      { timeoutMs: 20_000 },
    );
    await eventually('Slack told about the rollback', async () =>
      slackLines(stack).some((l) =>
        l.startsWith(
          `${APP}.${ns.name}: rolling back: failed checks threshold reached 1: request-success-rate`,
        ),
      ),
    );
  });
});
