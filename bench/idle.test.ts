import { describe, expect, it } from 'vitest';
import { emptyTally } from './audit.ts';
import { idleNodes, perMinute } from './idle.ts';

describe('perMinute', () => {
  it('gives all requests and each verb per minute, zero for verbs not seen', () => {
    const tally = { ...emptyTally(), total: 37, byVerb: { watch: 36, list: 1 } };
    expect(perMinute('api_rpm', tally, 120)).toEqual({
      api_rpm: 18.5,
      api_rpm_get: 0,
      api_rpm_list: 0.5,
      api_rpm_watch: 18,
      api_rpm_create: 0,
      api_rpm_update: 0,
      api_rpm_patch: 0,
      api_rpm_delete: 0,
    });
  });
});

describe('idleNodes', () => {
  it('gives room for a target and a primary pod per canary, 4000 pods a node, at least two nodes', () => {
    // Two nodes (10 000 pods) held 10 000 canaries' primaries but not their targets as well.
    expect([100, 4000, 5000, 10_000].map(idleNodes)).toEqual([2, 2, 3, 5]);
  });
});
