import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY } from '../api/routes.ts';
import { oneLine, type MetricProvider } from '../analysis/providers/provider.ts';
import { silentLogger } from '../log.ts';
import { commandAnnotations } from '../api/commands.ts';
import { parseUrlPolicy } from '../hooks/url-policy.ts';
import { UnsupportedTargetError } from '../targets/factory.ts';
import { apiError, canaryObject, fakeWorld } from '../../test/support/fakes.ts';
import type { CanaryObject } from './canary-object.ts';
import { FINALIZER } from './deletion.ts';
import { createMetrics } from './metrics.ts';
import { CanaryReconciler, podReadsFor, type ReconcilerDeps } from './reconciler.ts';

// The reconcile pipeline against in-memory fakes: Canaries in a map behind the Kube wire
// client, a target and a router that record their calls. The same paths against a real
// apiserver are in test/controller/.

const T0 = Date.parse('2026-03-01T10:00:00Z');
const KEY = 'shop/podinfo';
const MINUTE = 60_000;

/** Both arms serve steady traffic; `errors.canary` is the canary's error share (the primary fails 0.5 %). */
function steadyTraffic(clock: { now: number }, errors: { canary: number }): MetricProvider {
  const answer = (raw: string) => {
    const query = oneLine(raw);
    const primary = query.includes('"podinfo-primary"');
    const share = primary ? 0.005 : errors.canary;
    // Counted since T0 at 50 requests per second on each arm; the judge takes differences.
    const requests = 50 * ((clock.now - T0) / 1000);
    return query.includes('response_code=~') ? requests * share : requests;
  };
  return {
    type: 'prometheus',
    runQuery: async (query) => answer(query),
    isOnline: async () => ({ online: true }),
  };
}

function setup(
  object: CanaryObject = canaryObject(),
  deps: Partial<ReconcilerDeps> = {},
  provider?: (clock: { now: number }) => MetricProvider,
) {
  const { store, target, router, events, notifications } = fakeWorld();
  store.put(object);
  const metrics = createMetrics(new Registry());
  const scheduled: (number | null)[] = [];
  const clock = { now: T0 };
  const metricProvider = provider?.(clock);
  const make = () =>
    new CanaryReconciler({
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
      ...(metricProvider
        ? { analysis: { createProvider: () => metricProvider }, metricsServer: 'http://prometheus.test' }
        : {}),
      ...deps,
    });
  let reconciler = make();
  /** A controller restart: a new reconciler that knows only what the store holds. */
  const restart = () => (reconciler = make());
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
  /** Initializes, then a new revision arrives (the release starts, no step yet). */
  const newRevision = async () => {
    await initialize();
    target.revisionNow = 'rev-2';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
  };
  /** Initializes, then a new revision arrives and the release takes its first step. */
  const firstStep = async () => {
    await initialize();
    target.revisionNow = 'rev-2';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(router.routes).toMatchObject({ canaryWeight: 50 });
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
    restart,
    status,
    statusPatches,
    until,
    initialize,
    newRevision,
    firstStep,
  };
}

