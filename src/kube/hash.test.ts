import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shortHash, stableStringify } from './hash.ts';

describe('stableStringify', () => {
  it('serialises objects with sorted keys, whatever order they were built in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(stableStringify(reversed)).toBe(stableStringify(object));
      }),
    );
    expect(stableStringify({ b: 1, a: [2, { d: 1, c: null }] })).toBe('{"a":[2,{"c":null,"d":1}],"b":1}');
  });
});

describe('shortHash', () => {
  it('is 16 hex digits, equal for equal text', () => {
    expect(shortHash('a')).toMatch(/^[0-9a-f]{16}$/);
    expect(shortHash('a')).toBe(shortHash('a'));
    expect(shortHash('a')).not.toBe(shortHash('b'));
  });
});
