import { describe, expect, it } from 'vitest';
import { checkQueryEscaping, parsePromql, unquotePromql } from './escaping.ts';

describe('query templates under hostile values (issue 16 §5)', () => {
  it('keep every label matcher, JSON string and URL part exactly the value, and add nothing', () => {
    const report = checkQueryEscaping({ runs: 300, seed: 16 });
    expect(report.failures).toEqual([]);
    expect(report.cases).toBe(6 * 300);
    // Outside quotes most hostile values are refused; inside quotes only lone surrogates are.
    expect(report.refused).toBeGreaterThan(0);
  });

  it('reads PromQL strings the way Prometheus does', () => {
    expect(unquotePromql(String.raw`"a\"b\\c\n\u00e9"`)).toBe('a"b\\c\né');
    expect(unquotePromql(String.raw`'it\'s'`)).toBe("it's");
    expect(unquotePromql('`raw\\`')).toBe('raw\\');
    expect(() => unquotePromql(String.raw`"\."`)).toThrow(/invalid escape/);
    const parsed = parsePromql('sum by (le) (x{a="1", b=~"2"}) or vector(1)');
    expect(parsed.matchers).toEqual([
      { label: 'a', op: '=', value: '1' },
      { label: 'b', op: '=~', value: '2' },
    ]);
    expect(parsed.groupingLabels).toEqual(['le']);
    expect(parsed.nodes).toContain('Or');
  });
});
