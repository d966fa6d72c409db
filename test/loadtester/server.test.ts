import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryGateStore, type GateStore } from '../../src/loadtester/gates.ts';
import { Loadtester } from '../../src/loadtester/server.ts';
import { sleep } from '../hooks/receiver.ts';
import { post } from './process.ts';

// The load tester's HTTP contract, in process on loopback: answers for bad input, the
// task registry, fail-closed gates.

const payload = (metadata?: Record<string, string>) => ({
  name: 'podinfo',
  namespace: 'team-a',
  phase: 'Progressing',
  checksum: 'abc',
  ...(metadata ? { metadata } : {}),
});

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
    ['no metadata', payload(), 400, 'metadata not found in payload'],
    ['unknown type', payload({ type: 'ngrinder' }), 400, 'unknown task type ngrinder'],
    [
      'other namespace',
      { ...payload({ url: 'http://a/' }), namespace: 'prod' },
      403,
      'namespace prod is not served',
    ],
    [
      'cmd without allowlist',
      payload({ type: 'kubectl', cmd: 'get pods' }),
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
    expect(await post(`${url}/`, payload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('started'),
    });
    expect(await post(`${url}/`, payload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('already running'),
    });
    expect(loadtester.activeTasks()).toHaveLength(1);
    // A different spec is a different run; a third concurrent one is over the cap.
    expect((await post(`${url}/`, payload({ ...spec, url: 'http://target.test/b' }))).status).toBe(202);
    expect(await post(`${url}/`, payload({ ...spec, url: 'http://target.test/c' }))).toMatchObject({
      status: 429,
    });
    await sleep(1_500);
    expect(loadtester.activeTasks()).toHaveLength(0);
    expect(sent.get('http://target.test/a')).toBe(20);
    expect(sent.get('http://target.test/b')).toBe(20);
    expect(sent.has('http://target.test/c')).toBe(false);
    // Once finished, the same spec may run again (the next revision's analysis).
    expect(await post(`${url}/`, payload(spec))).toMatchObject({
      status: 202,
      text: expect.stringContaining('started'),
    });
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
      expect(await post(`${failingUrl}/gate/check`, payload())).toEqual({
        status: 500,
        text: 'reading gate gate.team-a.podinfo from configmap x/y: connection refused',
      });
      expect((await post(`${failingUrl}/gate/open`, payload())).status).toBe(500);
      // The static gates need no store.
      expect((await fetch(`${failingUrl}/gate/approve`)).status).toBe(200);
      expect((await fetch(`${failingUrl}/gate/halt`)).status).toBe(403);
    } finally {
      await failing.close();
    }
  });

  it('keep gates and rollback gates of each canary apart', async () => {
    await post(`${url}/rollback/open`, payload());
    expect((await post(`${url}/rollback/check`, payload())).status).toBe(200);
    expect((await post(`${url}/gate/check`, payload())).status).toBe(403);
    expect((await post(`${url}/rollback/check`, { ...payload(), name: 'other' })).status).toBe(403);
    await post(`${url}/rollback/close`, payload());
    expect((await post(`${url}/rollback/check`, payload())).status).toBe(403);
  });
});
