import { describe, expect, it } from 'vitest';
import { createSlackApiEmulation } from './slack-api.ts';

// The loopback Slack stand-in answers in Slack's documented shapes.

const auth = { authorization: 'Bearer xoxb-t' };
const json = { ...auth, 'content-type': 'application/json; charset=utf-8' };
const form = { ...auth, 'content-type': 'application/x-www-form-urlencoded' };

function post(api: ReturnType<typeof createSlackApiEmulation>, text: string, key?: string) {
  const metadata = key ? { event_type: 'e', event_payload: { key } } : undefined;
  return JSON.parse(
    api.handle({
      path: '/chat.postMessage',
      headers: json,
      body: JSON.stringify({ channel: 'C0TEST0001', text, ...(metadata ? { metadata } : {}) }),
    }).body,
  ) as Record<string, unknown>;
}

function history(
  api: ReturnType<typeof createSlackApiEmulation>,
  params: Record<string, string>,
  viaQuery = false,
) {
  const query = new URLSearchParams({ channel: 'C0TEST0001', ...params }).toString();
  const answer = api.handle(
    viaQuery
      ? { path: `/conversations.history?${query}`, headers: auth, body: '' }
      : { path: '/conversations.history', headers: form, body: query },
  );
  return JSON.parse(answer.body) as {
    ok: boolean;
    messages: Array<{ text: string; ts: string; metadata?: unknown }>;
    has_more: boolean;
    response_metadata: { next_cursor: string };
  };
}

describe('Slack API stand-in', () => {
  it('answers chat.postMessage with ok, channel and ts; refuses a wrong or missing token as Slack does', () => {
    const api = createSlackApiEmulation({ token: 'xoxb-t' });
    const answer = post(api, 'hello');
    expect(answer).toMatchObject({ ok: true, channel: 'C0TEST0001', message: { text: 'hello' } });
    expect(answer.ts).toMatch(/^\d+\.\d{6}$/);
    const refuse = (headers: Record<string, string>) =>
      JSON.parse(api.handle({ path: '/chat.postMessage', headers, body: '{}' }).body) as unknown;
    expect(refuse({ authorization: 'Bearer nope' })).toEqual({ ok: false, error: 'invalid_auth' });
    expect(refuse({})).toEqual({ ok: false, error: 'not_authed' });
    expect(JSON.parse(api.handle({ path: '/chat.postMessage', headers: json, body: '{}' }).body)).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
  });

  it('lists history newest first, metadata only when asked, honouring oldest, limit and cursor', () => {
    const api = createSlackApiEmulation({ token: 'xoxb-t' });
    const ts = ['one', 'two', 'three'].map((text, i) => post(api, text, `k${i}`).ts as string);
    expect(history(api, {}).messages.map((m) => [m.text, m.metadata])).toEqual([
      ['three', undefined],
      ['two', undefined],
      ['one', undefined],
    ]);
    expect(history(api, { include_all_metadata: 'true', oldest: ts[0]! }, true).messages).toEqual([
      expect.objectContaining({ text: 'three', metadata: { event_type: 'e', event_payload: { key: 'k2' } } }),
      expect.objectContaining({ text: 'two' }),
    ]);
    const first = history(api, { limit: '2' });
    expect(first.messages.map((m) => m.text)).toEqual(['three', 'two']);
    expect(first.has_more).toBe(true);
    const second = history(api, { limit: '2', cursor: first.response_metadata.next_cursor });
    expect(second.messages.map((m) => m.text)).toEqual(['one']);
    expect(second).toMatchObject({ has_more: false, response_metadata: { next_cursor: '' } });
    expect(api.lookups).toBe(4);
  });
});
