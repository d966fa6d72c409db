import { afterAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../src/controller/controller.ts';
import type { WireObjectApi } from '../../src/kube/wire.ts';
import { ROLLOUT_SPEC, startTestController, useScene } from '../support/scene.ts';

// What a resting canary costs the apiserver (issue 19: API requests per minute independent of
// the number of canaries). Its resync reconciles and a cold start over it read everything
// from the informers: no pod list while the workloads' status says ready, no GET of its
// Services, DestinationRules or Deployments. Measured at scale by `npm run bench -- idle`.

const ns = useScene('ctl-idle');
const controllers: RunningController[] = [];
afterAll(async () => {
  for (const controller of controllers) await controller.stop();
});

/** Every call the controller makes through its client, as `method kind-or-path`. */
function recordingWire(wire: WireObjectApi): { wire: WireObjectApi; calls: string[] } {
  const calls: string[] = [];
  const recorded = new Proxy(wire, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const [first, second] = args as [unknown, unknown];
        const what =
          property === 'request'
            ? `${String(first)} ${String(second)}`
            : property === 'listObjects'
              ? String(second)
              : String((first as { kind?: string } | undefined)?.kind ?? first);
        calls.push(`${String(property)} ${what}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { wire: recorded, calls };
}

async function reconciles(controller: RunningController): Promise<number> {
  const metric = await controller.metrics.reconcileDuration.get();
  return metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

/** Waits for `n` more reconciles; the calls made meanwhile. */
async function callsOver(controller: RunningController, calls: string[], n: number): Promise<string[]> {
  const from = calls.length;
  const target = (await reconciles(controller)) + n;
  const deadline = Date.now() + 30_000;
  while ((await reconciles(controller)) < target) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} reconciles in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return calls.slice(from);
}

describe('a resting canary', () => {
  it('is resynced without a request to the apiserver', async () => {
    const { wire, calls } = recordingWire(ns.kube.wire);
    const controller = await startTestController(ns, { kube: { ...ns.kube, wire }, resyncMs: 500 });
    controllers.push(controller);
    await ns.initialize(ROLLOUT_SPEC, 'example.com/podinfo:1.0.0');
    // The bootstrap's last writes (status held back until readiness settles) take a few passes.
    let quiet: string[] = [];
    for (let pass = 0; pass < 20; pass += 1) {
      quiet = await callsOver(controller, calls, 3);
      if (quiet.length === 0) break;
    }
    expect(quiet).toEqual([]);
    // And it stays so.
    expect(await callsOver(controller, calls, 5)).toEqual([]);
    await controller.stop();
  });

  it('costs a cold start no read of its pods, Services, routing or workloads', async () => {
    const { wire, calls } = recordingWire(ns.kube.wire);
    const controller = await startTestController(ns, { kube: { ...ns.kube, wire }, resyncMs: 500 });
    controllers.push(controller);
    await callsOver(controller, calls, 2);
    // What is left is start-up's own: the informers' first lists and the chat outbox's sweep.
    const first = [...calls];
    const perCanary = first.filter((call) => !call.startsWith('request GET') && call !== 'listObjects Event');
    expect(perCanary).toEqual([]);
    expect(first.some((call) => call.startsWith('request GET /api/v1/namespaces/'))).toBe(true);
    expect((await ns.read()).status?.phase).toBe('Initialized');
  });
});
