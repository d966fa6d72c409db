import { describe, expect, it } from 'vitest';
import { Notifications, type DispatchReport } from './dispatcher.ts';
import type { Notification, Notifier, PostContext } from './notifier.ts';
import {
  CHAT_ANNOTATION,
  CHAT_LABEL,
  ChatOutbox,
  pendingChat,
  type CanaryHolding,
  type ChatMark,
  type ChatStore,
  type EventRef,
  type PendingChat,
} from './outbox.ts';

// The chat outbox: a message is sent once per process, after a restart only while its
// Event's mark says pending, and a takeover sends what is owed or gives up what is too late.

const notification = (message: string): Notification => ({
  canary: { name: 'podinfo', namespace: 'shop' },
  phase: 'Progressing',
  severity: 'info',
  message,
  fields: { weight: 20, target: 'Deployment/podinfo.shop' },
});

/** The Events as the apiserver keeps them across restarts: marks and what each one carries. */
class FakeStore implements ChatStore {
  readonly marks = new Map<string, ChatMark>();
  readonly pending = new Map<string, PendingChat>();
  failPatch = false;
  add(name: string, message: string, createdAt = 0, canary = 'podinfo'): EventRef {
    const event = { namespace: 'shop', name };
    this.marks.set(name, 'pending');
    this.pending.set(name, {
      event,
      canary: { namespace: 'shop', name: canary, uid: 'uid-1' },
      createdAt,
      notification: notification(message),
    });
    return event;
  }
  async mark(event: EventRef) {
    const mark = this.marks.get(event.name);
    return mark && { mark, createdAt: this.pending.get(event.name)?.createdAt ?? 0 };
  }
  async setMark(event: EventRef, mark: ChatMark) {
    if (this.failPatch) throw new Error('apiserver down');
    this.marks.set(event.name, mark);
  }
  async listPending() {
    return [...this.pending.values()].filter((p) => this.marks.get(p.event.name) === 'pending');
  }
}

function chat(
  answer: (n: Notification) => Promise<DispatchReport> = async () => ({ sent: ['slack'], failed: [] }),
) {
  const told: string[] = [];
  return {
    told,
    notifications: {
      notify: async (_alerts: unknown, n: Notification) => {
        told.push(n.message);
        return answer(n);
      },
      hasTargets: () => true,
    },
  };
}

const held: CanaryHolding = { held: true, alerts: undefined };

