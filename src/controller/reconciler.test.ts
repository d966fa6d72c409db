import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY } from '../api/routes.ts';
import { silentLogger } from '../log.ts';
import { canaryObject, fakeWorld } from '../../test/support/fakes.ts';
import type { CanaryObject } from './canary-object.ts';
import { FINALIZER } from './deletion.ts';
import { createMetrics } from './metrics.ts';
import { CanaryReconciler } from './reconciler.ts';

// The reconcile pipeline against in-memory fakes: Canaries in a map behind the Kube wire
// client, a target and a router that record their calls. The same paths against a real
// apiserver are in test/controller/.

const T0 = Date.parse('2026-03-01T10:00:00Z');
const KEY = 'shop/podinfo';
const MINUTE = 60_000;

function setup(object: CanaryObject = canaryObject()) {
  const { store, target, router, events, notifications } = fakeWorld();
  store.put(object);
  const metrics = createMetrics(new Registry());
  const scheduled: (number | null)[] = [];
  const clock = { now: T0 };
  const reconciler = new CanaryReconciler({
    kube: store.kube(),
    log: silentLogger,
    metrics,
    events,
    notifications,
    getCanary: (namespace, name) => store.get(namespace, name),
    requeue: () => undefined,
    schedule: (_key, at) => scheduled.push(at),
    now: () => clock.now,
    workloadFor: () => ({ target, router }),
  });
  const status = () => store.get('shop', 'podinfo')!.status!;
  const statusPatches = () => store.patches.filter((p) => p.subresource === 'status').length;
  /** Reconciles at each scheduled step until the phase is one of `phases`. */
  const until = async (phases: string[], max = 20) => {
    for (let i = 0; i < max && !phases.includes(String(status().phase)); i += 1) {
      clock.now = Math.max(clock.now + 1000, scheduled.at(-1) ?? clock.now);
      await reconciler.reconcile(KEY);
    }
    return status();
  };
  const initialize = async () => {
    await reconciler.reconcile(KEY);
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Initialized');
  };
  return {
    store,
    target,
    router,
    events,
    notifications,
    metrics,
    scheduled,
    clock,
    reconciler,
    status,
    statusPatches,
    until,
    initialize,
  };
}

