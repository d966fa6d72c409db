import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Canary } from '../api/canary.ts';
import { PRIMARY_ONLY } from '../api/routes.ts';
import type { MetricProvider } from '../analysis/providers/provider.ts';
import { silentLogger } from '../log.ts';
import { stepAll, type StepResult } from '../machine/driver.ts';
import { planFromSpec } from '../machine/plan.ts';
import type { Observation } from '../machine/types.ts';
import { canaryObject, fakeWorld, RecordedEvents } from '../../test/support/fakes.ts';
import { canaryChecksum, type WebhookRequest } from '../hooks/webhook.ts';
import { EffectRunner, type EffectRunnerDeps, type EffectWork } from './effect-runner.ts';
import { createMetrics } from './metrics.ts';

// The effect runner against in-memory fakes: effects carried out in order, completions
// fed back to the real machine, analyses in the background, drift set back.

const T0 = Date.parse('2026-03-01T10:00:00Z');
const KEY = 'shop/podinfo';
const METRICS = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];

function setup(
  analysis: Record<string, unknown> = {},
  options: Partial<Pick<EffectRunnerDeps, 'analysisWaitMs' | 'globalEventWebhook' | 'webhookDeps'>> = {},
) {
  const canary = Canary.parse(canaryObject(analysis));
  const plan = planFromSpec(canary.spec);
  const { store, target, router, events, notifications } = fakeWorld();
  const requeued: string[] = [];
  const queries: string[] = [];
  const provider: MetricProvider = {
    type: 'prometheus',
    runQuery: async (query) => {
      queries.push(query);
      return 100;
    },
    isOnline: async () => ({ online: true }),
  };
  const runner = new EffectRunner({
    kube: store.kube(),
    log: silentLogger,
    metrics: createMetrics(new Registry()),
    events,
    notifications,
    requeue: (key) => requeued.push(key),
    analysis: { createProvider: () => provider },
    now: () => T0,
    ...options,
  });
  const step = (persisted: unknown, observations: Observation[]) => stepAll(persisted, plan, observations);
  const work = (now = T0, established = true): EffectWork => ({
    canary,
    subject: { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', name: 'podinfo', namespace: 'shop' },
    target,
    router,
    trackedConfigs: {},
    generation: 1,
    step,
    intervalMs: plan.intervalMs,
    established,
    judge: undefined,
    now,
    log: silentLogger,
  });
  /** The machine of a canary at 50 % of a new revision, at the tick that runs its analysis. */
  const progressing = async (): Promise<StepResult> => {
    const created = step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]);
    const promoted = await runner.carryOut(KEY, created, work());
    const initialized = await runner.carryOut(
      KEY,
      step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready', canary: 'ready' }]),
      work(),
    );
    const started = await runner.carryOut(
      KEY,
      step(initialized.result.snapshot, [{ type: 'REVISION', now: T0, revision: 'rev-2' }]),
      work(),
    );
    const first = await runner.carryOut(
      KEY,
      step(started.result.snapshot, [
        { type: 'READINESS', now: T0 + 1000, canary: 'ready', primary: 'ready' },
        { type: 'TICK', now: T0 + plan.intervalMs },
      ]),
      work(),
    );
    expect(first.result.status.canaryWeight).toBe(50);
    return step(first.result.snapshot, [{ type: 'TICK', now: T0 + 2 * plan.intervalMs }]);
  };
  return { runner, target, router, events, requeued, queries, step, work, progressing };
}

/** A global event webhook whose requests are recorded instead of sent. */
function recordedEventHooks() {
  const sent: WebhookRequest[] = [];
  const options = {
    globalEventWebhook: 'http://events.example/',
    webhookDeps: {
      transport: async (request: WebhookRequest) => {
        sent.push(request);
        return { status: 200, body: 'ok' };
      },
    },
  };
  return { sent, options };
}

