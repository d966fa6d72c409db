import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../src/controller/controller.ts';
import { startTestController, useScene } from '../support/scene.ts';

// A bootstrap whose primary never turns ready does not wait in silence: after
// progressDeadlineSeconds the Canary says so (message with why, condition Stalled, one
// Warning Event) and keeps waiting, and a fixed target still finishes the bootstrap.

const ns = useScene('bootstall');
let controller: RunningController;
const STALLED = /^primary not ready within the progress deadline \(5s\): Deployment .*podinfo-primary/;

describe('a bootstrap whose primary is never ready', () => {
  beforeAll(async () => {
    controller = await startTestController(ns);
  });
  afterAll(async () => {
    await controller?.stop();
  });

  it('is Stalled after progressDeadlineSeconds, saying why, and finishes once the target is fixed', async () => {
    // Pods no node will take: Pending for good.
    const unschedulable = { podSpec: { nodeSelector: { 'example.com/pool': 'none' } } };
    await ns.apply(ns.podinfo(unschedulable));
    await ns.apply(
      ns.canary({
        provider: 'kubernetes',
        progressDeadlineSeconds: 5,
        analysis: { interval: '10s', iterations: 2 },
      }),
    );
    const waiting = await ns.phase(
      (c) => c.status?.phase === 'Initializing' && !!c.status.deadlines?.primaryReady,
    );
    expect(Date.parse(waiting.status!.deadlines!.primaryReady!)).toBeGreaterThan(Date.now() - 10_000);

    const stalled = await ns.phase((c) => STALLED.test(c.status?.message ?? ''), { timeoutMs: 60_000 });
    expect(stalled.status?.phase).toBe('Initializing');
    expect(stalled.status?.message).toMatch(/; the bootstrap goes on when it is$/);
    expect(stalled.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'PrimaryNotReady',
    });
    expect(stalled.status?.deadlines).toBeUndefined();
    const said = [...(await ns.events())].filter(([message]) => STALLED.test(message));
    expect(said.map(([, count]) => count)).toEqual([1]);

    await ns.apply(ns.podinfo());
    const done = await ns.phase('Initialized', { timeoutMs: 60_000 });
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'False' });
    expect(done.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });
});
