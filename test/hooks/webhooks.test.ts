import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HOOK_TYPES,
  canaryWebhookSchema,
  type CanaryWebhook,
  type CanaryWebhookInput,
} from '../../src/hooks/types.ts';
import { callWebhook, runWebhooks, sendEventWebhooks } from '../../src/hooks/webhook.ts';
import { freePort } from '../../src/dev/process.ts';
import { sleep, startReceiver, type Receiver } from './receiver.ts';

// Webhooks over real HTTP to receivers on 127.0.0.1: payload shapes, timeouts, retries, TLS.

const context = { name: 'podinfo', namespace: 'test', phase: 'Progressing', checksum: '6b1f0c2e9a7d4c55' };
const fast = { initialDelayMs: 50, maxDelayMs: 200 };

let receiver: Receiver;
/** Per-path failure budgets for /flaky/<n>: answer 503 until n requests were seen. */
const seen = new Map<string, number>();

function hook(input: Partial<CanaryWebhookInput>): CanaryWebhook {
  return canaryWebhookSchema.parse({ name: 'hook', url: `${receiver.url}/ok`, ...input });
}

beforeAll(async () => {
  receiver = await startReceiver(async (request, response) => {
    const [, route, arg] = new URL(request.path, 'http://receiver').pathname.split('/');
    const count = (seen.get(request.path) ?? 0) + 1;
    seen.set(request.path, count);
    switch (route) {
      case 'ok':
        return void response.writeHead(200).end('OK');
      case 'accepted':
        return void response.writeHead(202).end();
      case 'forbidden':
        return void response.writeHead(403).end('Forbidden');
      case 'error':
        return void response.writeHead(500).end('internal error');
      case 'flaky':
        return void response
          .writeHead(count <= Number(arg) ? 503 : 200)
          .end(count <= Number(arg) ? 'busy' : 'OK');
      case 'slow':
        await sleep(Number(arg));
        if (!response.destroyed) response.writeHead(200).end('late');
        return;
      default:
        return void response.writeHead(404).end();
    }
  });
});

afterAll(async () => {
  await receiver.close();
});

describe('payloads', () => {
  it.each(HOOK_TYPES.filter((type) => type !== 'event'))(
    '%s hooks POST {name, namespace, phase, checksum, metadata} as JSON',
    async (type) => {
      const path = `/ok?type=${type}`;
      const run = await runWebhooks(
        [
          hook({
            name: `${type}-hook`,
            type,
            url: `${receiver.url}${path}`,
            metadata: { cmd: 'hey', type: 'load' },
          }),
        ],
        type,
        context,
      );
      expect(run.passed).toBe(true);
      expect(run.results).toMatchObject([
        { name: `${type}-hook`, type, passed: true, status: 200, attempts: 1 },
      ]);
      const [request] = receiver.received.filter((r) => r.path === path);
      expect(request?.method).toBe('POST');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request!.body)).toEqual({ ...context, metadata: { cmd: 'hey', type: 'load' } });
    },
  );

  it('event hooks carry eventMessage, eventType and timestamp in metadata', async () => {
    const before = Date.now();
    const path = '/ok?type=event';
    const run = await sendEventWebhooks(
      [hook({ name: 'events', type: 'event', url: `${receiver.url}${path}`, metadata: { team: 'web' } })],
      'http://127.0.0.1:1/never-used',
      context,
      { message: 'advance 20%', type: 'Normal', timestamp: Date.now() },
    );
    expect(run.passed).toBe(true);
    const [body] = receiver.json(path) as Array<{ metadata: Record<string, string> }>;
    expect(body).toEqual({
      ...context,
      metadata: {
        team: 'web',
        eventMessage: 'advance 20%',
        eventType: 'Normal',
        timestamp: expect.any(String),
      },
    });
    const timestamp = Number(body!.metadata.timestamp);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Date.now());
  });

  it('the global event webhook gets events of canaries without their own', async () => {
    const path = '/ok?global=1';
    await sendEventWebhooks([hook({ type: 'rollout' })], `${receiver.url}${path}`, context, {
      message: 'rolled back: failed checks threshold reached (5)',
      type: 'Warning',
      timestamp: Date.now(),
    });
    const [body] = receiver.json(path) as Array<{ metadata: Record<string, string> }>;
    expect(body?.metadata).toMatchObject({
      eventMessage: 'rolled back: failed checks threshold reached (5)',
      eventType: 'Warning',
    });
  });

  it('a 202 passes, a 403 fails with the receiver’s answer', async () => {
    expect(await callWebhook(hook({ url: `${receiver.url}/accepted` }), context)).toMatchObject({
      passed: true,
      status: 202,
    });
    const refused = await callWebhook(
      hook({ name: 'gate', type: 'confirm-rollout', url: `${receiver.url}/forbidden` }),
      context,
    );
    expect(refused).toMatchObject({ passed: false, status: 403, attempts: 1 });
    expect(refused.message).toBe(
      `webhook gate (confirm-rollout) at ${receiver.url}/forbidden answered 403: Forbidden`,
    );
  });
});