describe('EffectRunner', () => {
  it('carries out the effects in order and feeds each completion back until the machine asks for nothing new', async () => {
    const { runner, target, router, events, step, work } = setup();
    const created = step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]);
    const promoted = await runner.carryOut(KEY, created, work());
    expect(target.calls).toEqual(['promote rev-1']);
    expect(promoted.result.effects).toEqual([]);

    const ready = step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]);
    expect(ready.effects.map((e) => e.kind)).toEqual(['setRoutes', 'scaleCanary', 'recordEvent', 'notify']);
    const carried = await runner.carryOut(KEY, ready, work());
    expect(router.calls).toEqual(['reconcile', 'setRoutes 100/0']);
    expect(target.calls.at(-1)).toBe('scale zero');
    expect(events.events).toEqual(['Normal Initialized: initialization done']);
    expect(carried.result.effects).toEqual([]);
    expect(carried.result.status.phase).toBe('Initialized');
    expect(carried.happened.transitions.map((t) => t.to)).toContain('active.idle.initialized');
    expect(carried.failure).toBeUndefined();
  });

  it('sends event hooks the checksum of the revision they are about, as every other hook', async () => {
    // Found by `npm run chaos -- kill`: the checksum left the revision out, so every revision's
    // events looked alike to a receiver and it could not tell a repeat from the next rollout.
    const { sent, options } = recordedEventHooks();
    const { progressing } = setup({ metrics: METRICS }, options);
    await progressing();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const checksums = new Map(
      sent.map((request) => {
        const body = JSON.parse(request.body) as { checksum: string; metadata: { eventMessage: string } };
        return [body.metadata.eventMessage, body.checksum];
      }),
    );
    expect(checksums.get('new revision detected, starting canary analysis')).toBe(
      canaryChecksum({ trackedConfigs: {}, lastAppliedSpec: 'rev-2' }),
    );
    expect(checksums.get('initialization done')).toBe(
      canaryChecksum({ trackedConfigs: {}, lastAppliedSpec: 'rev-1' }),
    );
  });

  it("has an announcement's event hook answered before the reconcile goes on to write its status", async () => {
    // Found by `npm run chaos -- kill`: the status write landed before the hook was sent, and a
    // kill in between lost the step's event hook (the next controller found the step done).
    const answered: string[] = [];
    const { options } = recordedEventHooks();
    const { runner, step, work } = setup(
      {},
      {
        ...options,
        webhookDeps: {
          transport: async (request: WebhookRequest) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            answered.push(
              (JSON.parse(request.body) as { metadata: { eventMessage: string } }).metadata.eventMessage,
            );
            return { status: 200, body: 'ok' };
          },
        },
      },
    );
    const promoted = await runner.carryOut(
      KEY,
      step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]),
      work(),
    );
    await runner.carryOut(
      KEY,
      step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]),
      work(),
    );
    expect(answered).toContain('initialization done');
  });

  it('waits for an event hook that hangs no longer than its timeout', async () => {
    const called: string[] = [];
    const { runner, step, work } = setup(
      { webhooks: [{ name: 'events', type: 'event', url: 'http://events.example/', timeout: '50ms' }] },
      {
        webhookDeps: {
          transport: (request: WebhookRequest) => {
            called.push(request.url);
            return new Promise(() => undefined);
          },
        },
      },
    );
    const promoted = await runner.carryOut(
      KEY,
      step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]),
      work(),
    );
    const carried = await runner.carryOut(
      KEY,
      step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]),
      work(),
    );
    expect(carried.result.status.phase).toBe('Initialized');
    expect(called).toEqual(['http://events.example/']);
  });

  it('takes an analysis answer within the reconcile that asked for it, and reports it for status', async () => {
    const { runner, target, requeued, queries, work, progressing } = setup({ metrics: METRICS });
    const tick = await progressing();
    expect(tick.effects.map((e) => e.kind)).toContain('runAnalysis');
    const carried = await runner.carryOut(KEY, tick, work(T0 + 120_000));
    expect(queries).toHaveLength(1);
    expect(requeued).toEqual([]);
    expect(carried.result.status.phase).toBe('Promoting');
    expect(target.calls.at(-1)).toBe('promote rev-2');
    expect(carried.reported.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'request-success-rate', passed: true, value: 100 }),
    ]);
  });

  it('starts an effect once while it runs, and hands its answer to the next reconcile', async () => {
    const { runner, requeued, queries, work, progressing } = setup(
      { metrics: METRICS },
      { analysisWaitMs: 0 },
    );
    const tick = await progressing();
    await runner.carryOut(KEY, tick, work());
    await runner.carryOut(KEY, tick, work());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(queries).toHaveLength(1);
    expect(requeued).toEqual([KEY]);
    const answers = runner.takeAnswers(KEY);
    expect(answers).toEqual([expect.objectContaining({ type: 'ANALYSIS_RESULT', outcome: 'passed' })]);
    expect(runner.takeAnswers(KEY)).toEqual([]);
  });

  it('holds back the writes after an effect that fails, but not the messages: they are sent and confirmed', async () => {
    const { runner, target, events, step, work } = setup();
    const promoted = await runner.carryOut(
      KEY,
      step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]),
      work(),
    );
    target.failing.set('scale', new Error('exceeded quota'));
    const ready = step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]);
    const carried = await runner.carryOut(KEY, ready, work());
    expect(carried.failure?.effect.kind).toBe('scaleCanary');
    expect(String(carried.failure?.error)).toContain('exceeded quota');
    expect(carried.result.effects.map((e) => e.kind)).toEqual(['scaleCanary']);
    expect(events.events).toEqual(['Normal Initialized: initialization done']);
  });

  it('announces a rollback while its route write still fails, once, and writes the routes when the apiserver is back', async () => {
    const { sent, options } = recordedEventHooks();
    const { runner, router, events, step, work, progressing } = setup({ metrics: METRICS }, options);
    const tick = await progressing();
    router.failEverySetRoutes = new Error('the server is currently unable to handle the request');
    const stuck = step(tick.snapshot, [
      { type: 'NO_PROGRESS', now: T0 + 130_000, reason: 'could not setRoutes: 503' },
    ]);
    expect(stuck.effects.map((e) => e.kind)).toEqual(['setRoutes', 'scaleCanary', 'recordEvent', 'notify']);
    const failing = await runner.carryOut(KEY, stuck, work(T0 + 130_000));
    expect(failing.failure?.effect.kind).toBe('setRoutes');
    const rolledBack = events.events.filter((e) => e.startsWith('Warning RolledBack'));
    expect(rolledBack).toEqual([
      'Warning RolledBack: rolling back: no progress within the progress deadline (600s): could not setRoutes: 503',
    ]);
    // Only the route write and what follows it wait for the retry.
    expect(failing.result.effects.map((e) => e.kind)).toEqual(['setRoutes', 'scaleCanary']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent.filter((r) => r.body.includes('rolling back'))).toHaveLength(1);

    // The retry while writes still fail says nothing again; once they pass, the routes land.
    await runner.carryOut(KEY, failing.result, work(T0 + 131_000));
    router.failEverySetRoutes = undefined;
    const recovered = await runner.carryOut(KEY, failing.result, work(T0 + 140_000));
    expect(recovered.failure).toBeUndefined();
    expect(recovered.result.effects).toEqual([]);
    expect(router.routes).toEqual(PRIMARY_ONLY);
    expect(events.events.filter((e) => e.startsWith('Warning RolledBack'))).toHaveLength(1);
  });

  it('leaves routes ahead of the status alone for an interval after a restart', async () => {
    // Found by `npm run chaos -- kill`: a controller killed after a rollback's route write
    // (canary 0 %, scaled down) and before its status write; the next one found the routes
    // "drifted" from the status's 20 % and set them back, to a canary with no ready pod.
    const { progressing, router, step, work } = setup({ metrics: METRICS });
    const at20 = await progressing();
    const afterKill = new EffectRunner({
      kube: fakeWorld().store.kube(),
      log: silentLogger,
      metrics: createMetrics(new Registry()),
      events: new RecordedEvents(),
      notifications: fakeWorld().notifications,
      requeue: () => undefined,
      now: () => T0,
    });
    router.routes = { primaryWeight: 100, canaryWeight: 0, mirror: false, match: false };
    const before = router.calls.length;
    const resumed = step(at20.snapshot, [
      { type: 'READINESS', now: T0 + 21_000, canary: 'notReady', primary: 'ready' },
    ]);
    await afterKill.carryOut(KEY, resumed, work(T0 + 21_000));
    expect(router.calls.slice(before)).not.toContain('setRoutes 50/50');
    expect(router.routes.canaryWeight).toBe(0);
  });

  it('starts no effect once the Canary has moved to another shard, and says it was handed over', async () => {
    const { runner, target, router, events, step, work } = setup();
    const promoted = await runner.carryOut(
      KEY,
      step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]),
      work(),
    );
    const ready = step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]);
    // Relabelled after the routes were set: the scale-down and the Event are the new shard's.
    let owned = 1;
    const carried = await runner.carryOut(KEY, ready, { ...work(), owned: () => owned-- > 0 });
    expect(carried.handedOver).toBe(true);
    expect(router.calls).toEqual(['reconcile', 'setRoutes 100/0']);
    expect(target.calls).toEqual(['promote rev-1']);
    expect(events.events).toEqual([]);
  });

  it('sets routes edited by hand back, looking at most once an interval', async () => {
    const { runner, router, events, step, work } = setup();
    const created = step(undefined, [{ type: 'REVISION', now: T0, revision: 'rev-1' }]);
    const promoted = await runner.carryOut(KEY, created, work());
    const idle = (
      await runner.carryOut(
        KEY,
        step(promoted.result.snapshot, [{ type: 'READINESS', now: T0, primary: 'ready' }]),
        work(),
      )
    ).result;
    router.routes = { primaryWeight: 30, canaryWeight: 70, mirror: false, match: false };
    await runner.carryOut(KEY, idle, work(T0 + 1000));
    expect(router.routes).toEqual({ primaryWeight: 30, canaryWeight: 70, mirror: false, match: false });
    await runner.carryOut(KEY, idle, work(T0 + 60_000));
    expect(router.calls.at(-1)).toBe('setRoutes 100/0');
    expect(events.events.at(-1)).toBe('Warning RoutesDrifted: routes were 30/70; set back to 100/0');
  });
});
