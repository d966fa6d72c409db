import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../src/controller/controller.ts';
import { Informer, collectionPath } from '../../src/controller/informers.ts';
import { silentLogger } from '../../src/log.ts';
import { testEnv } from '../support/env.ts';
import { countingWire } from '../support/kube.ts';
import { ROLLOUT_SPEC, startTestController, useScene, useScrapedExporter } from '../support/scene.ts';

// What one analysis step costs the API (docs/performance.md): the reconcile that opens a
// step waits for its analysis and writes the status once, so no written status holds an
// analysis still waiting for its answer. A workload turning ready is written with the next
// step, and routine steps are no Events by default (the status says them).

const ns = useScene('ctl-writes');
useScrapedExporter(ns, { rps: 50, errorRatio: 0, latencyMs: 100 });
let controller: RunningController;

interface Round {
  awaiting?: number[];
}

/** GETs the controller sends to the apiserver, by kind (reads from informers are not). */
let gets = new Map<string, number>();

describe('API writes per analysis step', () => {
  beforeAll(async () => {
    const counting = countingWire(ns.kube.wire, 'getObject', ([ref]) => String(ref.kind));
    gets = counting.counts;
    controller = await startTestController(ns, {
      kube: { ...ns.kube, wire: counting.wire },
      metricsServer: testEnv().prometheusUrl,
    });
    await ns.initialize(ROLLOUT_SPEC, 'example.com/podinfo:1.0.0');
  });

  afterAll(async () => {
    await controller?.stop();
  });

  it('answers each analysis within the reconcile that asked for it', async () => {
    const written: { phase: string; awaiting: number; message: string }[] = [];
    const watch = new Informer<KubernetesObject & { status?: Record<string, unknown> }>(
      ns.kube,
      collectionPath('sluice.dev', 'v1alpha1', 'canaries', ns.name),
      silentLogger,
      (_event, object) => {
        const machine = object.status?.machine as { context?: { round?: Round | null } } | undefined;
        written.push({
          phase: String(object.status?.phase),
          message: String(object.status?.message),
          awaiting: machine?.context?.round?.awaiting?.length ?? 0,
        });
      },
    );
    await watch.start();
    const writesOf = async (kind: string) =>
      (await controller.metrics.apiWrites.get()).values.find((v) => v.labels.write === kind)?.value ?? 0;
    const statusWrites = () => writesOf('status');
    const analyses = async () =>
      (await controller.metrics.analysisDuration.get()).values
        .filter((v) => v.metricName?.endsWith('_count'))
        .reduce((sum, v) => sum + v.value, 0);
    const writesBefore = await statusWrites();
    const eventsBefore = await writesOf('event');
    const virtualServiceGets = () => gets.get('VirtualService') ?? 0;
    const getsBefore = virtualServiceGets();
    const routeWritesBefore = await writesOf('routes');
    const analysesBefore = await analyses();
    try {
      await ns.release('example.com/podinfo:1.0.1');
      await ns.phase('Succeeded', { timeoutMs: 150_000 });
    } finally {
      await watch.stop();
    }
    const steps = (await analyses()) - analysesBefore;
    const writes = (await statusWrites()) - writesBefore;
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(written.filter((w) => w.phase === 'Progressing').length).toBeGreaterThan(0);
    expect(written.filter((w) => w.awaiting > 0)).toEqual([]);
    // Progressing (scaling up the canary), one per weight (25, 50), Promoting, Succeeded; the
    // canary and then the primary turning ready ride along with the next of these.
    // (A tick that finds a workload not ready yet says so: a loaded machine can be that slow.)
    const waits = written.filter((w) => w.message.startsWith('waiting for')).length;
    expect(writes - waits).toBe(5);
    expect(
      written.filter((w) => w.phase === 'Progressing' && !w.message.startsWith('waiting for')).length,
    ).toBe(3);
    // Events: the new revision, the promotion and its completion; no Event per weight.
    expect((await writesOf('event')) - eventsBefore).toBe(3);
    const events = await ns.events();
    expect(events.get('new revision detected, starting canary analysis')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);
    expect([...events.keys()].filter((m) => m.startsWith('advance canary weight'))).toEqual([]);
    // Each step reads the VirtualService (routes of others in it, drift) from the informer,
    // not with a GET: one at the most per route write, where the informer still trails the
    // controller's own write (read-your-writes by resourceVersion), never one per tick.
    const routeWrites = (await writesOf('routes')) - routeWritesBefore;
    expect(routeWrites).toBeGreaterThanOrEqual(2);
    expect(virtualServiceGets() - getsBefore).toBeLessThanOrEqual(routeWrites);
  });
});
