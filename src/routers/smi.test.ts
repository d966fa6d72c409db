import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import { routesFromTrafficSplit, splitWeight, trafficSplitObject } from './smi.ts';

// Weighted routing, as stepWeight asks for it.
const canary = canaryWith({ analysis: { stepWeight: 10 } });

describe('trafficSplitObject', () => {
  it('splits the apex service between the canary and primary Services, in the chosen API version', () => {
    const split = trafficSplitObject(
      canary,
      'v1alpha1',
      { primaryWeight: 80, canaryWeight: 20, mirror: false, match: false },
      undefined,
    );
    expect(split.apiVersion).toBe('split.smi-spec.io/v1alpha1');
    expect(split.spec).toEqual({
      service: 'web',
      backends: [
        { service: 'web-canary', weight: 20 },
        { service: 'web-primary', weight: 80 },
      ],
    });
    expect(routesFromTrafficSplit(canary, split)).toEqual({
      primaryWeight: 80,
      canaryWeight: 20,
      mirror: false,
      match: false,
    });
  });
});

describe('splitWeight', () => {
  it('reads integers and v1alpha1 quantities', () => {
    expect(splitWeight(40)).toBe(40);
    expect(splitWeight('40')).toBe(40);
    expect(splitWeight('500m')).toBe(0.5);
    expect(splitWeight(undefined)).toBe(0);
  });
});