describe('CanaryReconciler', () => {
  it('looks at an initialising primary again after an interval: a write that changed nothing brings no watch event', async () => {
    // Found by the StatefulSet demo: its partition was already 0, so the promote wrote nothing
    // and the Canary sat in Initializing until the informers' resync, five minutes later.
    const { reconciler, target, status, scheduled, clock } = setup();
    target.primary = 'notReady';
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Initializing');
    expect(scheduled.at(-1)).toBe(clock.now + MINUTE);
    target.primary = 'ready';
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Initialized');
    expect(scheduled.at(-1)).toBeNull();
  });

  it('looks at a primary still not ready less and less often, at most every 5 minutes', async () => {
    // A look each interval for every initialising Canary took the whole work queue at 1000
    // Canaries bootstrapping at once (21 000 reconciles before 100 were Initialized).
    const { reconciler, target, status, scheduled, clock } = setup();
    target.primary = 'notReady';
    const waits: number[] = [];
    for (let look = 0; look < 6; look += 1) {
      await reconciler.reconcile(KEY);
      waits.push((scheduled.at(-1) ?? Number.NaN) - clock.now);
      clock.now += 1000;
    }
    expect(status().phase).toBe('Initializing');
    expect(waits).toEqual([1, 2, 4, 5, 5, 5].map((minutes) => minutes * MINUTE));
    target.primary = 'ready';
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Initialized');
    expect(scheduled.at(-1)).toBeNull();
  });

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

  it('stalls a spec its provider cannot route, writing nothing to routing, the Event with the same reason', async () => {
    const { reconciler, target, router, status, events } = setup(
      canaryObject({}, { provider: 'kubernetes' }),
    );
    await reconciler.reconcile(KEY);
    expect(target.calls).toEqual([]);
    expect(router.calls).toEqual([]);
    const stalled = status().conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'UnsupportedByProvider' });
    expect(stalled?.message).toContain('spec.analysis.stepWeight: provider kubernetes cannot split traffic');
    expect(events.events.at(-1)).toMatch(/^Warning UnsupportedByProvider: .*spec\.analysis\.stepWeight/);
  });

  it('sends a rollout in flight back to the primary when its spec turns to what the provider cannot do', async () => {
    const { reconciler, store, router, status, firstStep } = setup();
    await firstStep();
    const object = store.get('shop', 'podinfo')!;
    const spec = object.spec as { analysis: object };
    store.put({
      ...object,
      metadata: { ...object.metadata, generation: 2 },
      spec: { ...spec, provider: 'smi', analysis: { ...spec.analysis, mirror: true } },
    });
    await reconciler.reconcile(KEY);
    expect(router.routes).toEqual(PRIMARY_ONLY);
    expect(status()).toMatchObject({ canaryWeight: 0, observedGeneration: 2 });
    expect(status().message).toMatch(
      /spec\.analysis\.mirror: provider smi.*cannot mirror.*; traffic sent back to the primary$/,
    );
  });

  it('stalls a target kind it cannot build naming the field and the kinds that work; other canaries go on', async () => {
    const { reconciler, status, events } = setup(canaryObject(), {
      workloadFor: (canary) => {
        throw new UnsupportedTargetError(
          `${canary.metadata.namespace}/${canary.metadata.name}`,
          'ReplicaSet',
        );
      },
    });
    await reconciler.reconcile(KEY);
    const stalled = status().conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled?.message).toBe(
      'spec.targetRef.kind: ReplicaSet is not supported; expected Deployment or DaemonSet or StatefulSet',
    );
    expect(events.events.at(-1)).toMatch(/^Warning InvalidSpec: .*spec\.targetRef\.kind: ReplicaSet/);
  });

  it('stalls a webhook URL the allowlist refuses, naming the field, before any hook is called', async () => {
    const { reconciler, router, status, events } = setup(
      canaryObject({
        webhooks: [{ name: 'gate', type: 'confirm-rollout', url: 'https://attacker.example/' }],
      }),
      { webhookDeps: { urlPolicy: parseUrlPolicy('cluster-local') } },
    );
    await reconciler.reconcile(KEY);
    expect(router.calls).toEqual([]);
    const stalled = status().conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'UrlNotAllowed' });
    expect(stalled?.message).toContain('spec.analysis.webhooks[0].url');
    expect(events.events.at(-1)).toMatch(/^Warning UrlNotAllowed: /);
  });

  it('stalls on an effect the apiserver refuses, naming its message, and sends traffic back to the primary', async () => {
    const { reconciler, router, status, clock, events, scheduled, firstStep } = setup(
      canaryObject({ maxWeight: 100 }),
    );
    await firstStep();
    router.failSetRoutes = apiError(
      422,
      'VirtualService.networking.istio.io "podinfo" is invalid: spec.http[0].route[1].weight: Invalid value',
    );
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(router.calls.slice(-2)).toEqual(['setRoutes 0/100', 'setRoutes 100/0']);
    expect(router.routes).toEqual(PRIMARY_ONLY);
    const stalled = status().conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'ApiRefused' });
    expect(stalled?.message).toContain(
      'setRoutes: the apiserver refused it (422): VirtualService.networking.istio.io "podinfo" is invalid',
    );
    expect(status().canaryWeight).toBe(0);
    expect(events.events.at(-1)).toMatch(/^Warning ApiRefused: /);
    expect(scheduled.at(-1)).toBeNull();
  });

  it('retries an effect error that may go away (5xx, 409, 429, no status) instead of stalling', async () => {
    for (const error of [
      apiError(503, 'etcd leader changed'),
      apiError(429, 'slow down'),
      new Error('ECONNRESET'),
    ]) {
      const { reconciler, target, router, status, clock, initialize } = setup();
      await initialize();
      target.revisionNow = 'rev-2';
      clock.now += 1000;
      await reconciler.reconcile(KEY);
      router.failSetRoutes = error;
      clock.now += MINUTE;
      await expect(reconciler.reconcile(KEY)).rejects.toBe(error);
      expect(status().conditions?.find((c) => c.type === 'Stalled')?.status).not.toBe('True');
    }
  });

  it('rolls back a release whose effects keep failing for progressDeadlineSeconds, saying why', async () => {
    const { reconciler, router, status, clock, events, newRevision } = setup(
      canaryObject({}, { progressDeadlineSeconds: 120 }),
    );
    await newRevision();
    router.failSetRoutes = apiError(503, 'the server is currently unable to handle the request');
    for (let i = 0; i < 2; i += 1) {
      clock.now += MINUTE;
      await expect(reconciler.reconcile(KEY)).rejects.toBe(router.failSetRoutes);
      // The step waits for the write: status shows the weight being applied, never a later one.
      expect(status()).toMatchObject({ phase: 'Progressing', canaryWeight: 50 });
    }
    expect(
      new Set(router.calls.filter((call) => call.startsWith('setRoutes') && call !== 'setRoutes 100/0')),
    ).toEqual(new Set(['setRoutes 50/50']));
    // Two minutes after the first failure.
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Failed');
    expect(status().message).toBe(
      'rolling back: no progress within the progress deadline (120s): could not setRoutes: the server is currently unable to handle the request',
    );
    expect(router.routes).toEqual(PRIMARY_ONLY);
    expect(events.events).toContain(`Warning RolledBack: ${status().message}`);
  });

  it('keeps the no-progress clock in status: a restart goes on counting, and progress stops it', async () => {
    const { reconciler, router, status, clock, events, newRevision, restart } = setup(
      canaryObject({}, { progressDeadlineSeconds: 120 }),
    );
    await newRevision();
    router.failSetRoutes = apiError(503, 'the server is currently unable to handle the request');
    clock.now += MINUTE;
    const firstFailure = new Date(clock.now).toISOString();
    await expect(reconciler.reconcile(KEY)).rejects.toBe(router.failSetRoutes);
    expect(status().noProgress).toEqual({
      since: firstFailure,
      reason: 'could not setRoutes: the server is currently unable to handle the request',
    });
    // The controller restarts a minute later: the clock goes on from status, not from now.
    clock.now += MINUTE;
    const restarted = restart();
    await expect(restarted.reconcile(KEY)).rejects.toBe(router.failSetRoutes);
    expect(status().noProgress?.since).toBe(firstFailure);
    clock.now += MINUTE;
    await restarted.reconcile(KEY);
    expect(status().phase).toBe('Failed');
    expect(status().message).toMatch(/^rolling back: no progress within the progress deadline \(120s\)/);
    expect(events.events.filter((e) => e.startsWith('Warning RolledBack'))).toHaveLength(1);
    // The rollback's route write passed (routes back to the primary do here): the clock is gone.
    expect(status().noProgress).toBeUndefined();
  });

  it('stops the no-progress clock when the effects are carried out again', async () => {
    const { reconciler, router, status, clock, newRevision } = setup(
      canaryObject({}, { progressDeadlineSeconds: 120 }),
    );
    await newRevision();
    router.failSetRoutes = apiError(503, 'etcd leader changed');
    clock.now += MINUTE;
    await expect(reconciler.reconcile(KEY)).rejects.toBe(router.failSetRoutes);
    expect(status().noProgress).toBeDefined();
    router.failSetRoutes = undefined;
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    expect(status()).toMatchObject({ phase: 'Progressing', canaryWeight: 50 });
    expect(status().noProgress).toBeUndefined();
  });

  it('holds a release while the primary is not ready: no traffic, reason PrimaryNotReady, one Event', async () => {
    const { reconciler, target, router, status, clock, events, initialize } = setup();
    await initialize();
    target.primary = 'notReady';
    target.revisionNow = 'rev-2';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    for (let i = 0; i < 3; i += 1) {
      clock.now += MINUTE;
      await reconciler.reconcile(KEY);
    }
    expect(status()).toMatchObject({
      phase: 'Progressing',
      canaryWeight: 0,
      message: 'waiting for the primary to become ready before moving traffic: primary notReady',
    });
    expect(status().conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PrimaryNotReady',
    });
    expect(router.routes).toEqual(PRIMARY_ONLY);
    expect(events.events.filter((e) => e.startsWith('Warning PrimaryNotReady'))).toEqual([
      'Warning PrimaryNotReady: waiting for the primary to become ready before moving traffic: primary notReady',
    ]);
    target.primary = 'ready';
    clock.now += MINUTE;
    await reconciler.reconcile(KEY);
    expect(router.routes).toMatchObject({ canaryWeight: 50 });
    expect(status().conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Progressing');
  });

  it('records what a command came to in status.lastCommand.result', async () => {
    const { reconciler, store, status, initialize } = setup();
    await initialize();
    const object = store.get('shop', 'podinfo')!;
    store.put({
      ...object,
      metadata: { ...object.metadata, annotations: commandAnnotations('abort', 'c-1') },
    });
    await reconciler.reconcile(KEY);
    expect(status().lastCommand).toMatchObject({
      id: 'c-1',
      command: 'abort',
      result: 'abort ignored: the canary is Initialized',
    });
  });

  it('writes the session affinity cookie into status, and the one before it once a new revision has its own', async () => {
    const affinity = { sessionAffinity: { cookieName: 'canary-user', maxAge: 60 } };
    const { reconciler, target, status, clock, initialize } = setup(canaryObject(affinity));
    await initialize();
    const first = status().sessionAffinityCookie;
    expect(first).toMatch(/^canary-user=\w+$/);
    target.revisionNow = 'rev-2';
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    await reconciler.reconcile(KEY);
    expect(status().sessionAffinityCookie).toMatch(/^canary-user=\w+$/);
    expect(status().sessionAffinityCookie).not.toBe(first);
    expect(status().previousSessionAffinityCookie).toBe(first);
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

  it('lets a deleted Canary go after one progressDeadlineSeconds when its target never turns ready, saying what was not restored', async () => {
    const object = canaryObject(
      {},
      { revertOnDeletion: true, progressDeadlineSeconds: 60 },
      { finalizers: [FINALIZER] },
    );
    const { reconciler, store, target, router, events, scheduled, clock, initialize } = setup(object);
    await initialize();
    const deletedAt = clock.now;
    markDeleted(store, deletedAt);
    target.failing.set('restore', apiError(404, 'deployments.apps "podinfo" not found'));
    await reconciler.reconcile(KEY);
    expect(store.get('shop', 'podinfo')!.metadata.finalizers).toEqual([FINALIZER]);
    clock.now = deletedAt + 59_000;
    await reconciler.reconcile(KEY);
    expect(scheduled.at(-1)).toBe(deletedAt + 60_000);
    clock.now = deletedAt + 60_000;
    await reconciler.reconcile(KEY);
    expect(store.get('shop', 'podinfo')!.metadata.finalizers).toEqual([]);
    expect(router.calls).not.toContain('finalize');
    expect(target.calls).not.toContain('removePrimary');
    expect(events.events.at(-1)).toBe(
      'Warning RestoreFailed: Deployment podinfo was not restored within progressDeadlineSeconds (deployments.apps "podinfo" not found); Deployment podinfo-primary and the routing are left serving',
    );
  });

  it('removes the finalizer of a deleted Canary whose spec has since become invalid', async () => {
    const object = canaryObject({}, { revertOnDeletion: true }, { finalizers: [FINALIZER] });
    const { reconciler, store, target, events, clock, initialize } = setup(object);
    await initialize();
    const current = store.get('shop', 'podinfo')!;
    const spec = current.spec as { analysis: object };
    store.put({ ...current, spec: { ...spec, analysis: { ...spec.analysis, interval: 'soon' } } });
    markDeleted(store, clock.now);
    await reconciler.reconcile(KEY);
    expect(store.get('shop', 'podinfo')!.metadata.finalizers).toEqual([]);
    expect(target.calls).not.toContain('restore');
    expect(events.events.at(-1)).toMatch(
      /^Warning RestoreFailed: the target was not restored: .*spec\.analysis\.interval/,
    );
  });

  it("looks no sooner than Prometheus' scrape interval, whatever checkEvery says", async () => {
    const canary = canaryObject({ judge: { builtins: ['errors'] }, checkEvery: '5s', threshold: 5 });
    const world = setup(canary, { scrapeIntervalMs: () => 15_000 }, (time) =>
      steadyTraffic(time, { canary: 0.005 }),
    );
    const { reconciler, scheduled, clock } = world;
    await releaseToHalf(world);
    const gaps: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const at = scheduled.at(-1)!;
      gaps.push(at - clock.now);
      clock.now = at;
      await reconciler.reconcile(KEY);
    }
    // Looks every 15 s (the step interval is 1m, so no step comes between).
    expect(gaps).toEqual([15_000, 15_000, 15_000]);
  });

  it('looks with the judge every checkEvery between steps without writing status, and rolls back on a decisive look', async () => {
    const errors = { canary: 0.005 };
    const canary = canaryObject({ judge: { builtins: ['errors'] }, checkEvery: '5s', threshold: 5 });
    const world = setup(canary, {}, (time) => steadyTraffic(time, errors));
    const { reconciler, store, status, scheduled, statusPatches, events, clock } = world;
    // Looks from the start, the pre-rollout step after an interval, then 50 %.
    await releaseToHalf(world);
    const written = statusPatches();
    // Healthy looks between steps: each wakes the canary five seconds later and writes nothing.
    for (let i = 0; i < 3; i += 1) {
      const at = scheduled.at(-1)!;
      expect(at - clock.now).toBeLessThanOrEqual(5000);
      clock.now = at;
      await reconciler.reconcile(KEY);
    }
    expect(statusPatches()).toBe(written);
    expect(status().phase).toBe('Progressing');
    // The canary starts failing 5 % of its requests: a look rolls it back, before the next step.
    errors.canary = 0.05;
    for (let i = 0; i < 20 && status().phase === 'Progressing'; i += 1) {
      clock.now = scheduled.at(-1)!;
      await reconciler.reconcile(KEY);
    }
    expect(status()).toMatchObject({ phase: 'Failed', failedChecks: 0 });
    expect(status().message).toMatch(
      /^rolling back: fast-fail check between steps: judge: errors: canary 5 % /,
    );
    expect(status().judge).toMatchObject({
      revision: 'rev-2',
      verdicts: [{ name: 'errors', outcome: 'fail' }],
    });
    expect(events.events).toContainEqual(
      expect.stringMatching(/^Warning RolledBack: rolling back: fast-fail/),
    );
    // `sluice retry` of the same revision, now healthy: judged afresh, not on the failed run's counts.
    errors.canary = 0.005;
    const failed = store.get('shop', 'podinfo')!;
    store.put({
      ...failed,
      metadata: { ...failed.metadata, annotations: commandAnnotations('retry', 'c-9') },
    });
    clock.now += 1000;
    await reconciler.reconcile(KEY);
    expect(status().phase).toBe('Progressing');
    expect(status().judge).toBeUndefined();
    for (let i = 0; i < 40 && status().phase === 'Progressing'; i += 1) {
      clock.now = scheduled.at(-1)!;
      await reconciler.reconcile(KEY);
    }
    expect(status().phase).not.toBe('Failed');
    expect(status().judge?.verdicts.map((v) => v.outcome)).not.toContain('fail');
  });
});

