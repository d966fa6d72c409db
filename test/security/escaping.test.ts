import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderTemplate, templateModel } from '../../src/analysis/template.ts';
import { hostileString } from '../../bench/security/escaping.ts';
import { query } from '../support/prometheus.ts';

// The same hostile values as bench/security/escaping.ts, read back by the real Prometheus:
// absent() of a selector returns the labels of its equality matchers, so the answer shows
// exactly what value each matcher carried.

describe('hostile templateVariables, as the real Prometheus reads the rendered query', () => {
  it('puts exactly the value in each label matcher, and nothing more in the query', async () => {
    const values = fc.sample(hostileString(), { numRuns: 40, seed: 16 }).filter(
      // Prometheus keeps label values as UTF-8; an empty value means "no such label".
      (value) => value.isWellFormed() && value !== '',
    );
    values.push('"} or vector(1) #', "'} or vector(1) #", 'a\\nb', '\\"', '\u2028 ünï 𝄞');
    for (const value of values) {
      const rendered = renderTemplate(
        `absent(sluice_escaping_probe{double="{{ variables.v }}", single='{{ variables.v }}'})`,
        templateModel({ name: 'c', namespace: 'test', target: 'c' }, '1m', { v: value }),
        'escaping',
        'promql',
      );
      const result = await query(rendered);
      expect(result, rendered).toHaveLength(1);
      expect(result[0]?.metric, rendered).toEqual({ double: value, single: value });
    }
  });
});
