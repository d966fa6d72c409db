import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// A Canary the apiserver accepts but Sluice cannot run (a malformed CEL condition, a
// target that does not exist) is marked Stalled with a message naming the field, gets a
// Warning Event, and the controller carries on with every other Canary.

const ns = useScene('invalid');
let controller: SluiceProcess;

/** Canary `bad`, whose one metric has `successCondition`. */
const applyBad = (successCondition: string) =>
  ns.apply(
    ns.canary(
      {
        provider: 'kubernetes',
        analysis: {
          interval: '10s',
          iterations: 2,
          metrics: [{ name: 'errors', query: 'sum(up)', successCondition }],
        },
      },
      'bad',
    ),
  );

describe('invalid canaries', () => {
  beforeAll(async () => {
    controller = await ns.startController();
    await ns.apply(ns.podinfo({ name: 'good' }));
    await ns.apply(ns.podinfo({ name: 'bad' }));
  });
  afterAll(async () => controller?.kill());

  it('stalls the bad one, naming the field, and serves the good one', async () => {
    await applyBad('result >=');
    await ns.apply(
      ns.canary({ provider: 'kubernetes', analysis: { interval: '10s', iterations: 2 } }, 'good'),
    );

    const good = await ns.phase('Initialized', { name: 'good' });
    expect(good.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
    );

    const bad = await ns.phase(
      (c) =>
        (c.status?.conditions as { type: string; status: string }[] | undefined)?.some(
          (x) => x.type === 'Stalled' && x.status === 'True',
        ) ?? false,
      { name: 'bad' },
    );
    const stalled = (
      bad.status?.conditions as { type: string; status: string; reason: string; message: string }[]
    ).find((c) => c.type === 'Stalled')!;
    expect(stalled.reason).toBe('InvalidSpec');
    expect(stalled.message).toContain('spec.analysis.metrics[0].successCondition');
    expect(bad.status?.observedGeneration).toBe(bad.metadata.generation);
    const events = await ns.events('bad');
    expect([...events.keys()].some((m) => m.includes('spec.analysis.metrics[0].successCondition'))).toBe(
      true,
    );
    // Nothing was created for the stalled canary.
    await expect(
      ns.kube.apps.readNamespacedDeployment({ name: 'bad-primary', namespace: ns.name }),
    ).rejects.toThrow();

    // Fixing the spec un-stalls it.
    await applyBad('result >= 0');
    const fixed = await ns.phase('Initialized', { name: 'bad' });
    expect(
      (fixed.status?.conditions as { type: string; status: string }[]).find((c) => c.type === 'Stalled')
        ?.status,
    ).toBe('False');
  });

  it('says which target is missing', async () => {
    await ns.apply(
      ns.canary({ provider: 'kubernetes', analysis: { interval: '10s', iterations: 2 } }, 'missing'),
    );
    const canary = await ns.phase((c) => String(c.status?.message ?? '').includes('missing'), {
      name: 'missing',
      timeoutMs: 30_000,
    });
    expect(String(canary.status?.message)).toMatch(/Deployment .*missing/);
    const again = await ns.read('good');
    expect(again.status?.phase).toBe('Initialized');
  });
});