describe('chat outbox', () => {
  it('keeps the message small on the Event: the mark as a label, severity and fields as JSON', () => {
    const marked = pendingChat(notification('advance canary weight 20'));
    expect(marked.labels).toEqual({ [CHAT_LABEL]: 'pending' });
    expect(JSON.parse(marked.annotations[CHAT_ANNOTATION]!)).toEqual({
      severity: 'info',
      phase: 'Progressing',
      fields: { weight: 20, target: 'Deployment/podinfo.shop' },
    });
    // A message the Event cuts (1 KiB) rides in full in the annotation.
    const long = pendingChat(notification('x'.repeat(2000)));
    expect((JSON.parse(long.annotations[CHAT_ANNOTATION]!) as { message: string }).message).toHaveLength(
      2000,
    );
  });

  it('sends a new announcement once and marks it sent', async () => {
    const store = new FakeStore();
    const { told, notifications } = chat();
    const outbox = new ChatOutbox({ store, notifications });
    const event = store.add('podinfo.k1', 'promotion completed');
    await outbox.deliver(event, undefined, notification('promotion completed'));
    // The same process repeating the effect (a conflicted status write) sends nothing.
    await outbox.deliver(event, undefined, notification('promotion completed'), { resume: true });
    expect(told).toEqual(['promotion completed']);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('after a restart sends only what is still pending', async () => {
    const store = new FakeStore();
    const pending = store.add('podinfo.k1', 'advance canary weight 20');
    const sent = store.add('podinfo.k2', 'advance canary weight 40');
    store.marks.set('podinfo.k2', 'sent');
    const { told, notifications } = chat();
    const next = new ChatOutbox({ store, notifications });
    await next.deliver(pending, undefined, notification('advance canary weight 20'), { resume: true });
    await next.deliver(sent, undefined, notification('advance canary weight 40'), { resume: true });
    expect(told).toEqual(['advance canary weight 20']);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('marks failed when every provider refused the message, and does not send it again', async () => {
    const store = new FakeStore();
    const { told, notifications } = chat(async () => ({
      sent: [],
      failed: [{ provider: 'slack', error: 'down' }],
    }));
    const outbox = new ChatOutbox({ store, notifications });
    const event = store.add('podinfo.k1', 'rolling back');
    await outbox.deliver(event, undefined, notification('rolling back'));
    expect(store.marks.get('podinfo.k1')).toBe('failed');
    expect(await outbox.sweep([undefined], async () => held)).toEqual({ sent: 0, givenUp: 0, left: 0 });
    expect(told).toEqual(['rolling back']);
  });

  it('at a takeover sends what is owed, leaves another shard its own, gives up what is too late or gone', async () => {
    const now = 1_000_000_000;
    const store = new FakeStore();
    store.add('podinfo.owed', 'promotion completed', now - 60_000);
    store.add('podinfo.late', 'advance canary weight 20', now - 11 * 60_000);
    store.add('other.elsewhere', 'promotion completed', now - 1000, 'other');
    store.add('deleted.gone', 'promotion completed', now - 1000, 'deleted');
    const { told, notifications } = chat();
    const outbox = new ChatOutbox({ store, notifications, now: () => now });
    const holding = async (canary: { name: string }): Promise<CanaryHolding> =>
      canary.name === 'other'
        ? { held: false, gone: false }
        : canary.name === 'deleted'
          ? { held: false, gone: true, why: 'its Canary is gone' }
          : held;
    expect(await outbox.sweep(['shop'], holding)).toEqual({ sent: 1, givenUp: 2, left: 1 });
    expect(told).toEqual(['promotion completed']);
    expect(Object.fromEntries(store.marks)).toEqual({
      'podinfo.owed': 'sent',
      'podinfo.late': 'given-up',
      'other.elsewhere': 'pending',
      'deleted.gone': 'given-up',
    });
  });

  it('never picks up a send in flight in the same process', async () => {
    const store = new FakeStore();
    let answer: (report: DispatchReport) => void = () => undefined;
    const { told, notifications } = chat(() => new Promise((resolve) => (answer = resolve)));
    const outbox = new ChatOutbox({ store, notifications });
    const event = store.add('podinfo.k1', 'promotion completed');
    const sending = outbox.deliver(event, undefined, notification('promotion completed'));
    // The takeover sweep lists it while it is still pending: it is left to the send in flight.
    expect(await outbox.sweep([undefined], async () => held)).toEqual({ sent: 0, givenUp: 0, left: 1 });
    answer({ sent: ['slack'], failed: [] });
    await sending;
    expect(told).toEqual(['promotion completed']);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('remembers a message it sent when the mark could not be written', async () => {
    const store = new FakeStore();
    store.failPatch = true;
    const { told, notifications } = chat();
    const outbox = new ChatOutbox({ store, notifications });
    const event = store.add('podinfo.k1', 'promotion completed');
    await outbox.deliver(event, undefined, notification('promotion completed'));
    await outbox.sweep([undefined], async () => held);
    await outbox.deliver(event, undefined, notification('promotion completed'), { resume: true });
    expect(told).toEqual(['promotion completed']);
    expect(store.marks.get('podinfo.k1')).toBe('pending');
  });
});

/** A chat that remembers what was posted under which key; `canLook` gives it findPosted. */
function keyedChat(name: string, canLook: boolean) {
  const posted: Array<{ message: string; key: string | undefined }> = [];
  const looked: Array<{ key: string; since: number }> = [];
  const notifier: Notifier = {
    name,
    post: async (n: Notification, context?: PostContext) => {
      posted.push({ message: n.message, key: context?.key });
    },
    ...(canLook
      ? {
          findPosted: async (key: string, since: number) => {
            looked.push({ key, since });
            return posted.some((p) => p.key === key);
          },
        }
      : {}),
  };
  return { notifier, posted, looked };
}

describe('chat outbox with a chat that can be asked (exactly once)', () => {
  const outboxFor = (store: FakeStore, ...notifiers: Notifier[]) =>
    new ChatOutbox({
      store,
      notifications: new Notifications({
        resolve: async () => Promise.reject(new Error('no alert providers here')),
        global: notifiers,
      }),
    });

  it('posts a new announcement under its Event’s key without asking first', async () => {
    const store = new FakeStore();
    const slack = keyedChat('slack', true);
    const event = store.add('podinfo.k1', 'promotion completed', 5_000);
    await outboxFor(store, slack.notifier).deliver(event, undefined, notification('promotion completed'));
    expect(slack.posted).toEqual([{ message: 'promotion completed', key: 'shop/podinfo.k1' }]);
    expect(slack.looked).toEqual([]);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('found pending after a kill and already in the chat: marked sent, not posted again', async () => {
    const store = new FakeStore();
    const slack = keyedChat('slack', true);
    const event = store.add('podinfo.k1', 'promotion completed', 5_000);
    // The controller that died posted it and was killed before the `sent` mark.
    await slack.notifier.post(notification('promotion completed'), { key: 'shop/podinfo.k1' });
    const report = await outboxFor(store, slack.notifier).deliver(
      event,
      undefined,
      notification('promotion completed'),
      { resume: true },
    );
    expect(report).toEqual({ sent: ['slack'], found: ['slack'], failed: [] });
    expect(slack.looked).toEqual([{ key: 'shop/podinfo.k1', since: 5_000 }]);
    expect(slack.posted).toHaveLength(1);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('found pending and not in the chat: asked, then posted once', async () => {
    const store = new FakeStore();
    const slack = keyedChat('slack', true);
    const event = store.add('podinfo.k1', 'promotion completed', 5_000);
    await outboxFor(store, slack.notifier).deliver(event, undefined, notification('promotion completed'), {
      resume: true,
    });
    expect(slack.looked).toHaveLength(1);
    expect(slack.posted).toEqual([{ message: 'promotion completed', key: 'shop/podinfo.k1' }]);
    expect(store.marks.get('podinfo.k1')).toBe('sent');
  });

  it('the takeover sweep asks too; a webhook, which cannot be asked, is posted again (at least once)', async () => {
    const now = 1_000_000_000;
    const store = new FakeStore();
    const slack = keyedChat('slack', true);
    const hook = keyedChat('webhook', false);
    const event = store.add('podinfo.k1', 'promotion completed', now - 30_000);
    await slack.notifier.post(notification('promotion completed'), { key: 'shop/podinfo.k1' });
    await hook.notifier.post(notification('promotion completed'), { key: 'shop/podinfo.k1' });
    const outbox = new ChatOutbox({
      store,
      now: () => now,
      notifications: new Notifications({
        resolve: async () => Promise.reject(new Error('no alert providers here')),
        global: [slack.notifier, hook.notifier],
      }),
    });
    expect(await outbox.sweep(['shop'], async () => held)).toEqual({ sent: 1, givenUp: 0, left: 0 });
    expect(slack.looked).toEqual([{ key: 'shop/podinfo.k1', since: now - 30_000 }]);
    expect(slack.posted).toHaveLength(1);
    expect(hook.posted).toHaveLength(2);
    expect(store.marks.get(event.name)).toBe('sent');
  });

  it('does not post when the lookup fails: the provider is reported failed, rather than risk a repeat', async () => {
    const store = new FakeStore();
    const posted: string[] = [];
    const broken: Notifier = {
      name: 'slack',
      post: async (n) => void posted.push(n.message),
      findPosted: async () =>
        Promise.reject(new Error('conversations.history answered ok: false (ratelimited)')),
    };
    const event = store.add('podinfo.k1', 'promotion completed', 5_000);
    const report = await outboxFor(store, broken).deliver(
      event,
      undefined,
      notification('promotion completed'),
      {
        resume: true,
      },
    );
    expect(report?.failed).toEqual([
      { provider: 'slack', error: 'conversations.history answered ok: false (ratelimited)' },
    ]);
    expect(posted).toEqual([]);
    expect(store.marks.get('podinfo.k1')).toBe('failed');
  });
});
