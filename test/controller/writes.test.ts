import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../src/controller/controller.ts';
import { Informer, collectionPath } from '../../src/controller/informers.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { Notifications } from '../../src/notify/dispatcher.ts';
import { EventRecorder } from '../../src/notify/events.ts';
import { testEnv } from '../support/env.ts';
import { TrafficExporter } from '../support/exporter.ts';
import { useNamespace } from '../support/kube.ts';
import { scrape, waitForSeries } from '../support/prometheus.ts';
import { applyAsUser, canaryObject, podinfoDeployment, waitForPhase } from '../support/sluice.ts';

// What one analysis step costs the API (docs/performance.md): the reconcile that opens a
// step waits for its analysis and writes the status once, so no written status holds an
// analysis still waiting for its answer, and status writes stay below two per analysis.

const ns = useNamespace('ctl-writes');
let controller: RunningController;
let exporter: TrafficExporter;
let unscrape: () => Promise<void>;

interface Round {
  awaiting?: number[];
}

describe('API writes per analysis step', () => {
  beforeAll(async () => {
    exporter = new TrafficExporter({ namespace: ns.name, target: 'podinfo', ingress: 'podinfo' });
    exporter.setMode({ rps: 50, errorRatio: 0, latencyMs: 100 });
    unscrape = await scrape(`127.0.0.1:${await exporter.start()}`, { job: `exporter-${ns.name}` });
    await waitForSeries(`istio_requests_total{destination_workload_namespace="${ns.name}"}`);
    const log = createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'warn', name: 'test-controller' });
    controller = await startController({
      kube: ns.kube,
      log,
      namespaces: [ns.name],
      metricsServer: testEnv().prometheusUrl,
      events: new EventRecorder({ kube: ns.kube }),
      notifications: new Notifications({ resolve: async () => Promise.reject(new Error('none')) }),
    });
    await applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, image: 'example.com/podinfo:1.0.0' }));
    await applyAsUser(
      ns.kube,
      canaryObject(ns.name, {
        provider: 'istio',
        analysis: {
          interval: '10s',
          threshold: 2,
          stepWeight: 25,
          maxWeight: 50,
          metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
        },
      }),
    );
    await waitForPhase(ns.kube, ns.name, 'Initialized');
  });

  afterAll(async () => {
    await controller?.stop();
    await unscrape?.();
    await exporter?.stop();
  });

  it('answers each analysis within the reconcile that asked for it', async () => {
    const written: { phase: string; awaiting: number }[] = [];
    const watch = new Informer<KubernetesObject & { status?: Record<string, unknown> }>(
      ns.kube,
      collectionPath('sluice.dev', 'v1alpha1', 'canaries', ns.name),
      silentLogger,
      (_event, object) => {
        const machine = object.status?.machine as { context?: { round?: Round | null } } | undefined;
        written.push({
          phase: String(object.status?.phase),
          awaiting: machine?.context?.round?.awaiting?.length ?? 0,
        });
      },
    );
    await watch.start();
    const statusWrites = async () =>
      (await controller.metrics.apiWrites.get()).values.find((v) => v.labels.write === 'status')?.value ?? 0;
    const analyses = async () =>
      (await controller.metrics.analysisDuration.get()).values
        .filter((v) => v.metricName?.endsWith('_count'))
        .reduce((sum, v) => sum + v.value, 0);
    const writesBefore = await statusWrites();
    const analysesBefore = await analyses();
    try {
      await applyAsUser(
        ns.kube,
        podinfoDeployment({ namespace: ns.name, image: 'example.com/podinfo:1.0.1' }),
      );
      await waitForPhase(ns.kube, ns.name, 'Succeeded', { timeoutMs: 150_000 });
    } finally {
      await watch.stop();
    }
    const steps = (await analyses()) - analysesBefore;
    const writes = (await statusWrites()) - writesBefore;
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(written.filter((w) => w.phase === 'Progressing').length).toBeGreaterThan(0);
    expect(written.filter((w) => w.awaiting > 0)).toEqual([]);
    expect(writes).toBeLessThan(2 * steps + 4);
  });
});
