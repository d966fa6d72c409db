import { describe, expect, it } from 'vitest';
import { parseUrlPolicy } from '../hooks/url-policy.ts';
import { NotifyError, postJson, type NotifyRequest, type NotifyTransport } from './http.ts';

const url = 'https://hooks.test/services/T000/B000/SECRETPATH';
const fast = { initialDelayMs: 1, maxDelayMs: 1 };

function recording(
  answers: Array<{ status: number; body: string } | Error>,
): NotifyTransport & { requests: NotifyRequest[] } {
  const requests: NotifyRequest[] = [];
  const transport = async (request: NotifyRequest) => {
    requests.push(request);
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(transport, { requests });
}

describe('postJson', () => {
  it('sends JSON with a bearer token when given and accepts any 2xx', async () => {
    const transport = recording([{ status: 204, body: '' }]);
    await postJson(url, { a: 1 }, { provider: 'p', token: 'xoxb-token', transport });
    expect(transport.requests[0]).toMatchObject({
      url,
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-token' },
      timeoutMs: 5_000,
    });
  });

  it('retries a 5xx once by default, not a 4xx', async () => {
    const failing = recording([{ status: 502, body: '' }]);
    await expect(postJson(url, {}, { provider: 'p', transport: failing, backoff: fast })).rejects.toThrow(
      NotifyError,
    );
    expect(failing.requests).toHaveLength(2);
    const refused = recording([{ status: 400, body: 'invalid_payload' }]);
    await expect(postJson(url, {}, { provider: 'p', transport: refused, backoff: fast })).rejects.toThrow(
      'notifier p: answered 400: invalid_payload',
    );
    expect(refused.requests).toHaveLength(1);
  });

  it('never puts the URL or token in its errors', async () => {
    const echo = recording([{ status: 404, body: `no hook at ${url} for token xoxb-token` }]);
    const error = await postJson(url, {}, { provider: 'slack', token: 'xoxb-token', transport: echo }).catch(
      (e: unknown) => e as Error,
    );
    expect(error?.message).not.toContain('SECRETPATH');
    expect(error?.message).not.toContain('xoxb-token');
    const network = recording([
      Object.assign(new Error(`getaddrinfo failed for ${url}`), { code: 'EWEIRD' }),
    ]);
    const error2 = await postJson(url, {}, { provider: 'slack', transport: network, retries: 0 }).catch(
      (e: unknown) => e as Error,
    );
    expect(error2?.message).toMatch(/^notifier slack: /);
    expect(error2?.message).not.toContain('SECRETPATH');
  });
});

describe('postJson under --allowed-url-hosts (issue 16 §5)', () => {
  it('refuses a URL outside the list without sending, naming the provider, the host and the flag', async () => {
    const transport = recording([{ status: 204, body: '' }]);
    const error = await postJson(
      url,
      { a: 1 },
      {
        provider: 'alertprovider test/slack',
        transport,
        urlPolicy: parseUrlPolicy('cluster-local'),
      },
    ).catch((caught: unknown) => caught);
    expect(transport.requests).toHaveLength(0);
    expect(error).toBeInstanceOf(NotifyError);
    expect((error as NotifyError).message).toBe(
      'notifier alertprovider test/slack: refused: notifier alertprovider test/slack url: host "hooks.test" is not allowed by --allowed-url-hosts=cluster-local',
    );
    expect((error as NotifyError).refused?.host).toBe('hooks.test');
  });
});
