import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryWebhookSchema } from '../../src/hooks/types.ts';
import { announce } from '../../src/notify/announce.ts';
import { Notifications } from '../../src/notify/dispatcher.ts';
import { EventRecorder, type EventSubject } from '../../src/notify/events.ts';
import { effectKey, keyedEventName } from '../../src/hooks/idempotency.ts';
import { globalNotifiers } from '../../src/notify/global.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';

// Kubernetes Events on a Canary, against the real apiserver: recorded, deduplicated,
// and announced together with chat notifications and event webhooks.

const ns = useNamespace('events');

const subject = (name: string): EventSubject => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Canary',
  name,
  namespace: ns.name,
  uid: `uid-${name}`,
});

async function eventsOf(name: string): Promise<CoreV1Event[]> {
  const list = await ns.kube.core.listNamespacedEvent({
    namespace: ns.name,
    fieldSelector: `involvedObject.name=${name},involvedObject.kind=Canary`,
  });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

describe('EventRecorder', () => {
  it('records Normal and Warning events on the canary, as kubectl describe shows them', async () => {
    const recorder = new EventRecorder({ kube: ns.kube, component: 'sluice', instance: 'test' });
    await recorder.record(
      subject('podinfo'),
      'Normal',
      'NewRevision',
      'new revision detected, starting canary analysis',
    );
    await recorder.record(subject('podinfo'), 'Warning', 'Halt', 'halt: request-success-rate 93.1% < 99%');
    const events = await eventsOf('podinfo');
    expect(events.map((e) => [e.type, e.reason, e.message, e.count])).toEqual(
      expect.arrayContaining([
        ['Normal', 'NewRevision', 'new revision detected, starting canary analysis', 1],
        ['Warning', 'Halt', 'halt: request-success-rate 93.1% < 99%', 1],
      ]),
    );
    expect(events).toHaveLength(2);
    expect(events[0]!.involvedObject).toMatchObject({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      name: 'podinfo',
      namespace: ns.name,
      uid: 'uid-podinfo',
    });
    expect(events[0]!.source?.component).toBe('sluice');
  });

  it('counts repeats of the same event within the window instead of adding events', async () => {
    let clock = Date.parse('2026-01-01T10:00:00Z');
    const recorder = new EventRecorder({ kube: ns.kube, now: () => new Date(clock), windowMs: 60_000 });
    const waiting = 'waiting for approval: confirm-promotion gate approve';
    // Concurrent repeats must not race into two Events.
    await Promise.all(
      [1, 2, 3].map(() => recorder.record(subject('repeat'), 'Normal', 'WaitingApproval', waiting)),
    );
    clock += 30_000;
    await recorder.record(subject('repeat'), 'Normal', 'WaitingApproval', waiting);
    let events = await eventsOf('repeat');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ count: 4, message: waiting });
    expect(new Date(events[0]!.lastTimestamp!).getTime()).toBe(clock);
    expect(new Date(events[0]!.firstTimestamp!).getTime()).toBe(clock - 30_000);

    // A different message is a different event; past the window, a new series starts.
    await recorder.record(subject('repeat'), 'Normal', 'Advance', 'advance 20%');
    clock += 61_000;
    await recorder.record(subject('repeat'), 'Normal', 'WaitingApproval', waiting);
    events = await eventsOf('repeat');
    expect(events.map((e) => [e.reason, e.count])).toEqual(
      expect.arrayContaining([
        ['WaitingApproval', 4],
        ['Advance', 1],
        ['WaitingApproval', 1],
      ]),
    );
    expect(events).toHaveLength(3);
  });

  it('makes a keyed announcement once: a restarted controller repeating it meets AlreadyExists', async () => {
    const key = effectKey(
      { uid: 'uid-keyed', checksum: 'rev1', effectId: 12 },
      'recordEvent',
      'Synced',
      'advance 3/3',
    );
    const before = new EventRecorder({ kube: ns.kube, instance: 'before-the-kill' });
    expect(await before.record(subject('keyed'), 'Normal', 'Synced', 'advance 3/3', { key })).toBe('created');
    // The same process asked again (a status write that conflicted): known without a write.
    expect(await before.record(subject('keyed'), 'Normal', 'Synced', 'advance 3/3', { key })).toBe('exists');
    // The next controller, with nothing in memory, repeats the announcement.
    const after = new EventRecorder({ kube: ns.kube, instance: 'after-the-kill' });
    expect(await after.record(subject('keyed'), 'Normal', 'Synced', 'advance 3/3', { key })).toBe('exists');
    const events = await eventsOf('keyed');
    expect(events.map((e) => [e.metadata?.name, e.count, e.reportingInstance])).toEqual([
      [keyedEventName('keyed', key), 1, 'before-the-kill'],
    ]);
    // A new announcement with the same words (the next interval's) is recorded, counted on the Event.
    const next = effectKey(
      { uid: 'uid-keyed', checksum: 'rev1', effectId: 13 },
      'recordEvent',
      'Synced',
      'advance 3/3',
    );
    expect(await after.record(subject('keyed'), 'Normal', 'Synced', 'advance 3/3', { key: next })).toBe(
      'created',
    );
    expect(await after.record(subject('keyed'), 'Normal', 'Synced', 'advance 3/3')).toBe('counted');
    expect(await eventsOf('keyed')).toHaveLength(2);
  });

  it('gives a keyed announcement an Event of its own even when its words were counted before', async () => {
    // Found by `npm run chaos -- kill`: the next rollout's "new revision detected" was counted on
    // the last rollout's Event, so no Event bore its key; the controller after a kill created it
    // and, finding it new, told chat a second time.
    const words = 'new revision detected, starting canary analysis';
    const keyOf = (effectId: number, checksum: string) =>
      effectKey({ uid: 'uid-again', checksum, effectId }, 'recordEvent', 'NewRevision', words);
    const before = new EventRecorder({ kube: ns.kube, instance: 'before-the-kill' });
    const record = (recorder: EventRecorder, key: string) =>
      recorder.record(subject('again'), 'Normal', 'NewRevision', words, { key });
    expect(await record(before, keyOf(1, 'rev1'))).toBe('created');
    expect(await record(before, keyOf(9, 'rev2'))).toBe('created');
    // Killed before the status write: the next controller repeats the second announcement.
    const after = new EventRecorder({ kube: ns.kube, instance: 'after-the-kill' });
    expect(await record(after, keyOf(9, 'rev2'))).toBe('exists');
    const events = await eventsOf('again');
    expect(events.map((e) => [e.metadata?.name, e.count]).sort()).toEqual(
      [
        [keyedEventName('again', keyOf(1, 'rev1')), 1],
        [keyedEventName('again', keyOf(9, 'rev2')), 1],
      ].sort(),
    );
  });

  it('starts a new event when the old one is gone', async () => {
    const recorder = new EventRecorder({ kube: ns.kube });
    await recorder.record(subject('expired'), 'Warning', 'RolledBack', 'rolled back: aborted by alice');
    const [first] = await eventsOf('expired');
    await ns.kube.core.deleteNamespacedEvent({ name: first!.metadata!.name!, namespace: ns.name });
    await recorder.record(subject('expired'), 'Warning', 'RolledBack', 'rolled back: aborted by alice');
    const events = await eventsOf('expired');
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata!.name).not.toBe(first!.metadata!.name);
  });

  it('never throws when the apiserver refuses', async () => {
    const recorder = new EventRecorder({ kube: ns.kube });
    await expect(
      recorder.record(
        { ...subject('x'), namespace: 'no-such-namespace-here' },
        'Normal',
        'Advance',
        'advance 5%',
      ),
    ).resolves.toBe('failed');
  });
});

