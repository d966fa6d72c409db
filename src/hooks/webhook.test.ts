import { describe, expect, it } from 'vitest';
import { canaryWebhookSchema, type CanaryWebhook, type CanaryWebhookInput } from './types.ts';
import { parseUrlPolicy } from './url-policy.ts';
import {
  alertMuted,
  callWebhook,
  canaryChecksum,
  eventWebhookPayload,
  eventWebhooks,
  redact,
  runWebhooks,
  safeUrl,
  webhookPayload,
  webhookTimeoutMs,
  type WebhookRequest,
  type WebhookResponse,
  type WebhookTransport,
} from './webhook.ts';

const context = { name: 'podinfo', namespace: 'test', phase: 'Progressing', checksum: 'abc123' };
const fastBackoff = { initialDelayMs: 1, maxDelayMs: 2 };

function hook(input: Partial<CanaryWebhookInput> = {}): CanaryWebhook {
  return canaryWebhookSchema.parse({ name: 'load-test', url: 'http://receiver.test/hook', ...input });
}

/** A transport that answers from a script and records every request. */
function scripted(
  answers: Array<WebhookResponse | Error>,
): WebhookTransport & { requests: WebhookRequest[] } {
  const requests: WebhookRequest[] = [];
  const transport = async (request: WebhookRequest): Promise<WebhookResponse> => {
    requests.push(request);
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    if (!answer) throw new Error('script is empty');
    return answer;
  };
  return Object.assign(transport, { requests });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`boom ${code}`), { code });
}

describe('canaryWebhookSchema', () => {
  it('defaults the type to rollout like Flagger', () => {
    expect(hook().type).toBe('rollout');
  });

  it('refuses unknown types, bad URLs and unbounded retries', () => {
    expect(canaryWebhookSchema.safeParse({ name: 'x', url: 'http://a/', type: 'pre' }).success).toBe(false);
    expect(canaryWebhookSchema.safeParse({ name: 'x', url: 'not a url' }).success).toBe(false);
    expect(canaryWebhookSchema.safeParse({ name: 'x', url: 'ftp://a/' }).success).toBe(false);
    expect(canaryWebhookSchema.safeParse({ name: 'x', url: 'http://a/', retries: 11 }).success).toBe(false);
    expect(canaryWebhookSchema.safeParse({ name: 'x', url: 'http://a/', timeout: 'soon' }).success).toBe(
      false,
    );
  });
});

describe('webhookTimeoutMs', () => {
  it('is 10s by default (the API default), 5s for an event hook without one, and the hook timeout when set', () => {
    expect(webhookTimeoutMs(hook())).toBe(10_000);
    expect(webhookTimeoutMs({ type: 'rollout' })).toBe(10_000);
    expect(webhookTimeoutMs({ type: 'event' })).toBe(5_000);
    expect(webhookTimeoutMs(hook({ timeout: '1m30s' }))).toBe(90_000);
  });
});

