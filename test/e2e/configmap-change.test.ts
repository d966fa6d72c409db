import { describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import {
  answersOf,
  APP,
  apply,
  IMAGE,
  SUCCESS_RATE,
  useScenario,
  waitForBootstrap,
  waitForOutcome,
  type Canary,
  istioAt50,
} from './support.ts';

// Scenario 9: the Deployment reads its settings from a ConfigMap (envFrom), and only the
// ConfigMap changes. Each change is a new revision: a good one is promoted (the primary
// then reads the `-primary` copy with the new data), a bad one (ERROR_RATE 0.5) is rolled
// back and never reaches the primary's processes. The runtime builds each demo-app
// process's environment from the ConfigMap as the kubelet would; real traffic through the
// Istio stand-in; built-in success rate from the real Prometheus.

const CONFIG = `${APP}-config`;
const sc = useScenario('e2e-configmap', {
  prepare: (ns) => setConfig(ns, { MESSAGE: 'config v1' }),
  deployment: { envFromConfigMaps: [CONFIG] },
  canary: () => istioAt50({ threshold: 1, metrics: [SUCCESS_RATE] }),
});
const { ns } = sc;

const setConfig = (namespace: { kube: typeof ns.kube; name: string }, data: Record<string, string>) =>
  apply(namespace.kube, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG, namespace: namespace.name },
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
      const answers = await answersOf(sc.stack, workload);
      return answers.length > 0 && answers.every((a) => a.message === message) ? answers : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

describe('e2e: ConfigMap-only changes', () => {
  let promoted: Canary;

  it('rolls out a good ConfigMap change and promotes it to the -primary copy', async () => {
    const initialized = await waitForBootstrap(sc.stack, sc.main);
    expect((await sc.primary()).envFrom).toEqual([`${CONFIG}-primary`]);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v1' });
    await processesSay(`${APP}-primary`, 'config v1');
    sc.recorder.reset();

    await setConfig(ns, { MESSAGE: 'config v2' });
    await sc.waitFor((c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 50, {
      timeoutMs: 60_000,
    });
    // Mid-analysis the canary's processes run with the new config, the primary's with the old.
    await processesSay(APP, 'config v2');
    await processesSay(`${APP}-primary`, 'config v1');

    promoted = await waitForOutcome(sc.stack, initialized);
    expect(promoted.status?.phase, promoted.status?.message).toBe('Succeeded');
    expect(promoted.status?.trackedConfigs?.[`configmap/${CONFIG}`]).toBeDefined();
    expect(promoted.status?.trackedConfigs?.[`configmap/${CONFIG}`]).not.toBe(
      initialized.status?.trackedConfigs?.[`configmap/${CONFIG}`],
    );
    // The pod template did not change: same image, still reading the -primary copy, now v2.
    const primary = await sc.primary();
    expect(primary.image).toBe(`${IMAGE}:1.0.0`);
    expect(primary.envFrom).toEqual([`${CONFIG}-primary`]);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v2' });
    await processesSay(`${APP}-primary`, 'config v2');
    expect(await sc.events()).toEqual(
      expect.arrayContaining(['new revision detected, starting canary analysis', 'promotion completed']),
    );
  });

  it('rolls back a bad ConfigMap change; the primary keeps the promoted config', async () => {
    expect(promoted?.status?.phase).toBe('Succeeded');
    sc.recorder.reset();
    const errorsBefore = sc.main.counts().byStatus['500'] ?? 0;

    await setConfig(ns, { MESSAGE: 'config v3', ERROR_RATE: '0.5' });
    const failed = await sc.outcome(promoted);
    expect(failed.status?.phase, failed.status?.message).toBe('Failed');
    expect(failed.status?.message).toMatch(
      /^rolling back: failed checks threshold reached 1: request-success-rate: [\d.]+ < min 99$/,
    );
    expect(failed.status?.canaryWeight).toBe(0);
    expect(sc.recorder.weights()).toContain(50);
    expect((sc.main.counts().byStatus['500'] ?? 0) - errorsBefore).toBeGreaterThan(5);
    const analysis = failed.status?.lastAnalysis?.[0];
    expect(analysis?.name).toBe('request-success-rate');
    expect(analysis?.passed).toBe(false);
    expect(analysis?.value).toBeGreaterThan(20);
    expect(analysis?.value).toBeLessThan(80);

    // The bad config never reached the primary: its copy and its processes still say v2.
    expect(await primaryConfig()).toEqual({ MESSAGE: 'config v2' });
    await processesSay(`${APP}-primary`, 'config v2');
    await sc.expectIstioOnPrimary();
    await sc.expectAnsweredByPrimary('real traffic answered by the primary only, without errors', {
      atLeast: 20,
      noErrors: true,
    });
    await sc.waitForSlack(
      'Slack told about the rollback',
      /^rolling back: failed checks threshold reached 1: request-success-rate/,
    );
  });
});