describe('CanaryReconciler', () => {
  it('bootstraps a new Canary: the primary from the target, all traffic to it, the target scaled down', async () => {
    const { reconciler, target, router, status, events } = setup();
    await reconciler.reconcile(KEY);
    expect(target.calls).toEqual(['revision', 'promote rev-1']);
    expect(status()).toMatchObject({
      phase: 'Initializing',
      observedGeneration: 1,
      lastAppliedSpec: 'rev-1',
    });
    await reconciler.reconcile(KEY);
    expect(router.routes).toEqual(PRIMARY_ONLY);
    expect(target.calls.slice(2)).toEqual(['revision', 'scale zero']);
    expect(status()).toMatchObject({ phase: 'Initialized', lastPromotedSpec: 'rev-1', canaryWeight: 0 });
    expect(status().conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(events.events).toContain('Normal Initialized: initialization done');
  });

  it('rolls a new revision out step by step at the scheduled times, then promotes it and counts it', async () => {
    const { reconciler, target, router, status, scheduled, clock, metrics, until, initialize } = setup();
    await initialize();
    target.revisionNow = 'rev-2';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    expect(status()).toMatchObject({ phase: 'Progressing', lastAppliedSpec: 'rev-2' });
    expect(status().revisionDetectedAt).toBe(new Date(clock.now).toISOString());
    expect(scheduled.at(-1)).toBe(clock.now + MINUTE);
    expect(await until(['Succeeded'])).toMatchObject({ lastPromotedSpec: 'rev-2', canaryWeight: 0 });
    expect(router.calls.filter((c) => c.startsWith('setRoutes'))).toEqual([
      'setRoutes 100/0',
      'setRoutes 50/50',
      'setRoutes 100/0',
    ]);
    expect(target.calls).toContain('promote rev-2');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sluice_canary_rollouts_started_total\{namespace="shop",strategy="canary"\} 1/);
    expect(text).toMatch(/sluice_canary_promotions_total\{namespace="shop",strategy="canary"\} 1/);
    expect(scheduled.at(-1)).toBeNull();
  });

  it('keeps the release of the revision in status, carries it into Events and notifications, and starts lead time at the commit', async () => {
    const { reconciler, target, status, events, notifications, clock, metrics, until, initialize } = setup();
    await initialize();
    target.revisionNow = 'rev-2';
    target.release = {
      release: {
        deploymentId: 'deploy-123',
        commitSha: 'abc123',
        committedAt: new Date(T0 - 10 * MINUTE).toISOString(),
      },
    };
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    expect(status().release).toEqual(target.release.release);
    const done = await until(['Succeeded']);
    const dora = { 'dora.metrics/deployment-id': 'deploy-123', 'dora.metrics/commit-sha': 'abc123' };
    expect(events.annotations.get('Normal Succeeded: promotion completed')).toEqual(dora);
    expect(notifications.sent.at(-1)?.fields).toMatchObject({
      deploymentId: 'deploy-123',
      commitSha: 'abc123',
    });
    const text = await metrics.registry.metrics();
    const seconds = (Date.parse(done.lastTransitionTime!) - (T0 - 10 * MINUTE)) / 1000;
    expect(text).toContain(
      `sluice_canary_lead_time_seconds_sum{namespace="shop",strategy="canary",source="commit"} ${seconds}`,
    );

    // A revision without the annotation: lead time from its detection, and no release in status.
    target.revisionNow = 'rev-3';
    target.release = {
      release: {},
      problem: 'Deployment shop/podinfo metadata.annotations: dora.metrics/timestamp is "x"',
    };
    await until(['Progressing']);
    expect(status().release).toBeUndefined();
    expect(events.events).toContain(
      'Warning InvalidAnnotation: Deployment shop/podinfo metadata.annotations: dora.metrics/timestamp is "x"',
    );
    await until(['Succeeded']);
    expect(await metrics.registry.metrics()).toMatch(
      /sluice_canary_lead_time_seconds_count\{namespace="shop",strategy="canary",source="detection"\} 1/,
    );
  });

  it('holds back a status that only says the canary turned ready, and writes it at flush', async () => {
    const { reconciler, target, status, statusPatches, clock, initialize } = setup();
    await initialize();
    target.revisionNow = 'rev-2';
    target.canary = 'notReady';
    await reconciler.reconcile(KEY);
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(status().message).toBe('waiting for the canary to become ready');
    const written = statusPatches();

    target.canary = 'ready';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    expect(statusPatches()).toBe(written);
    expect(status().deadlines).toHaveProperty('canaryReady');
    await reconciler.flush();
    expect(statusPatches()).toBe(written + 1);
    expect(status().deadlines).toBeUndefined();
  });

  it('writes the status again after a conflict with a spec change', async () => {
    const { reconciler, store, status, statusPatches } = setup();
    store.conflicts = 1;
    await reconciler.reconcile(KEY);
    expect(statusPatches()).toBe(2);
    expect(status().phase).toBe('Initializing');
  });

  it('stalls an invalid spec naming the field, and touches nothing', async () => {
    const { reconciler, target, router, status, events, scheduled } = setup(
      canaryObject({ interval: 'soon' }),
    );
    await reconciler.reconcile(KEY);
    expect(target.calls).toEqual([]);
    expect(router.calls).toEqual([]);
    expect(scheduled).toEqual([null]);
    const stalled = status().conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled?.message).toContain('spec.analysis.interval');
    expect(events.events.at(-1)).toMatch(/^Warning InvalidSpec: .*spec\.analysis\.interval/);
  });

  it('says in status that the target cannot be read, and fails the reconcile so it is retried', async () => {
    const { reconciler, target, status, events } = setup();
    target.failing.set('revision', new Error('deployments.apps "podinfo" not found'));
    await expect(reconciler.reconcile(KEY)).rejects.toThrow('not found');
    expect(status().message).toBe('cannot read the target: deployments.apps "podinfo" not found');
    expect(status().conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False' }));
    expect(events.events).toContain(
      'Warning ReconcileError: cannot read the target: deployments.apps "podinfo" not found',
    );
  });

  it('writes the machine’s status with the failed effect named, then fails the reconcile so it is retried', async () => {
    const { reconciler, target, status } = setup();
    await reconciler.reconcile(KEY);
    target.failing.set('scale', new Error('exceeded quota'));
    await expect(reconciler.reconcile(KEY)).rejects.toThrow('exceeded quota');
    expect(status().message).toMatch(/\(retrying: exceeded quota\)$/);
  });

  it('restores the target of a deleted Canary with revertOnDeletion before it lets the Canary go', async () => {
    const object = canaryObject({}, { revertOnDeletion: true }, { finalizers: [FINALIZER] });
    const { reconciler, store, target, router, status, scheduled, clock, initialize } = setup(object);
    await initialize();
    store.put({
      ...store.get('shop', 'podinfo')!,
      metadata: {
        ...store.get('shop', 'podinfo')!.metadata,
        deletionTimestamp: new Date(clock.now).toISOString(),
      },
    });
    target.canary = 'notReady';
    await reconciler.reconcile(KEY);
    expect(status()).toMatchObject({ phase: 'Terminating', message: 'restoring the target before deletion' });
    expect(scheduled.at(-1)).toBe(clock.now + 2000);
    expect(store.get('shop', 'podinfo')!.metadata.finalizers).toEqual([FINALIZER]);

    target.canary = 'ready';
    await reconciler.reconcile(KEY);
    expect(router.calls.at(-1)).toBe('finalize');
    expect(target.calls.slice(-2)).toEqual(['restore', 'removePrimary']);
    expect(store.get('shop', 'podinfo')!.metadata.finalizers).toEqual([]);
  });
});
