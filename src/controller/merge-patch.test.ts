import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual, mergePatchDiff } from './merge-patch.ts';

/** Applies a merge patch the way the apiserver does (RFC 7386). */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

describe('mergePatchDiff', () => {
  it('nulls removed keys, replaces arrays, recurses into objects', () => {
    const before = {
      phase: 'Progressing',
      deadlines: { canaryReady: 'a', pauseUntil: 'b' },
      lastAnalysis: [1, 2],
    };
    const after = { phase: 'Progressing', deadlines: { canaryReady: 'c' }, lastAnalysis: [1] };
    expect(mergePatchDiff(before, after)).toEqual({
      deadlines: { canaryReady: 'c', pauseUntil: null },
      lastAnalysis: [1],
    });
  });

  it('is undefined when nothing changed', () => {
    expect(mergePatchDiff({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } })).toBeUndefined();
  });

  it('applied to before, always gives after (JSON without nulls)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.boolean(),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const object = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), json, { maxKeys: 4 });
    fc.assert(
      fc.property(object, object, (before, after) => {
        const patch = mergePatchDiff(before, after);
        const result = patch === undefined ? before : applyMergePatch(before, patch);
        expect(deepEqual(result, after)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
