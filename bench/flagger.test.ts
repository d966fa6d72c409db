import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { indentQuotedContinuations } from './flagger.ts';

describe('indentQuotedContinuations', () => {
  it("indents continuation lines of single-quoted scalars so YAML 1.2 reads them as Go's reader does", () => {
    const text = [
      'properties:',
      '  apiVersion:',
      "    description: 'APIVersion defines the versioned schema",
      '    of an object. More info: https://example.com',
      "    and a quote '' inside, end'",
      '    type: string',
      "  kind: { description: 'one line' }",
      "  other: 'two",
      "  lines'",
    ].join('\n');
    const fixed = parse(indentQuotedContinuations(text)) as {
      properties: { apiVersion: { description: string; type: string }; other: string };
    };
    expect(fixed.properties.apiVersion).toEqual({
      description:
        "APIVersion defines the versioned schema of an object. More info: https://example.com and a quote ' inside, end",
      type: 'string',
    });
    expect(fixed.properties.other).toBe('two lines');
  });

  it('leaves well-formed YAML alone', () => {
    const text = "a: 'x'\nb:\n  c: 'it''s'\n";
    expect(indentQuotedContinuations(text)).toBe(text);
  });
});
