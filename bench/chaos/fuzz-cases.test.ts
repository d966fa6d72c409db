import { describe, expect, it } from 'vitest';
import { fuzzCases } from './fuzz-cases.ts';
import { namesField } from './fuzz-names.ts';

describe('fuzzCases', () => {
  it('draws the same objects for the same seed, all three kinds, each with what was done to it', () => {
    const a = fuzzCases(200, 7, 'ns', 'http://127.0.0.1:1');
    const b = fuzzCases(200, 7, 'ns', 'http://127.0.0.1:1');
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(new Set(a.map((c) => c.kind))).toEqual(new Set(['Canary', 'MetricTemplate', 'AlertProvider']));
    for (const fuzz of a) {
      expect(fuzz.mutations.length).toBeGreaterThan(0);
      expect((fuzz.object.metadata as { namespace: string }).namespace).toBe('ns');
    }
  });

  it('breaks different fields with different seeds', () => {
    const mutations = (seed: number) => fuzzCases(50, seed, 'ns', 'http://x').flatMap((c) => c.mutations);
    expect(mutations(1)).not.toEqual(mutations(2));
  });
});

describe('namesField', () => {
  it('tells a message that points at a field from one that does not', () => {
    expect(namesField('Canary.sluice.dev "x" is invalid: spec.analysis.interval: Invalid value')).toBe(true);
    expect(namesField('metadata.name: Invalid value: "UPPER"')).toBe(true);
    expect(namesField('something went wrong')).toBe(false);
  });
});
