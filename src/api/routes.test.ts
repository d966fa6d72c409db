import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrimaryOnly, PRIMARY_ONLY, sameRoutes, type Routes } from './routes.ts';

const routes = fc.record({
  primaryWeight: fc.integer({ min: 0, max: 100 }),
  canaryWeight: fc.integer({ min: 0, max: 100 }),
  mirror: fc.boolean(),
  match: fc.boolean(),
});
const split = (canaryWeight: number, more: Partial<Routes> = {}): Routes => ({
  primaryWeight: 100 - canaryWeight,
  canaryWeight,
  mirror: false,
  match: false,
  ...more,
});

describe('sameRoutes', () => {
  it('is an equivalence: reflexive and symmetric, and true for equal routes', () => {
    fc.assert(
      fc.property(routes, routes, (a, b) => {
        expect(sameRoutes(a, a)).toBe(true);
        expect(sameRoutes(a, { ...a })).toBe(true);
        expect(sameRoutes(a, b)).toBe(sameRoutes(b, a));
      }),
    );
  });

  it('tells apart other weights and a mirror turned on or off', () => {
    expect(sameRoutes(split(10), split(20))).toBe(false);
    expect(sameRoutes(split(0), split(0, { mirror: true }))).toBe(false);
    expect(sameRoutes({ ...split(10), primaryWeight: 80 }, split(10))).toBe(false);
  });

  it('tells apart match on and off while the canary gets traffic or a mirror', () => {
    expect(sameRoutes(split(100, { match: true }), split(100))).toBe(false);
    expect(sameRoutes(split(0, { mirror: true, match: true }), split(0, { mirror: true }))).toBe(false);
  });

  it('ignores match when no request reaches the canary (a drift check must not flap on it)', () => {
    expect(sameRoutes(split(0, { match: true }), PRIMARY_ONLY)).toBe(true);
    expect(sameRoutes(PRIMARY_ONLY, split(0, { match: true }))).toBe(true);
  });
});

describe('isPrimaryOnly', () => {
  it('is true only when nothing reaches the canary and no match is set', () => {
    expect(isPrimaryOnly(PRIMARY_ONLY)).toBe(true);
    expect(isPrimaryOnly(split(1))).toBe(false);
    expect(isPrimaryOnly(split(0, { mirror: true }))).toBe(false);
    expect(isPrimaryOnly(split(0, { match: true }))).toBe(false);
  });
});
