import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackApiEmulation } from '../../bench/chaos/slack-api.ts';
import { kubeNotifierResolver, Notifications } from '../../src/notify/dispatcher.ts';
import type { Notification } from '../../src/notify/notifier.ts';
import type { CanaryAlert } from '../../src/notify/providers.ts';
import { slackApiHandler, startReceiver, type Receiver } from '../hooks/receiver.ts';
import { useNamespace } from '../support/kube.ts';
import { createAlertProvider } from './alert-providers.ts';

// Slack's Web API mode from an AlertProvider on the real apiserver: the bot token from its
// Secret, the channel from the spec, the address naming a stand-in of chat.postMessage on
// loopback. A message handed over as possibly posted is looked up, not posted twice.

const ns = useNamespace('notify-slack-api');
const TOKEN = 'xoxb-SECRET-provider';
const slackApi = createSlackApiEmulation({ token: TOKEN });
let receiver: Receiver;

const notification = (namespace: string): Notification => ({
  canary: { name: 'podinfo', namespace },
  phase: 'Succeeded',
  severity: 'info',
  message: 'promotion completed',
  fields: {},
});

describe('Slack Web API AlertProvider', () => {
  beforeAll(async () => {
    receiver = await startReceiver(slackApiHandler(slackApi));
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('posts with the token and channel, and a replay finds the message instead of posting it again', async () => {
    await createAlertProvider(
      ns,
      'bot',
      { type: 'slack', channel: 'C0PROVIDER1' },
      { token: TOKEN, address: `${receiver.url}/api/chat.postMessage` },
    );
    await createAlertProvider(
      ns,
      'no-channel',
      { type: 'slack' },
      { token: TOKEN, address: `${receiver.url}/api/chat.postMessage` },
    );
    const notifications = new Notifications({ resolve: kubeNotifierResolver(ns.kube) });
    const alerts: CanaryAlert[] = [{ name: 'team', severity: 'info', providerRef: { name: 'bot' } }];
    const since = Date.now();

    const first = await notifications.notify(alerts, notification(ns.name), { key: `${ns.name}/podinfo.k1` });
    expect(first).toEqual({ sent: [`alert team (provider ${ns.name}/bot)`], failed: [] });
    const replay = await notifications.notify(alerts, notification(ns.name), {
      key: `${ns.name}/podinfo.k1`,
      postedSince: since,
    });
    expect(replay.found).toEqual([`alert team (provider ${ns.name}/bot)`]);
    const other = await notifications.notify(alerts, notification(ns.name), {
      key: `${ns.name}/podinfo.k2`,
      postedSince: since,
    });
    expect(other.found).toBeUndefined();
    expect(slackApi.messages.map((m) => [m.channel, m.metadata?.event_payload.key])).toEqual([
      ['C0PROVIDER1', `${ns.name}/podinfo.k1`],
      ['C0PROVIDER1', `${ns.name}/podinfo.k2`],
    ]);

    const refused = await notifications.notify(
      [{ name: 'team', severity: 'info', providerRef: { name: 'no-channel' } }],
      notification(ns.name),
    );
    expect(refused.failed.map((f) => f.error)).toEqual([
      `notifier alertprovider ${ns.name}/no-channel: a Slack token posts with the Web API (chat.postMessage), which needs a channel: set spec.channel (--slack-channel for the global notifier)`,
    ]);
    expect(JSON.stringify(refused)).not.toContain(TOKEN);
  });
});
