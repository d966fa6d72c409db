import { describe, expect, it } from 'vitest';
import { createSlackApiEmulation } from '../../bench/chaos/slack-api.ts';
import { parseUrlPolicy } from '../hooks/url-policy.ts';
import type { NotifierConfig } from './config.ts';
import { createNotifier } from './factory.ts';
import { globalNotifiers } from './global.ts';
import type { NotifyRequest, NotifyTransport } from './http.ts';
import type { Notification } from './notifier.ts';
import {
  LOOKUP_MARGIN_MS,
  LOOKUP_MAX_PAGES,
  SLACK_METADATA_EVENT,
  SLACK_POST_MESSAGE_URL,
} from './slack-api.ts';

// Slack's Web API mode: chat.postMessage with the key as message metadata, {ok: false} as a
// failure naming Slack's error, and a lookup through conversations.history. The transport is
// the loopback Slack stand-in's handler, called directly (no I/O).

const TOKEN = 'xoxb-SECRET-api';
const CHANNEL = 'C0RELEASES1';
const API = 'https://slack.test/api/chat.postMessage';
const fast = { initialDelayMs: 1, maxDelayMs: 1 };

const notification: Notification = {
  canary: { name: 'podinfo', namespace: 'shop' },
  phase: 'Progressing',
  severity: 'info',
  message: 'advance canary weight 20',
  fields: { weight: 20 },
};

function slack(token = TOKEN) {
  const api = createSlackApiEmulation({ token });
  const requests: NotifyRequest[] = [];
  const transport: NotifyTransport = async (request) => {
    requests.push(request);
    const path = new URL(request.url).pathname.replace(/^\/api/, '');
    return api.handle({ path, headers: request.headers, body: request.body });
  };
  return { api, requests, transport };
}

function notifier(
  transport: NotifyTransport,
  config: Partial<NotifierConfig> = {},
  deps: { urlPolicy?: ReturnType<typeof parseUrlPolicy> } = {},
) {
  return createNotifier(
    'slack',
    { name: 'alertprovider shop/team', url: API, token: TOKEN, channel: CHANNEL, ...config },
    { transport, retries: 0, backoff: fast, ...deps },
  );
}

