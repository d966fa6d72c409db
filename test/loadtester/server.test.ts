import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryGateStore, type GateStore } from '../../src/loadtester/gates.ts';
import { Loadtester } from '../../src/loadtester/server.ts';
import { callWebhook, webhookPayload } from '../../src/hooks/webhook.ts';
import { sleep } from '../hooks/receiver.ts';
import { hookPayload } from '../support/canaries.ts';
import { post } from './process.ts';

// The load tester's HTTP contract, in process on loopback: answers for bad input, the
// task registry, fail-closed gates.

let loadtester: Loadtester;
let url: string;
/** Requests the fake sender has seen, per URL; it answers after 50 ms. */
const sent = new Map<string, number>();

beforeAll(async () => {
  loadtester = new Loadtester({
    gates: new MemoryGateStore(),
    namespacePattern: /^team-/,
    maxActiveTasks: 2,
    loadDeps: {
      send: async (spec) => {
        sent.set(spec.url, (sent.get(spec.url) ?? 0) + 1);
        await sleep(50);
        return 200;
      },
    },
  });
  url = `http://127.0.0.1:${await loadtester.listen(0, '127.0.0.1')}`;
});

afterAll(async () => {
  await loadtester.close();
});

describe('bad requests', () => {
  it.each([
    ['not JSON', 'hello', 400, 'the body is not JSON'],
    ['no name', { namespace: 'team-a' }, 400, 'invalid payload: name'],
    ['no metadata', hookPayload(), 400, 'metadata not found in payload'],
    ['unknown type', hookPayload({ type: 'ngrinder' }), 400, 'unknown task type ngrinder'],
    [
      'other namespace',
      { ...hookPayload({ url: 'http://a/' }), namespace: 'prod' },
      403,
      'namespace prod is not served',
    ],
    [
      'cmd without allowlist',
      hookPayload({ type: 'kubectl', cmd: 'get pods' }),
      403,
      '--allow-cmd-prefix kubectl',
    ],
  ])('%s', async (_case, body, status, text) => {
    const response = await fetch(`${url}/`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(text);
  });

  it('answers 404 for unknown paths and 405 for GET /', async () => {
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/`)).status).toBe(405);
  });

  it('serves Prometheus text on /metrics', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await response.text()).toContain('# HELP sluice_loadtester_requests_total');
  });
});

describe('tasks', () => {
  it('runs one load test per canary and spec, and caps the number running', async () => {
    const spec = { url: 'http://target.test/a', rps: '20', duration: '1s' };
    expect(await post(`${url}/`, hookPayload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('started'),
    });
    expect(await post(`${url}/`, hookPayload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('already running'),
    });
    expect(loadtester.activeTasks()).toHaveLength(1);
    // A different spec is a different run; a third concurrent one is over the cap.
    expect((await post(`${url}/`, hookPayload({ ...spec, url: 'http://target.test/b' }))).status).toBe(202);
    expect(await post(`${url}/`, hookPayload({ ...spec, url: 'http://target.test/c' }))).toMatchObject({
      status: 429,
    });
    await sleep(1_500);
    expect(loadtester.activeTasks()).toHaveLength(0);
    expect(sent.get('http://target.test/a')).toBe(20);
    expect(sent.get('http://target.test/b')).toBe(20);
    expect(sent.has('http://target.test/c')).toBe(false);
    // Once finished, the same spec may run again (the next revision's analysis).
    expect(await post(`${url}/`, hookPayload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('started'),
    });
  });
});

describe('idempotency keys', () => {
  // Sluice's own webhook client to the load tester: a controller that died with the hook in
  // flight calls it again under the same key, and the load test must not run twice.
  const hook = { name: 'load-test', type: 'pre-rollout' as const, url: '', retries: 0 };
  const call = (key: string, target: string) =>
    callWebhook(
      { ...hook, url: `${url}/`, metadata: { url: target, rps: '10', duration: '1s' } },
      webhookPayload(
        { name: 'keyed', namespace: 'team-a', phase: 'Progressing', checksum: 'rev1', idempotencyKey: key },
        { ...hook, metadata: { url: target, rps: '10', duration: '1s' } },
      ),
    );
  const repeats = async () =>
    (await loadtester.metrics.repeats.get()).values.find((v) => v.labels.canary === 'keyed.team-a')?.value ??
    0;

  it('runs a task once per key, answering a repeat with the first answer, during and after the run', async () => {
    const target = 'http://target.test/keyed';
    const first = await call('effect-1', target);
    expect(first).toMatchObject({ passed: true, status: 202, message: expect.stringContaining('started') });
    // While it runs and after it finished, the same key gets the first answer and runs nothing.
    const during = await call('effect-1', target);
    expect(during.message).toContain('task started');
    await sleep(1_500);
    expect(loadtester.activeTasks()).toHaveLength(0);
    const after = await call('effect-1', target);
    expect(after).toMatchObject({ passed: true, status: 202, message: expect.stringContaining('started') });
    expect(loadtester.activeTasks()).toHaveLength(0);
    expect(sent.get(target)).toBe(10);
    expect(await repeats()).toBe(2);
    // A new key is a new call (the next revision's, or the next interval's): it runs.
    expect((await call('effect-2', target)).message).toContain('started');
    await sleep(1_500);
    expect(sent.get(target)).toBe(20);
  });

  it('does not remember an answer worth retrying (429): the retry under the same key runs', async () => {
    const busy = ['http://target.test/busy-1', 'http://target.test/busy-2'];
    for (const [i, target] of busy.entries()) expect((await call(`busy-${i}`, target)).status).toBe(202);
    const refused = await call('effect-3', 'http://target.test/later');
    expect(refused.status).toBe(429);
    await sleep(1_500);
    expect((await call('effect-3', 'http://target.test/later')).message).toContain('started');
    await sleep(1_500);
    expect(sent.get('http://target.test/later')).toBe(10);
  });
});

describe('gates', () => {
  it('fail closed when the store cannot answer', async () => {
    const broken: GateStore = {
      isOpen: () =>
        Promise.reject(new Error('reading gate gate.team-a.podinfo from configmap x/y: connection refused')),
      set: () => Promise.reject(new Error('writing gate: forbidden')),
      location: 'configmap x/y',
      check: () => Promise.resolve(),
    };
    const failing = new Loadtester({ gates: broken });
    const failingUrl = `http://127.0.0.1:${await failing.listen(0, '127.0.0.1')}`;
    try {
      expect(await post(`${failingUrl}/gate/check`, hookPayload())).toEqual({
        status: 500,
        text: 'reading gate gate.team-a.podinfo from configmap x/y: connection refused',
      });
      expect((await post(`${failingUrl}/gate/open`, hookPayload())).status).toBe(500);
      // The static gates need no store.
      expect((await fetch(`${failingUrl}/gate/approve`)).status).toBe(200);
      expect((await fetch(`${failingUrl}/gate/halt`)).status).toBe(403);
    } finally {
      await failing.close();
    }
  });

  it('keep gates and rollback gates of each canary apart', async () => {
    await post(`${url}/rollback/open`, hookPayload());
    expect((await post(`${url}/rollback/check`, hookPayload())).status).toBe(200);
    expect((await post(`${url}/gate/check`, hookPayload())).status).toBe(403);
    expect((await post(`${url}/rollback/check`, { ...hookPayload(), name: 'other' })).status).toBe(403);
    await post(`${url}/rollback/close`, hookPayload());
    expect((await post(`${url}/rollback/check`, hookPayload())).status).toBe(403);
  });
});
