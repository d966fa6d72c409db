import { describe, expect, it } from 'vitest';
import { PodChecks } from './pod-checks.ts';

const key = { kind: 'Deployment', namespace: 'apps', name: 'podinfo', uid: 'u1', resourceVersion: '10' };

describe('PodChecks', () => {
  it('is fresh only for the resourceVersion the healthy pods were read at, within the max age', () => {
    const checks = new PodChecks({ maxAgeMs: 1000 });
    expect(checks.fresh(key, 0)).toBe(false);
    checks.record(key, true, 0);
    expect(checks.fresh(key, 999)).toBe(true);
    expect(checks.fresh(key, 1000)).toBe(false);
    expect(checks.fresh({ ...key, resourceVersion: '11' }, 10)).toBe(false);
    expect(checks.fresh({ ...key, uid: 'u2' }, 10)).toBe(false);
  });

  it('forgets a workload whose pods were found failing, and never trusts one without a resourceVersion', () => {
    const checks = new PodChecks();
    checks.record(key, true, 0);
    checks.record(key, false, 1);
    expect(checks.fresh(key, 2)).toBe(false);
    const unversioned = { ...key, resourceVersion: undefined };
    checks.record(unversioned, true, 0);
    expect(checks.fresh(unversioned, 1)).toBe(false);
  });

  it('stays bounded', () => {
    const checks = new PodChecks({ maxEntries: 2 });
    checks.record({ ...key, name: 'a' }, true, 0);
    checks.record({ ...key, name: 'b' }, true, 0);
    checks.record({ ...key, name: 'c' }, true, 0);
    expect(checks.fresh({ ...key, name: 'a' }, 1)).toBe(false);
    expect(checks.fresh({ ...key, name: 'c' }, 1)).toBe(true);
  });
});