describe('timeouts and retries', () => {
  it('gives up on a slow receiver at the hook timeout', async () => {
    const result = await callWebhook(hook({ url: `${receiver.url}/slow/5000`, timeout: '500ms' }), context);
    expect(result.passed).toBe(false);
    expect(result.status).toBeUndefined();
    expect(result.message).toContain('no answer within 500ms');
    expect(result.durationMs).toBeGreaterThanOrEqual(450);
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it('applies the timeout to every attempt and backs off between them', async () => {
    const result = await callWebhook(
      hook({ url: `${receiver.url}/slow/3000`, timeout: '300ms', retries: 2 }),
      context,
      {
        backoff: fast,
      },
    );
    expect(result).toMatchObject({ passed: false, attempts: 3 });
    // Three 300 ms attempts plus two short backoffs; far less than one receiver delay.
    expect(result.durationMs).toBeGreaterThanOrEqual(900);
    expect(result.durationMs).toBeLessThan(2_500);
  });

  it('retries 5xx answers and passes once the receiver recovers', async () => {
    const path = '/flaky/2';
    const result = await callWebhook(hook({ url: `${receiver.url}${path}`, retries: 3 }), context, {
      backoff: fast,
    });
    expect(result).toMatchObject({ passed: true, status: 200, attempts: 3 });
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(3);
  });

  it('stops after `retries` extra attempts', async () => {
    const path = '/flaky/10';
    const result = await callWebhook(hook({ url: `${receiver.url}${path}`, retries: 2 }), context, {
      backoff: fast,
    });
    expect(result).toMatchObject({ passed: false, status: 503, attempts: 3 });
    expect(result.message).toContain('after 3 attempts: busy');
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(3);
  });

  it('never retries a 4xx', async () => {
    const before = receiver.received.filter((r) => r.path === '/forbidden').length;
    const result = await callWebhook(hook({ url: `${receiver.url}/forbidden`, retries: 5 }), context, {
      backoff: fast,
    });
    expect(result.attempts).toBe(1);
    expect(receiver.received.filter((r) => r.path === '/forbidden')).toHaveLength(before + 1);
  });

  it('retries a refused connection and says so', async () => {
    const port = await freePort();
    const result = await callWebhook(hook({ url: `http://127.0.0.1:${port}/`, retries: 1 }), context, {
      backoff: fast,
    });
    expect(result).toMatchObject({ passed: false, attempts: 2 });
    expect(result.message).toBe(
      `webhook hook (rollout) at http://127.0.0.1:${port}/: connection refused after 2 attempts`,
    );
  });

  it('runs the hooks of one type at once: a slow one does not delay the others’ calls', async () => {
    const started = performance.now();
    const run = await runWebhooks(
      [
        hook({ name: 'slow', type: 'pre-rollout', url: `${receiver.url}/slow/1500` }),
        hook({ name: 'a', type: 'pre-rollout', url: `${receiver.url}/slow/1000` }),
        hook({ name: 'b', type: 'pre-rollout', url: `${receiver.url}/slow/1001` }),
      ],
      'pre-rollout',
      context,
    );
    expect(run.passed).toBe(true);
    // Sequential calls would take 3.5 s.
    expect(performance.now() - started).toBeLessThan(2_500);
  });
});

describe('TLS', () => {
  let tls: Receiver;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    tls = await startReceiver(undefined, {
      key: await readFile(key, 'utf8'),
      cert: await readFile(cert, 'utf8'),
    });
  });

  afterAll(async () => {
    await tls.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an untrusted certificate without retrying it', async () => {
    const result = await callWebhook(hook({ url: `${tls.url}/`, retries: 3 }), context, { backoff: fast });
    expect(result).toMatchObject({ passed: false, attempts: 1 });
    expect(result.message).toMatch(/SELF_SIGNED|self-signed/i);
    expect(tls.received).toHaveLength(0);
  });

  it('accepts it with insecureSkipVerify', async () => {
    const result = await callWebhook(hook({ url: `${tls.url}/`, insecureSkipVerify: true }), context);
    expect(result).toMatchObject({ passed: true, status: 200 });
    expect(tls.received).toHaveLength(1);
  });
});