/** A new revision (rev-2) started and stepped until half the traffic is on the canary. */
async function releaseToHalf(world: ReturnType<typeof setup>): Promise<void> {
  const { reconciler, target, status, scheduled, initialize, clock } = world;
  await initialize();
  target.revisionNow = 'rev-2';
  clock.now += 1000;
  await reconciler.reconcile(KEY);
  for (let i = 0; i < 30 && status().canaryWeight !== 50; i += 1) {
    clock.now = scheduled.at(-1)!;
    await reconciler.reconcile(KEY);
  }
  expect(status()).toMatchObject({ phase: 'Progressing', canaryWeight: 50 });
}

function markDeleted(store: ReturnType<typeof fakeWorld>['store'], at: number): void {
  const object = store.get('shop', 'podinfo')!;
  store.put({ ...object, metadata: { ...object.metadata, deletionTimestamp: new Date(at).toISOString() } });
}

describe('podReadsFor', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  it('reads no pod in a bootstrap but at the look that finds its deadline passed', () => {
    expect(podReadsFor(undefined, now)).toBe('never');
    expect(podReadsFor({ phase: 'Initializing' }, now)).toBe('never');
    expect(
      podReadsFor({ phase: 'Initializing', deadlines: { primaryReady: '2026-12-07T12:00:01Z' } }, now),
    ).toBe('never');
    expect(
      podReadsFor({ phase: 'Initializing', deadlines: { primaryReady: '2026-12-07T12:00:00Z' } }, now),
    ).toBe('checked');
    expect(
      podReadsFor(
        { phase: 'Initializing', message: 'primary not ready within the progress deadline (600s): …' },
        now,
      ),
    ).toBe('never');
  });

  it('takes a resting canary’s ready workloads at their word, and checks them during a rollout', () => {
    for (const phase of ['Initialized', 'Succeeded', 'Failed'] as const)
      expect(podReadsFor({ phase }, now)).toBe('unlessReady');
    for (const phase of ['Progressing', 'WaitingPromotion', 'Promoting', 'Finalising', 'Waiting'] as const)
      expect(podReadsFor({ phase }, now)).toBe('checked');
  });
});

