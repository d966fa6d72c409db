import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../src/controller/controller.ts';
import { IDEMPOTENCY_KEY_HEADER } from '../../src/hooks/idempotency.ts';
import type { WireObjectApi } from '../../src/kube/wire.ts';
import { EventRecorder, type EventSubject, type RecordOptions } from '../../src/notify/events.ts';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';
import { startTestController, useScene } from '../support/scene.ts';

// Side effects once across a kill (docs/decisions/0026-side-effects-once.md), placed exactly:
// a controller "dies" between a side effect and the status write that records it (from that
// moment its status writes fail, then it stops), and the next controller, with nothing in
// memory, resumes from the status. The step's Event is not repeated (its event hook is, under
// the same idempotency key); a hook in flight is called again under the same key.

const ns = useScene('ctl-once');
let receiver: Receiver;
/** Calls held unanswered (a hook in flight at the kill). */
const held: ServerResponse[] = [];
let holdHooks = false;
const running: RunningController[] = [];

interface Generation {
  controller: RunningController;
  /** From now on its status writes fail, as if it had died before them. */
  dieBeforeStatus(): void;
}

/** One controller process's worth: its own Event recorder and effect memory. */
async function generation(options: { dieAtEvent?: RegExp } = {}): Promise<Generation> {
  let dead = false;
  const wire = new Proxy(ns.kube.wire, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== 'mergePatchObject') return bound;
      return (...args: unknown[]) =>
        dead ? Promise.reject(new Error('killed before the status write')) : bound(...args);
    },
  }) as WireObjectApi;
  const dieAt = options.dieAtEvent;
  class Recorder extends EventRecorder {
    override record(
      subject: EventSubject,
      type: 'Normal' | 'Warning',
      reason: string,
      message: string,
      options?: RecordOptions,
    ) {
      // The Event and its webhook go out; the status write after them does not.
      if (dieAt?.test(message)) dead = true;
      return super.record(subject, type, reason, message, options);
    }
  }
  const controller = await startTestController(ns, {
    kube: { ...ns.kube, wire },
    events: new Recorder({ kube: ns.kube }),
    globalEventWebhook: `${receiver.url}/events`,
    stepEvents: true,
  });
  running.push(controller);
  return { controller, dieBeforeStatus: () => (dead = true) };
}

const eventMessages = () =>
  receiver
    .json('/events')
    .map((body) => (body as { metadata: { eventMessage: string } }).metadata.eventMessage);
const hookCalls = () => receiver.received.filter((r) => r.path === '/pre-rollout');

async function stop(controller: RunningController): Promise<void> {
  await controller.stop();
  running.splice(running.indexOf(controller), 1);
}

describe('side effects once across a kill', () => {
  beforeAll(async () => {
    receiver = await startReceiver((request, response) => {
      if (request.path === '/pre-rollout' && holdHooks) {
        held.push(response);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    });
  });
  afterEach(async () => {
    for (const controller of running.splice(0)) await controller.stop();
  });
  afterAll(async () => {
    for (const response of held) response.destroy();
    await receiver?.close();
  });

  it('announces a step once when the controller dies between its Event and the status write', async () => {
    const name = 'announced';
    await ns.apply(ns.podinfo({ name, image: 'example.com/podinfo:1.0.0' }));
    const first = await generation({ dieAtEvent: /advance canary weight 60/ });
    await ns.apply(
      ns.canary(
        { provider: 'istio', analysis: { interval: '10s', threshold: 2, stepWeights: [30, 60] } },
        name,
      ),
    );
    await ns.phase('Initialized', { name });
    await ns.apply(ns.podinfo({ name, image: 'example.com/podinfo:2.0.0' }));
    // The Event is made and its webhook sent; the status still says weight 30.
    await expect
      .poll(eventMessages, { timeout: 120_000, interval: 250 })
      .toContain('advance canary weight 60');
    await stop(first.controller);
    const stored = await ns.phase((c) => c.status?.phase === 'Progressing', { name });
    expect(stored.status?.canaryWeight).toBe(30);

    // The next controller takes the same step again, under the same effect id.
    await generation();
    const done = await ns.phase('Succeeded', { name, timeoutMs: 150_000 });
    expect(done.status?.lastPromotedSpec).toBe(done.status?.lastAppliedSpec);
    const events = await ns.events(name);
    expect(events.get('advance canary weight 60')).toBe(1);
    expect(events.get('advance canary weight 30')).toBe(1);
    // The event hook of the step is called again, under the same key: a receiver drops it.
    const said = receiver.received
      .filter((r) => r.path === '/events')
      .map((r) => ({
        message: (JSON.parse(r.body) as { metadata: { eventMessage: string } }).metadata.eventMessage,
        key: r.headers[IDEMPOTENCY_KEY_HEADER],
      }))
      .filter((e) => e.message === 'advance canary weight 60');
    expect(said.length).toBeGreaterThanOrEqual(1);
    expect(new Set(said.map((e) => e.key)).size).toBe(1);
  }, 300_000);

  it('calls a hook in flight at the kill again under the same idempotency key', async () => {
    const name = 'hooked';
    await ns.apply(ns.podinfo({ name, image: 'example.com/podinfo:1.0.0' }));
    const first = await generation();
    await ns.apply(
      ns.canary(
        {
          provider: 'istio',
          analysis: {
            interval: '10s',
            threshold: 2,
            stepWeights: [50],
            webhooks: [
              { name: 'load-test', type: 'pre-rollout', url: `${receiver.url}/pre-rollout`, timeout: '60s' },
            ],
          },
        },
        name,
      ),
    );
    await ns.phase('Initialized', { name });
    holdHooks = true;
    await ns.apply(ns.podinfo({ name, image: 'example.com/podinfo:2.0.0' }));
    await expect.poll(() => hookCalls().length, { timeout: 120_000, interval: 250 }).toBe(1);
    // Killed with the hook in flight: its answer is never written.
    first.dieBeforeStatus();
    holdHooks = false;
    for (const response of held.splice(0)) response.writeHead(200).end('OK');
    await stop(first.controller);

    await generation();
    await ns.phase('Succeeded', { name, timeoutMs: 150_000 });
    const calls = hookCalls();
    expect(calls).toHaveLength(2);
    const keys = calls.map((call) => call.headers[IDEMPOTENCY_KEY_HEADER]);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(calls.map((call) => (JSON.parse(call.body) as { idempotencyKey: string }).idempotencyKey)).toEqual(
      keys,
    );
  }, 300_000);
});
