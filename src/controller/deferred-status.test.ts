import { describe, expect, it } from 'vitest';
import { settlesReadinessOnly } from './deferred-status.ts';

describe('settlesReadinessOnly', () => {
  it('holds back the canary or primary turning ready, with its deadline going away', () => {
    expect(
      settlesReadinessOnly({
        deadlines: null,
        machine: { context: { canary: { ready: true, since: null, unreadyMs: 994 } } },
      }),
    ).toBe(true);
    expect(
      settlesReadinessOnly({
        deadlines: { primaryReady: null },
        machine: { context: { primary: { ready: true, since: null, unreadyMs: 1013 } } },
      }),
    ).toBe(true);
  });

  it('writes at once a workload turning unready, a new deadline, or anything else', () => {
    expect(
      settlesReadinessOnly({
        deadlines: { canaryReady: '2026-12-06T03:53:18.501Z' },
        machine: { context: { canary: { ready: false, since: 1, unreadyMs: 0 } } },
      }),
    ).toBe(false);
    expect(
      settlesReadinessOnly({
        machine: { context: { canary: { ready: true }, message: 'advance canary weight 25' } },
      }),
    ).toBe(false);
    expect(
      settlesReadinessOnly({ machine: { context: { canary: { ready: true } } }, canaryWeight: 25 }),
    ).toBe(false);
    expect(settlesReadinessOnly({ machine: { value: 'x', context: { canary: { ready: true } } } })).toBe(
      false,
    );
    expect(settlesReadinessOnly(undefined)).toBe(false);
  });
});