describe('CanaryReconciler across shards', () => {
  /** A reconciler of shard `shard` whose informer lists the Canary while `listed.value` holds. */
  const sharded = (shard: string, object: CanaryObject = canaryObject()) => {
    const listed = { value: true };
    const world: { setup?: ReturnType<typeof setup> } = {};
    world.setup = setup(object, {
      holder: { shard },
      getCanary: (namespace, name) => (listed.value ? world.setup?.store.get(namespace, name) : undefined),
    });
    return { ...world.setup, listed };
  };

  it('writes its shard into status.heldBy and clears it once the Canary has left its informer', async () => {
    const a = sharded('a');
    await a.initialize();
    expect(a.status().heldBy).toEqual({ shard: 'a' });
    // Relabelled to another shard: the informer drops it, and the last reconcile hands it over.
    a.listed.value = false;
    await a.reconciler.reconcile(KEY);
    expect(a.status().heldBy).toBeUndefined();
    expect(a.status().phase).toBe('Initialized');
    expect(a.scheduled.at(-1)).toBeNull();
  });

  it('acts on a Canary another shard holds only after its release, or after the handover deadline', async () => {
    const heldByA = { ...canaryObject(), status: { heldBy: { shard: 'a' } } };
    const b = sharded('b', heldByA);
    await b.reconciler.reconcile(KEY);
    expect(b.target.calls).toEqual([]);
    expect(b.statusPatches()).toBe(0);
    expect(b.scheduled.at(-1)).toBe(T0 + 30_000);
    // The deadline passes without a release (shard a is gone): b takes the Canary over.
    b.clock.now = T0 + 30_000;
    await b.reconciler.reconcile(KEY);
    expect(b.target.calls).toEqual(['revision', 'promote rev-1']);
    expect(b.status().heldBy).toEqual({ shard: 'b' });

    const released = sharded('b', heldByA);
    await released.reconciler.reconcile(KEY);
    expect(released.target.calls).toEqual([]);
    released.store.put({ ...released.store.get('shop', 'podinfo')!, status: {} });
    await released.reconciler.reconcile(KEY);
    expect(released.target.calls).toEqual(['revision', 'promote rev-1']);
  });
});