describe('Slack Web API mode', () => {
  it('posts with chat.postMessage: bearer token, channel, the message, the key as metadata', async () => {
    const { api, requests, transport } = slack();
    await notifier(transport).post(notification, { key: 'shop/podinfo.abc123' });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe(API);
    expect(requests[0]!.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json; charset=utf-8',
    });
    const body = JSON.parse(requests[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      channel: CHANNEL,
      text: 'podinfo.shop: advance canary weight 20',
      metadata: { event_type: SLACK_METADATA_EVENT, event_payload: { key: 'shop/podinfo.abc123' } },
      attachments: [{ color: '#2eb886' }],
    });
    expect(api.messages.map((m) => m.metadata?.event_payload)).toEqual([{ key: 'shop/podinfo.abc123' }]);
  });

  it('posts without metadata when no key is given', async () => {
    const { api, transport } = slack();
    await notifier(transport).post(notification);
    expect(api.messages).toHaveLength(1);
    expect(api.messages[0]!.metadata).toBeUndefined();
  });

  it('takes {ok: false} with HTTP 200 as a failure naming the method and Slack’s error, never the token', async () => {
    const { transport } = slack('xoxb-another-token');
    const error = await notifier(transport)
      .post(notification)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.message).toBe(
      'notifier alertprovider shop/team: chat.postMessage answered ok: false (invalid_auth)',
    );
    expect(error?.message).not.toContain(TOKEN);
  });

  it('takes an answer that is not Slack’s JSON as a failure', async () => {
    const transport: NotifyTransport = async () => ({ status: 200, body: 'ok' });
    await expect(notifier(transport).post(notification)).rejects.toThrow(
      "chat.postMessage answered something other than Slack's JSON",
    );
  });

  it('looks a key up in conversations.history with metadata, from before the Event was made', async () => {
    const { api, requests, transport } = slack();
    const slackNotifier = notifier(transport);
    const since = Date.now();
    await slackNotifier.post(notification, { key: 'shop/podinfo.one' });
    await slackNotifier.post(notification, { key: 'shop/podinfo.two' });
    expect(await slackNotifier.findPosted?.('shop/podinfo.one', since)).toBe(true);
    expect(await slackNotifier.findPosted?.('shop/podinfo.three', since)).toBe(false);
    const lookup = requests.at(-1)!;
    expect(lookup.url).toBe('https://slack.test/api/conversations.history');
    expect(lookup.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(lookup.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const form = new URLSearchParams(lookup.body);
    expect(form.get('channel')).toBe(CHANNEL);
    expect(form.get('include_all_metadata')).toBe('true');
    expect(Number(form.get('oldest'))).toBeCloseTo((since - LOOKUP_MARGIN_MS) / 1000, 3);
    expect(form.get('limit')).toBe('200');
    // A message older than the window is not found, even with the key.
    expect(await slackNotifier.findPosted?.('shop/podinfo.one', Date.now() + 2 * LOOKUP_MARGIN_MS)).toBe(
      false,
    );
    expect(api.messages).toHaveLength(2);
  });

  it('follows the cursor through the pages, and gives up (unknown, not "absent") after its bound', async () => {
    const { api, requests, transport } = slack();
    const slackNotifier = notifier(transport);
    const since = Date.now();
    await slackNotifier.post(notification, { key: 'shop/podinfo.first' });
    for (let i = 0; i < 450; i += 1) await slackNotifier.post(notification, { key: `other-${i}` });
    requests.length = 0;
    expect(await slackNotifier.findPosted?.('shop/podinfo.first', since)).toBe(true);
    expect(requests.map((r) => new URLSearchParams(r.body).has('cursor'))).toEqual([false, true, true]);

    for (let i = 0; i < LOOKUP_MAX_PAGES * 200; i += 1)
      await slackNotifier.post(notification, { key: `more-${i}` });
    await expect(slackNotifier.findPosted?.('shop/podinfo.first', since)).rejects.toThrow(
      'not among the 1000 newest messages and more remain',
    );
    expect(api.messages.length).toBeGreaterThan(1000);
  });

  it('names Slack’s error when the lookup is refused', async () => {
    const transport: NotifyTransport = async () => ({
      status: 200,
      body: JSON.stringify({ ok: false, error: 'missing_scope' }),
    });
    await expect(notifier(transport).findPosted?.('k', Date.now())).rejects.toThrow(
      'conversations.history answered ok: false (missing_scope)',
    );
  });

  it('cannot look up with a channel name (conversations.history takes IDs): posts, at least once', async () => {
    const { api, transport } = slack();
    const named = notifier(transport, { channel: '#releases' });
    expect(named.findPosted).toBeUndefined();
    await named.post(notification, { key: 'k' });
    expect(api.messages[0]!.channel).toBe('#releases');
  });

  it('refuses a token without a channel, and chat.postMessage without a token, naming the field', () => {
    const { transport } = slack();
    expect(() => notifier(transport, { channel: undefined })).toThrow(
      'notifier alertprovider shop/team: a Slack token posts with the Web API (chat.postMessage), which needs a channel: set spec.channel (--slack-channel for the global notifier)',
    );
    expect(() => notifier(transport, { token: undefined })).toThrow(
      `the address is the Web API's chat.postMessage, which needs a bot token: set key "token" in the Secret (--slack-token for the global notifier)`,
    );
  });

  it('keeps the incoming webhook as it was: no lookup, no metadata, a token as Bearer', async () => {
    const requests: NotifyRequest[] = [];
    const transport: NotifyTransport = async (request) => {
      requests.push(request);
      return { status: 200, body: 'ok' };
    };
    const hook = notifier(transport, { url: 'https://hooks.slack.test/services/T0/B0/X' });
    expect(hook.findPosted).toBeUndefined();
    await hook.post(notification, { key: 'k' });
    const body = JSON.parse(requests[0]!.body) as Record<string, unknown>;
    expect(body.metadata).toBeUndefined();
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(createNotifier('rocket', { name: 'r', url: API, token: TOKEN }).findPosted).toBeUndefined();
  });

  it('holds both calls to the URL allowlist', async () => {
    const { api, transport } = slack();
    const guarded = notifier(transport, {}, { urlPolicy: parseUrlPolicy('hooks.slack.test') });
    await expect(guarded.post(notification)).rejects.toThrow('not allowed');
    await expect(guarded.findPosted?.('k', 0)).rejects.toThrow('not allowed');
    expect(api.messages).toEqual([]);
  });

  it('the global notifier: a token alone posts to Slack’s API in --slack-channel', () => {
    const [global] = globalNotifiers({ slackToken: TOKEN, slackChannel: CHANNEL });
    expect(global?.findPosted).toBeDefined();
    expect(() => globalNotifiers({ slackToken: TOKEN })).toThrow('--slack-channel');
    expect(SLACK_POST_MESSAGE_URL).toBe('https://slack.com/api/chat.postMessage');
  });
});
