import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Canary } from '../api/canary.ts';
import { silentLogger } from '../log.ts';
import type { Effect } from '../machine/types.ts';
import type { Notifications } from '../notify/dispatcher.ts';
import { canaryObject, fakeWorld, RecordedEvents } from '../../test/support/fakes.ts';
import { IDEMPOTENCY_KEY_HEADER } from '../hooks/idempotency.ts';
import type { WebhookRequest } from '../hooks/webhook.ts';
import { runAsyncEffect, runSyncEffect, type EffectContext, type EffectDeps } from './effects.ts';
import { judgeMemory } from './judging.ts';
import { createMetrics } from './metrics.ts';

// The notify effect: muted (a webhook with muteAlert failed) tells no chat; a notifier URL
// that --allowed-url-hosts refused becomes a Warning Event naming the field and the host.

function setup(
  notify: Notifications['notify'],
  options: {
    uid?: string;
    events?: RecordedEvents;
    deps?: Partial<EffectDeps>;
    analysis?: Record<string, unknown>;
  } = {},
) {
  const world = fakeWorld();
  const { target, router } = world;
  const events = options.events ?? world.events;
  const canary = Canary.parse(canaryObject(options.analysis ?? {}));
  const ctx: EffectContext = {
    canary,
    subject: {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      name: 'podinfo',
      namespace: 'shop',
      ...(options.uid ? { uid: options.uid } : {}),
    },
    target,
    router,
    ensureRouting: async () => undefined,
    trackedConfigs: {},
    phase: 'Progressing',
    weight: 50,
    failedChecks: 1,
    judge: judgeMemory({}, () => undefined),
    lastAppliedSpec: () => undefined,
  };
  const deps: EffectDeps = {
    kube: fakeWorld().store.kube(),
    log: silentLogger,
    metrics: createMetrics(new Registry()),
    events,
    notifications: { notify },
    ...options.deps,
  };
  const run = (effect: Effect) => runSyncEffect(effect, ctx, deps, () => 0);
  const runAsync = (effect: Effect) => runAsyncEffect(effect, ctx, deps, () => 0);
  return { events, run, runAsync };
}

describe('side effects once across a restart', () => {
  const transport = (sent: WebhookRequest[]) => async (request: WebhookRequest) => {
    sent.push(request);
    return { status: 200, body: 'ok' };
  };

  it('announces an event once when a restarted controller repeats its effect under the same id', async () => {
    // The apiserver keeps the keyed Events across the restart; each controller has its own context.
    const apiserver = new RecordedEvents();
    const sent: WebhookRequest[] = [];
    const told: string[] = [];
    const controller = () =>
      setup(
        async (_alerts, notification) => {
          told.push(notification.message);
          return { sent: ['slack'], failed: [] };
        },
        {
          uid: 'uid-1',
          events: apiserver,
          deps: { globalEventWebhook: 'http://events.example/', webhookDeps: { transport: transport(sent) } },
        },
      );
    const announce = async (run: (effect: Effect) => Promise<unknown>, id: number) => {
      await run({ id, kind: 'recordEvent', type: 'Warning', reason: 'Halt', message: 'halt advancement' });
      await run({ id: id + 1, kind: 'notify', severity: 'warn', message: 'halt advancement' });
    };
    await announce(controller().run, 7);
    await expect.poll(() => sent.length).toBe(1);
    // Killed before the status write: the next controller asks for the same effects again.
    await announce(controller().run, 7);
    // The next interval's halt is a new announcement (a new effect id).
    await announce(controller().run, 9);
    await expect.poll(() => sent.length).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // One Event and one chat message per announcement; the event hook is called again, with the same key.
    expect(apiserver.events).toEqual(['Warning Halt: halt advancement', 'Warning Halt: halt advancement']);
    expect(told).toEqual(['halt advancement', 'halt advancement']);
    expect(sent).toHaveLength(3);
    const keys = sent.map((request) => request.headers?.[IDEMPOTENCY_KEY_HEADER]);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    const body = JSON.parse(sent[0]!.body) as { idempotencyKey: string; checksum: string };
    expect(body.idempotencyKey).toBe(keys[0]);
  });

  it('calls a hook again under the same key when its effect is repeated, and under a new one for a new effect', async () => {
    const sent: WebhookRequest[] = [];
    const { runAsync } = setup(async () => ({ sent: [], failed: [] }), {
      uid: 'uid-1',
      analysis: { webhooks: [{ name: 'load', type: 'pre-rollout', url: 'http://loadtester.example/' }] },
      deps: { webhookDeps: { transport: transport(sent) } },
    });
    const hooks = (id: number): Effect => ({
      id,
      kind: 'runWebhooks',
      type: 'pre-rollout',
      phase: 'Progressing',
      revision: 'rev-2',
    });
    await runAsync(hooks(4));
    await runAsync(hooks(4));
    await runAsync(hooks(5));
    const keys = sent.map((request) => request.headers?.[IDEMPOTENCY_KEY_HEADER]);
    expect(keys).toHaveLength(3);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('sends no key for a Canary without a uid', async () => {
    const sent: WebhookRequest[] = [];
    const { run } = setup(async () => ({ sent: [], failed: [] }), {
      deps: { globalEventWebhook: 'http://events.example/', webhookDeps: { transport: transport(sent) } },
    });
    await run({
      id: 1,
      kind: 'recordEvent',
      type: 'Normal',
      reason: 'Synced',
      message: 'promotion completed',
    });
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]!.headers?.[IDEMPOTENCY_KEY_HEADER]).toBeUndefined();
  });
});

describe('the notify effect', () => {
  it('tells no chat when the alert is muted', async () => {
    const told: string[] = [];
    const { run } = setup(async (_alerts, notification) => {
      told.push(notification.message);
      return { sent: ['slack'], failed: [] };
    });
    await run({ id: 1, kind: 'notify', severity: 'warn', message: 'halt advancement', muted: true });
    await run({ id: 2, kind: 'notify', severity: 'warn', message: 'rolling back' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toEqual(['rolling back']);
  });

  it('records a Warning Event for a notifier URL the allowlist refused', async () => {
    const { events, run } = setup(async () => ({
      sent: [],
      failed: [
        {
          provider: 'alertprovider shop/slack',
          error: 'refused',
          refused: { field: 'alertprovider shop/slack', host: 'hooks.attacker.example' },
        },
      ],
    }));
    await run({ id: 1, kind: 'notify', severity: 'warn', message: 'rolling back' });
    await expect
      .poll(() => events.events)
      .toEqual([
        'Warning UrlNotAllowed: alert alertprovider shop/slack was not sent: --allowed-url-hosts does not allow host hooks.attacker.example (alertprovider shop/slack)',
      ]);
  });
});
