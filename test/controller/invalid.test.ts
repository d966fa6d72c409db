import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCanary } from '../../src/controller/reconciler.ts';
import { useNamespace } from '../support/kube.ts';
import {
  applyAsUser,
  canaryEvents,
  canaryObject,
  podinfoDeployment,
  startControllerProcess,
  waitForPhase,
  type SluiceProcess,
} from '../support/sluice.ts';

// A Canary the apiserver accepts but Sluice cannot run (a malformed CEL condition, a
// target that does not exist) is marked Stalled with a message naming the field, gets a
// Warning Event, and the controller carries on with every other Canary.

const ns = useNamespace('invalid');
let controller: SluiceProcess;

/** Canary `bad`, whose one metric has `successCondition`. */
const applyBad = (successCondition: string) =>
  applyAsUser(
    ns.kube,
    canaryObject(
      ns.name,
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
    controller = await startControllerProcess({ namespace: ns.name });
    await applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, name: 'good' }));
    await applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, name: 'bad' }));
  });
  afterAll(async () => controller?.kill());

  it('stalls the bad one, naming the field, and serves the good one', async () => {
    await applyBad('result >=');
    await applyAsUser(
      ns.kube,
      canaryObject(ns.name, { provider: 'kubernetes', analysis: { interval: '10s', iterations: 2 } }, 'good'),
    );

    const good = await waitForPhase(ns.kube, ns.name, 'Initialized', { name: 'good' });
    expect(good.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
    );

    const bad = await waitForPhase(
      ns.kube,
      ns.name,
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
    const events = await canaryEvents(ns.kube, ns.name, 'bad');
    expect([...events.keys()].some((m) => m.includes('spec.analysis.metrics[0].successCondition'))).toBe(
      true,
    );
    // Nothing was created for the stalled canary.
    await expect(
      ns.kube.apps.readNamespacedDeployment({ name: 'bad-primary', namespace: ns.name }),
    ).rejects.toThrow();

    // Fixing the spec un-stalls it.
    await applyBad('result >= 0');
    const fixed = await waitForPhase(ns.kube, ns.name, 'Initialized', { name: 'bad' });
    expect(
      (fixed.status?.conditions as { type: string; status: string }[]).find((c) => c.type === 'Stalled')
        ?.status,
    ).toBe('False');
  });

  it('says which target is missing', async () => {
    await applyAsUser(
      ns.kube,
      canaryObject(
        ns.name,
        { provider: 'kubernetes', analysis: { interval: '10s', iterations: 2 } },
        'missing',
      ),
    );
    const canary = await waitForPhase(
      ns.kube,
      ns.name,
      (c) => String(c.status?.message ?? '').includes('missing'),
      {
        name: 'missing',
        timeoutMs: 30_000,
      },
    );
    expect(String(canary.status?.message)).toMatch(/Deployment .*missing/);
    const again = await readCanary(ns.kube, ns.name, 'good');
    expect(again.status?.phase).toBe('Initialized');
  });
});
