import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CoreV1Api } from '@kubernetes/client-node';
import { startController, type RunningController } from '../../src/controller/controller.ts';
import type { WireObjectApi } from '../../src/kube/wire.ts';
import { createLogger } from '../../src/log.ts';
import { Notifications, type Delivery, type DispatchReport } from '../../src/notify/dispatcher.ts';
import { EventRecorder } from '../../src/notify/events.ts';
import type { Notification } from '../../src/notify/notifier.ts';
import { CHAT_LABEL } from '../../src/notify/outbox.ts';
import { createSlackNotifier } from '../../src/notify/slack.ts';
import type { CanaryAlert } from '../../src/notify/providers.ts';
import { createSlackApiEmulation } from '../../bench/chaos/slack-api.ts';
import { slackApiHandler, startReceiver, type Receiver } from '../hooks/receiver.ts';
import { canaryObject } from '../support/canaries.ts';
import { useNamespace } from '../support/kube.ts';
import { applyAsUser, podinfoDeployment, waitForPhase } from '../support/sluice.ts';

// The chat outbox across a kill (docs/decisions/0026-side-effects-once.md). A controller
// "dies" at a chosen moment (from then on its status writes and Event patches fail, and it is
// stopped), and the next one, with nothing in memory, sends what the first owed, once:
// (1) killed after an announcement's Event and before its chat post, (2) killed after the
// status write that records the step and before the post, (3) killed after the post and before
// the `sent` mark, with Slack's Web API (a stand-in on loopback), where the next controller looks
// the message up instead of posting it again. Slack messages are counted at a real HTTP receiver.

const ns = useNamespace('ctl-chat');
const SLACK_TOKEN = 'xoxb-test-outbox';
const SLACK_CHANNEL = 'C0OUTBOX001';
const slackApi = createSlackApiEmulation({ token: SLACK_TOKEN });
let receiver: Receiver;
const running: RunningController[] = [];

interface Generation {
  controller: RunningController;
  /** From now on its status writes and Event patches fail, as if it had died. */
  die(): void;
  /** Lets a held chat post go on (it posts nothing: the controller is dead by then). */
  release(): void;
}

/** One controller process's worth, posting to the receiver's /slack as a global Slack notifier. */
async function generation(
  options: {
    /** Dies when the chat post of a message matching this is about to go out (window 1). */
    dieAtChat?: RegExp;
    /** Holds the chat post of a message matching this, unsent, until released (window 2). */
    holdChat?: RegExp;
    /** Dies once the chat post of a message matching this is done, before its mark (window 3). */
    dieAfterChat?: RegExp;
    /** Posts with Slack's Web API (the receiver's /api) instead of the incoming webhook (/slack). */
    webApi?: boolean;
  } = {},
): Promise<Generation> {
  let dead = false;
  let release: () => void = () => undefined;
  const failWhenDead = <T extends object>(api: T, methods: readonly string[]): T =>
    new Proxy(api, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        if (!methods.includes(String(property))) return bound;
        return (...args: unknown[]) => (dead ? Promise.reject(new Error('killed')) : bound(...args));
      },
    });
  const wire = failWhenDead(ns.kube.wire, ['mergePatchObject', 'mergePatchResource']) as WireObjectApi;
  const core = failWhenDead(ns.kube.core, ['patchNamespacedEvent']) as CoreV1Api;
  const kube = { ...ns.kube, wire, core };
  class Chat extends Notifications {
    override async notify(
      alerts: readonly CanaryAlert[] | undefined,
      notification: Notification,
      delivery?: Delivery,
    ): Promise<DispatchReport> {
      if (options.dieAfterChat?.test(notification.message)) {
        const report = await super.notify(alerts, notification, delivery);
        dead = true;
        return report;
      }
      if (options.dieAtChat?.test(notification.message)) {
        dead = true;
        return { sent: [], failed: [] };
      }
      if (options.holdChat?.test(notification.message)) {
        await new Promise<void>((resolve) => (release = resolve));
        return { sent: [], failed: [] };
      }
      return super.notify(alerts, notification, delivery);
    }
  }
  const controller = await startController({
    kube,
    log: createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'warn', name: 'test-controller' }),
    namespaces: [ns.name],
    events: new EventRecorder({ kube }),
    notifications: new Chat({
      resolve: async () => Promise.reject(new Error('no alert providers in this test')),
      global: [
        createSlackNotifier(
          options.webApi
            ? {
                name: 'global slack',
                url: `${receiver.url}/api/chat.postMessage`,
                token: SLACK_TOKEN,
                channel: SLACK_CHANNEL,
              }
            : { name: 'global slack', url: `${receiver.url}/slack` },
        ),
      ],
    }),
  });
  running.push(controller);
  return { controller, die: () => (dead = true), release: () => release() };
}

/** How many Slack messages said `message` about canary `name`. */
const slackSaid = (name: string, message: string) =>
  receiver
    .json('/slack')
    .filter((body) => (body as { text?: string }).text === `${name}.${ns.name}: ${message}`).length;

/** How many messages Slack's Web API took saying `message` about canary `name`. */
const slackApiSaid = (name: string, message: string) =>
  slackApi.messages.filter((m) => m.text === `${name}.${ns.name}: ${message}`).length;

async function stop(controller: RunningController): Promise<void> {
  await controller.stop();
  running.splice(running.indexOf(controller), 1);
}

/** Waits until `count()` (a number of Slack messages) is `expected`. */
const eventuallySaid = (count: () => number, expected: number, timeout = 30_000) =>
  expect.poll(count, { timeout, interval: 250 }).toBe(expected);

