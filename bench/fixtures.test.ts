import { describe, expect, it } from 'vitest';
import { parseCanary } from '../src/api/validate.ts';
import { canary, deployment, virtualServiceCanaryWeight, workloadNames } from './fixtures.ts';

const analysis = { interval: '10s', threshold: 5, stepWeight: 10, maxWeight: 50 };

describe('benchmark fixtures', () => {
  it('gives both controllers the same Canary spec, apiVersion aside', () => {
    const sluice = canary('sluice', 'ns', 'app-0000', analysis);
    const flagger = canary('flagger', 'ns', 'app-0000', analysis);
    expect(sluice.apiVersion).toBe('sluice.dev/v1alpha1');
    expect(flagger.apiVersion).toBe('flagger.app/v1beta1');
    expect(flagger.spec).toEqual(sluice.spec);
  });

  it('is a valid Sluice Canary', () => {
    const parsed = parseCanary(canary('sluice', 'ns', 'app-0000', analysis));
    expect(parsed.ok).toBe(true);
  });

  it('makes a new revision by changing the pod template only', () => {
    const before = deployment('ns', 'a', 0);
    const after = deployment('ns', 'a', 1);
    expect(after.spec.template).not.toEqual(before.spec.template);
    expect({ ...after.spec, template: null }).toEqual({ ...before.spec, template: null });
    expect(before.spec).not.toHaveProperty('replicas');
  });

  it('names workloads in order with fixed width', () => {
    expect(workloadNames(3)).toEqual(['app-0000', 'app-0001', 'app-0002']);
    expect(workloadNames(12000, 'rb')[11999]).toBe('rb-11999');
  });
});

describe('virtualServiceCanaryWeight', () => {
  const vs = (route: unknown[]) => ({ spec: { http: [{ match: [{}], route: [] }, { route }] } });

  it("reads the canary destination's weight of the default route (Sluice and Flagger alike)", () => {
    const weighted = vs([
      { destination: { host: 'app-primary' }, weight: 80 },
      { destination: { host: 'app-canary' }, weight: 20 },
    ]);
    expect(virtualServiceCanaryWeight(weighted, 'app')).toBe(20);
    expect(
      virtualServiceCanaryWeight(
        vs([{ destination: { host: 'app-canary.ns.svc.cluster.local' }, weight: 5 }]),
        'app',
      ),
    ).toBe(5);
    expect(virtualServiceCanaryWeight(vs([{ destination: { host: 'app-primary' } }]), 'app')).toBe(0);
    expect(virtualServiceCanaryWeight({ spec: {} }, 'app')).toBeUndefined();
  });
});
