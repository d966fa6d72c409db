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
import { CHAT_LABEL, ChatOutbox, type ChatMark, type ChatStore, type PendingChat } from '../notify/outbox.ts';
import type { EventSubject, RecordOutcome } from '../notify/events.ts';
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
  return { events, run, runAsync, ctx };
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

/** Keyed Events as the apiserver keeps them across a restart, with their chat marks. */
class EventsWithMarks extends RecordedEvents implements ChatStore {
  readonly marks = new Map<string, ChatMark>();
  readonly names: string[] = [];
  override async record(
    subject: EventSubject,
    type: string,
    reason: string,
    message: string,
    options: { annotations?: Record<string, string>; labels?: Record<string, string>; key?: string } = {},
  ): Promise<RecordOutcome> {
    const outcome = await super.record(subject, type, reason, message, options);
    const mark = options.labels?.[CHAT_LABEL];
    if (outcome === 'created' && mark)
      this.marks.set(`${subject.name}.${options.key ?? ''}`, mark as ChatMark);
    return outcome;
  }
  async mark(event: { name: string }) {
    const mark = this.marks.get(event.name);
    return mark && { mark, createdAt: 0 };
  }
  async setMark(event: { name: string }, mark: ChatMark) {
    this.marks.set(event.name, mark);
  }
  async listPending(): Promise<PendingChat[]> {
    return [];
  }
}

describe('the chat outbox across a restart', () => {
  const announcement: Effect[] = [
    { id: 7, kind: 'recordEvent', type: 'Normal', reason: 'Synced', message: 'promotion completed' },
    { id: 8, kind: 'notify', severity: 'info', message: 'promotion completed' },
  ];

  function controller(apiserver: EventsWithMarks, told: string[]) {
    const notifications = {
      notify: async (_alerts: unknown, notification: { message: string }) => {
        told.push(notification.message);
        return { sent: ['slack'], failed: [] };
      },
      hasTargets: () => true,
    };
    const outbox = new ChatOutbox({ store: apiserver, notifications });
    const setUp = setup(notifications.notify, { uid: 'uid-1', events: apiserver, deps: { outbox } });
    setUp.ctx.effects = announcement;
    return setUp;
  }

  it('holds the message pending on its Event until sent, then marks it sent', async () => {
    const apiserver = new EventsWithMarks();
    const told: string[] = [];
    const { run } = controller(apiserver, told);
    for (const effect of announcement) await run(effect);
    await expect.poll(() => [...apiserver.marks.values()]).toEqual(['sent']);
    expect(told).toEqual(['promotion completed']);
  });

  it('sends the message a controller killed after the Event and before the post owed, once', async () => {
    const apiserver = new EventsWithMarks();
    const told: string[] = [];
    // Killed after the Event's create: its notify never ran.
    await controller(apiserver, told).run(announcement[0]!);
    expect([...apiserver.marks.values()]).toEqual(['pending']);
    // The next controller repeats the effects under the same ids: the Event exists, still pending.
    const next = controller(apiserver, told);
    for (const effect of announcement) await next.run(effect);
    await expect.poll(() => [...apiserver.marks.values()]).toEqual(['sent']);
    // And one more restart repeats nothing.
    const third = controller(apiserver, told);
    for (const effect of announcement) await third.run(effect);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(told).toEqual(['promotion completed']);
  });

  it('marks nothing pending when no provider takes the message', async () => {
    const apiserver = new EventsWithMarks();
    const notify = async () => ({ sent: [], failed: [] });
    const outbox = new ChatOutbox({ store: apiserver, notifications: { notify, hasTargets: () => false } });
    const { run, ctx } = setup(notify, { uid: 'uid-1', events: apiserver, deps: { outbox } });
    ctx.effects = announcement;
    for (const effect of announcement) await run(effect);
    await new Promise((resolve) => setImmediate(resolve));
    expect(apiserver.events).toEqual(['Normal Synced: promotion completed']);
    expect(apiserver.marks.size).toBe(0);
  });
});