/** Waits until the Event of `message` about canary `name` is marked `mark`. */
const eventuallyMarked = (name: string, message: string, mark: string) =>
  expect
    .poll(async () => (await chatMarks(name)).get(message), { timeout: 30_000, interval: 250 })
    .toBe(mark);

async function chatMarks(name: string): Promise<Map<string, string>> {
  const list = await ns.kube.core.listNamespacedEvent({ namespace: ns.name, labelSelector: CHAT_LABEL });
  return new Map(
    list.items
      .filter((e) => e.involvedObject.name === name)
      .map((e) => [e.message ?? '', e.metadata.labels?.[CHAT_LABEL] ?? '']),
  );
}

async function canary(name: string): Promise<void> {
  await applyAsUser(
    ns.kube,
    podinfoDeployment({ namespace: ns.name, name, image: 'example.com/podinfo:1.0.0' }),
  );
  await applyAsUser(
    ns.kube,
    canaryObject(
      ns.name,
      { provider: 'istio', analysis: { interval: '10s', threshold: 2, stepWeights: [50] } },
      name,
    ),
  );
}

const release = (name: string) =>
  applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, name, image: 'example.com/podinfo:2.0.0' }));

describe('chat messages across a kill', () => {
  beforeAll(async () => {
    receiver = await startReceiver(slackApiHandler(slackApi));
  });
  afterEach(async () => {
    for (const controller of running.splice(0)) await controller.stop();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('sends a message once when the controller dies between its Event and the post', async () => {
    const name = 'window-one';
    const first = await generation({ dieAtChat: /^new revision detected/ });
    await canary(name);
    await waitForPhase(ns.kube, ns.name, 'Initialized', { name });
    await release(name);
    // The Event is made, pending; the post and the status write are not.
    await expect
      .poll(() => chatMarks(name), { timeout: 120_000, interval: 250 })
      .toEqual(
        new Map([
          ['initialization done', 'sent'],
          ['new revision detected, starting canary analysis', 'pending'],
        ]),
      );
    await stop(first.controller);
    expect(slackSaid(name, 'new revision detected, starting canary analysis')).toBe(0);

    // The next controller replays the step, finds the Event pending, sends it and marks it.
    await generation();
    await waitForPhase(ns.kube, ns.name, 'Succeeded', { name, timeoutMs: 150_000 });
    await eventuallySaid(() => slackSaid(name, 'promotion completed'), 1);
    expect(slackSaid(name, 'new revision detected, starting canary analysis')).toBe(1);
    expect(slackSaid(name, 'initialization done')).toBe(1);
    // The mark follows the post (at least once): wait for it rather than race it.
    await expect
      .poll(async () => [...(await chatMarks(name)).values()], { timeout: 30_000, interval: 250 })
      .toEqual(['sent', 'sent', 'sent']);
  }, 300_000);

  it('sends a message once when the controller dies after the status write and before the post', async () => {
    const name = 'window-two';
    const first = await generation({ holdChat: /^promotion completed/ });
    await canary(name);
    await waitForPhase(ns.kube, ns.name, 'Initialized', { name });
    await release(name);
    // The step is recorded done in status; its message waits, unsent, on its Event.
    await waitForPhase(ns.kube, ns.name, 'Succeeded', { name, timeoutMs: 150_000 });
    await eventuallyMarked(name, 'promotion completed', 'pending');
    first.die();
    first.release();
    await stop(first.controller);
    expect(slackSaid(name, 'promotion completed')).toBe(0);

    // The next controller's start finds the pending Event (the Canary's effects are all done).
    await generation();
    await eventuallySaid(() => slackSaid(name, 'promotion completed'), 1);
    await eventuallyMarked(name, 'promotion completed', 'sent');
    // One message per announcement: nothing was told twice.
    expect(slackSaid(name, 'new revision detected, starting canary analysis')).toBe(1);
    expect(slackSaid(name, 'initialization done')).toBe(1);
    expect(slackSaid(name, 'promotion completed')).toBe(1);
  }, 300_000);

  it('with Slack’s Web API, sends a message once when the controller dies after the post and before its mark', async () => {
    const name = 'window-three';
    const first = await generation({ webApi: true, dieAfterChat: /^new revision detected/ });
    await canary(name);
    await waitForPhase(ns.kube, ns.name, 'Initialized', { name });
    await release(name);
    // Posted (with its key as metadata), but the Event still says pending: the repeat window.
    await eventuallySaid(
      () => slackApiSaid(name, 'new revision detected, starting canary analysis'),
      1,
      120_000,
    );
    expect((await chatMarks(name)).get('new revision detected, starting canary analysis')).toBe('pending');
    await stop(first.controller);

    // The next controller finds it pending, asks Slack, finds it there: marked sent, not posted.
    await generation({ webApi: true });
    await waitForPhase(ns.kube, ns.name, 'Succeeded', { name, timeoutMs: 150_000 });
    await eventuallySaid(() => slackApiSaid(name, 'promotion completed'), 1);
    await eventuallyMarked(name, 'new revision detected, starting canary analysis', 'sent');
    expect(slackApiSaid(name, 'new revision detected, starting canary analysis')).toBe(1);
    expect(slackApiSaid(name, 'initialization done')).toBe(1);
    const keys = slackApi.messages
      .filter((m) => m.text.startsWith(`${name}.`))
      .map((m) => m.metadata?.event_payload.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.every((key) => typeof key === 'string' && key.startsWith(`${ns.name}/${name}.`))).toBe(true);
  }, 300_000);
});