describe('announce', () => {
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await receiver.close();
  });

  it('tells Kubernetes, chat and the event webhooks the same thing', async () => {
    const deps = {
      events: new EventRecorder({ kube: ns.kube }),
      notifications: new Notifications({
        resolve: () => Promise.reject(new Error('no alerts in this test')),
        global: globalNotifiers({ slackUrl: `${receiver.url}/slack` }),
      }),
      globalEventWebhook: `${receiver.url}/events`,
      clusterName: 'kind-test',
    };
    const canary = {
      ...subject('announced'),
      phase: 'Progressing',
      checksum: 'abc',
      fields: { target: `Deployment/announced.${ns.name}`, weight: 20 },
    };
    await announce(canary, { kind: 'advance', weight: 20 }, deps);

    const [event] = await eventsOf('announced');
    expect(event).toMatchObject({ type: 'Normal', reason: 'Advance', message: 'advance 20%' });
    const [slack] = receiver.json('/slack') as Array<{ text: string; attachments: unknown[] }>;
    expect(slack?.text).toBe(`announced.${ns.name}: advance 20%`);
    expect(JSON.stringify(slack?.attachments)).toContain('kind-test');
    const [hook] = receiver.json('/events') as Array<{ name: string; metadata: Record<string, string> }>;
    expect(hook).toMatchObject({
      name: 'announced',
      namespace: ns.name,
      phase: 'Progressing',
      checksum: 'abc',
      metadata: { eventMessage: 'advance 20%', eventType: 'Normal' },
    });
  });

  it('keeps chat quiet for a muted webhook but still records the event and the canary’s own event hooks', async () => {
    const before = receiver.json('/slack').length;
    const deps = {
      events: new EventRecorder({ kube: ns.kube }),
      notifications: new Notifications({
        resolve: () => Promise.reject(new Error('unused')),
        global: globalNotifiers({ slackUrl: `${receiver.url}/slack` }),
      }),
      globalEventWebhook: `${receiver.url}/events-global`,
    };
    const own = canaryWebhookSchema.parse({ name: 'mine', type: 'event', url: `${receiver.url}/events-own` });
    await announce(
      { ...subject('muted'), phase: 'Progressing', checksum: 'abc', webhooks: [own], fields: {} },
      { kind: 'webhook-failed', hook: 'load', hookType: 'pre-rollout', reason: 'answered 500' },
      deps,
      { muteAlert: true },
    );
    await eventually('the Warning event', async () => (await eventsOf('muted')).length === 1);
    expect((await eventsOf('muted'))[0]).toMatchObject({ type: 'Warning', reason: 'WebhookFailed' });
    expect(receiver.json('/slack')).toHaveLength(before);
    expect(receiver.json('/events-own')).toHaveLength(1);
    expect(receiver.json('/events-global')).toHaveLength(0);
  });
});