describe('callWebhook', () => {
  it('POSTs the payload as JSON and passes on 2xx', async () => {
    const transport = scripted([{ status: 202, body: '' }]);
    const result = await callWebhook(
      hook({ timeout: '3s', metadata: { a: 'b' } }),
      { ...context, metadata: { a: 'b' } },
      {
        transport,
      },
    );
    expect(result).toMatchObject({ passed: true, status: 202, attempts: 1 });
    expect(transport.requests).toHaveLength(1);
    expect(JSON.parse(transport.requests[0]!.body)).toEqual({ ...context, metadata: { a: 'b' } });
    expect(transport.requests[0]!.timeoutMs).toBe(3_000);
    expect(transport.requests[0]!.insecureSkipVerify).toBe(false);
  });

  it('fails on 4xx without retrying and keeps the answer in the message', async () => {
    const transport = scripted([{ status: 403, body: 'Forbidden' }]);
    const result = await callWebhook(hook({ retries: 3 }), context, { transport, backoff: fastBackoff });
    expect(result).toMatchObject({ passed: false, status: 403, attempts: 1 });
    expect(result.message).toBe(
      'webhook load-test (rollout) at http://receiver.test/hook answered 403: Forbidden',
    );
  });

  it('counts a 3xx as a failure', async () => {
    const result = await callWebhook(hook(), context, { transport: scripted([{ status: 302, body: '' }]) });
    expect(result).toMatchObject({ passed: false, status: 302 });
  });

  it('retries 5xx up to `retries` times and reports every attempt', async () => {
    const transport = scripted([{ status: 503, body: 'busy' }]);
    const result = await callWebhook(hook({ retries: 2 }), context, { transport, backoff: fastBackoff });
    expect(result).toMatchObject({ passed: false, status: 503, attempts: 3 });
    expect(result.message).toContain('after 3 attempts');
    expect(transport.requests).toHaveLength(3);
  });

  it('passes when a retry succeeds', async () => {
    const transport = scripted([
      networkError('ECONNRESET'),
      { status: 500, body: '' },
      { status: 200, body: 'ok' },
    ]);
    const result = await callWebhook(hook({ retries: 5 }), context, { transport, backoff: fastBackoff });
    expect(result).toMatchObject({ passed: true, status: 200, attempts: 3 });
  });

  it('does not retry without `retries` (Flagger default 0)', async () => {
    const transport = scripted([{ status: 500, body: '' }]);
    const result = await callWebhook(hook(), context, { transport, backoff: fastBackoff });
    expect(result.attempts).toBe(1);
  });

  it('describes timeouts and refused connections without throwing', async () => {
    const timedOut = await callWebhook(hook({ timeout: '2s', retries: 1 }), context, {
      transport: scripted([networkError('ETIMEDOUT')]),
      backoff: fastBackoff,
    });
    expect(timedOut).toMatchObject({ passed: false, attempts: 2 });
    expect(timedOut.status).toBeUndefined();
    expect(timedOut.message).toBe(
      'webhook load-test (rollout) at http://receiver.test/hook: no answer within 2s after 2 attempts',
    );
    const refused = await callWebhook(hook(), context, {
      transport: scripted([networkError('ECONNREFUSED')]),
    });
    expect(refused.message).toContain('connection refused');
  });

  it('does not retry certificate errors', async () => {
    const transport = scripted([networkError('DEPTH_ZERO_SELF_SIGNED_CERT')]);
    const result = await callWebhook(hook({ url: 'https://receiver.test/', retries: 3 }), context, {
      transport,
      backoff: fastBackoff,
    });
    expect(result.attempts).toBe(1);
    expect(result.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('passes insecureSkipVerify to the transport', async () => {
    const transport = scripted([{ status: 200, body: '' }]);
    await callWebhook(hook({ url: 'https://receiver.test/', insecureSkipVerify: true }), context, {
      transport,
    });
    expect(transport.requests[0]!.insecureSkipVerify).toBe(true);
  });

  it('keeps query strings and credentials out of messages', async () => {
    const url = 'https://user:hunter22@receiver.test/hook?token=s3cr3t-value';
    const transport = scripted([{ status: 500, body: `bad request to ${url}` }]);
    const result = await callWebhook(hook({ url }), context, { transport });
    expect(result.message).not.toContain('s3cr3t-value');
    expect(result.message).not.toContain('hunter22');
    expect(result.message).toContain('https://receiver.test/hook');
  });

  it('measures the duration with the injected clock', async () => {
    let clock = 1_000;
    const transport: WebhookTransport = async () => {
      clock += 250;
      return { status: 200, body: '' };
    };
    const result = await callWebhook(hook(), context, { transport, now: () => clock });
    expect(result.durationMs).toBe(250);
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const transport: WebhookTransport = async () => {
      controller.abort();
      return { status: 503, body: '' };
    };
    const result = await callWebhook(hook({ retries: 5 }), context, {
      transport,
      backoff: { initialDelayMs: 5_000, maxDelayMs: 5_000 },
      signal: controller.signal,
    });
    expect(result.passed).toBe(false);
    expect(result.attempts).toBe(1);
  });
});

describe('runWebhooks', () => {
  it('runs every hook of the type at once and reports each', async () => {
    const started: string[] = [];
    const release: Array<() => void> = [];
    const transport: WebhookTransport = (request) =>
      new Promise((resolve) => {
        started.push(request.url);
        release.push(() => resolve({ status: request.url.includes('bad') ? 500 : 200, body: '' }));
      });
    const hooks = [
      hook({ name: 'a', type: 'pre-rollout', url: 'http://a.test/' }),
      hook({ name: 'b', type: 'pre-rollout', url: 'http://bad.test/', muteAlert: true }),
      hook({ name: 'c', type: 'rollout', url: 'http://c.test/' }),
    ];
    const run = runWebhooks(hooks, 'pre-rollout', context, { transport });
    await new Promise((resolve) => setImmediate(resolve));
    // Both calls are in flight before either answers: nothing queues behind the other.
    expect(started).toEqual(['http://a.test/', 'http://bad.test/']);
    for (const done of release) done();
    const result = await run;
    expect(result.passed).toBe(false);
    expect(result.results.map((r) => [r.name, r.passed, r.muteAlert])).toEqual([
      ['a', true, false],
      ['b', false, true],
    ]);
    // Only muted hooks failed: the run's alert is muted.
    expect(alertMuted(result)).toBe(true);
  });

  it('mutes the alert only when every failing hook asked for it', () => {
    const result = (name: string, passed: boolean, muteAlert: boolean) => ({
      name,
      type: 'rollout' as const,
      passed,
      muteAlert,
      message: '',
      durationMs: 1,
      attempts: 1,
    });
    expect(
      alertMuted({ passed: false, results: [result('a', false, true), result('b', false, false)] }),
    ).toBe(false);
    expect(alertMuted({ passed: false, results: [result('a', false, true), result('b', true, false)] })).toBe(
      true,
    );
    expect(alertMuted({ passed: true, results: [result('a', true, true)] })).toBe(false);
  });

  it('passes when there is no hook of the type', async () => {
    expect(await runWebhooks([hook()], 'confirm-promotion', context)).toEqual({ passed: true, results: [] });
  });

  it('sends each hook its own metadata', async () => {
    const transport = scripted([{ status: 200, body: '' }]);
    await runWebhooks([hook({ metadata: { cmd: 'x' } }), hook({ name: 'other' })], 'rollout', context, {
      transport,
    });
    const bodies = transport.requests.map((request) => JSON.parse(request.body) as { metadata: unknown });
    expect(bodies.map((body) => body.metadata)).toEqual([{ cmd: 'x' }, {}]);
  });
});

describe('event webhooks', () => {
  it('use the canary’s own event hooks, else the global one', () => {
    const own = hook({ name: 'mine', type: 'event' });
    expect(eventWebhooks([own, hook()], 'http://global.test/')).toEqual([own]);
    expect(eventWebhooks([hook()], 'http://global.test/')).toEqual([
      { name: 'events', type: 'event', url: 'http://global.test/', secretPath: true },
    ]);
    expect(eventWebhooks([hook()], undefined)).toEqual([]);
  });

  it('carry the event in metadata; hook metadata cannot override it', () => {
    const payload = eventWebhookPayload(
      context,
      { metadata: { eventType: 'spoof', team: 'web' } },
      {
        message: 'advance 20%',
        type: 'Normal',
        timestamp: 1_700_000_000_123.7,
      },
    );
    expect(payload).toEqual({
      ...context,
      metadata: { team: 'web', eventMessage: 'advance 20%', eventType: 'Normal', timestamp: '1700000000123' },
    });
  });
});

describe('release metadata', () => {
  it("carries Sluice's metadata (the release's dora.metrics keys) in every payload, over the hook's own", () => {
    const release = { 'dora.metrics/deployment-id': 'deploy-123', 'dora.metrics/commit-sha': 'abc123' };
    const withRelease = { ...context, metadata: release };
    expect(
      webhookPayload(withRelease, { metadata: { team: 'web', 'dora.metrics/commit-sha': 'spoof' } }),
    ).toEqual({
      ...context,
      metadata: { team: 'web', ...release },
    });
    expect(
      eventWebhookPayload(withRelease, {}, { message: 'promotion completed', type: 'Normal', timestamp: 1 })
        .metadata,
    ).toEqual({ ...release, eventMessage: 'promotion completed', eventType: 'Normal', timestamp: '1' });
  });
});

describe('helpers', () => {
  it('safeUrl drops credentials and query', () => {
    expect(safeUrl('https://u:p@h.test:8443/a/b?x=1#f')).toBe('https://h.test:8443/a/b');
  });

  it('redact removes secrets and URL parts', () => {
    expect(redact('posting to https://hooks.test/T1/B2/XYZ failed', ['https://hooks.test/T1/B2/XYZ'])).toBe(
      'posting to [redacted] failed',
    );
    expect(redact('path /T1/B2/XYZ refused', ['https://hooks.test/T1/B2/XYZ'])).toBe(
      'path [redacted] refused',
    );
  });

  it('canaryChecksum is stable and changes with the revision', () => {
    const a = canaryChecksum({ trackedConfigs: { b: '1', a: '2' }, lastAppliedSpec: 'rev1' });
    expect(canaryChecksum({ trackedConfigs: { a: '2', b: '1' }, lastAppliedSpec: 'rev1' })).toBe(a);
    expect(canaryChecksum({ trackedConfigs: { a: '2', b: '1' }, lastAppliedSpec: 'rev2' })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('webhook secrets (issue 16 §5)', () => {
  it("sends a secretRef's token as a bearer token and keeps it out of the result when the receiver echoes it", async () => {
    const token = 'gate-t0ken-42';
    const transport = scripted([{ status: 500, body: `unexpected authorization: Bearer ${token}` }]);
    const result = await callWebhook(hook({ secretRef: { name: 'gate' } }), webhookPayload(context, {}), {
      transport,
      readSecret: async (namespace, name): Promise<Record<string, string>> =>
        namespace === 'test' && name === 'gate' ? { token } : {},
    });
    expect(transport.requests[0]?.headers).toEqual({ authorization: `Bearer ${token}` });
    expect(result.message).toBe(
      'webhook load-test (rollout) at http://receiver.test/hook answered 500: unexpected authorization: Bearer [redacted]',
    );
  });

  it('refuses a URL outside --allowed-url-hosts without calling it, with a typed refusal', async () => {
    const transport = scripted([{ status: 200, body: 'ok' }]);
    const result = await callWebhook(
      hook({ url: 'http://169.254.169.254/latest' }),
      webhookPayload(context, {}),
      {
        transport,
        urlPolicy: parseUrlPolicy('cluster-local'),
      },
    );
    expect(transport.requests).toHaveLength(0);
    expect(result.passed).toBe(false);
    expect(result.refused?.field).toBe('webhook load-test url');
    expect(result.message).toBe(
      'webhook load-test (rollout) at http://169.254.169.254/latest: refused: webhook load-test url: host "169.254.169.254" is not allowed by --allowed-url-hosts=cluster-local',
    );
  });
});

describe('the global event webhook (issue 16 §5 leak)', () => {
  it('names only its origin: its path is the operator’s secret', async () => {
    const [global] = eventWebhooks([], 'https://hooks.chat.test/services/T0/B0/s3cr3tpath');
    const transport = scripted([{ status: 404, body: 'no such hook /services/T0/B0/s3cr3tpath' }]);
    const result = await callWebhook(global!, webhookPayload(context, {}), { transport });
    expect(result.message).toBe(
      'webhook events (event) at https://hooks.chat.test answered 404: no such hook [redacted]',
    );
  });
});

describe('an invalid webhook URL (issue 16 §5 leak)', () => {
  it('is reported without its text, which may hold a token', async () => {
    const result = await callWebhook(
      { name: 'events', type: 'event', url: 'http://[bad host/hook?token=t0ken-in-url' },
      webhookPayload(context, {}),
    );
    expect(result.passed).toBe(false);
    expect(result.message).not.toContain('t0ken-in-url');
    expect(result.message).toMatch(/the url is not a valid URL$/);
  });
});
