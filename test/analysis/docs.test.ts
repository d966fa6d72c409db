import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_METRICS, BUILTIN_QUERY_SETS } from '../../src/analysis/builtins.ts';
import { checkCelExpression } from '../../src/analysis/cel.ts';
import { checkTemplate } from '../../src/analysis/template.ts';
import { parse as parseYaml } from 'yaml';
import { toMetricTemplate } from '../../src/analysis/kube.ts';
import { METRIC_PROVIDER_TYPES, metricProviderTable } from '../../src/api/metric-providers.ts';

/** A markdown table's rows as trimmed cells (prettier pads them; the separator row is left out). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

// docs/metrics.md promises every built-in query verbatim and the whole template library;
// these checks keep that promise when either changes.

const ROOT = join(import.meta.dirname, '../..');

describe('docs/metrics.md and analysis-templates/', () => {
  it('documents every built-in query verbatim', async () => {
    const docs = await readFile(join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const set of Object.values(BUILTIN_QUERY_SETS)) {
      for (const metric of BUILTIN_METRICS) {
        expect(docs, `${set.providers[0]} ${metric}`).toContain(
          `\`\`\`promql\n${set.queries[metric].trim()}\n\`\`\``,
        );
      }
      for (const provider of set.providers) expect(docs).toContain(`\`${provider}\``);
      const grpc: { 'request-success-rate': string } | undefined = 'grpc' in set ? set.grpc : undefined;
      if (grpc) expect(docs).toContain(`\`\`\`promql\n${grpc['request-success-rate'].trim()}\n\`\`\``);
    }
  });

  it('lists every template, each a valid MetricTemplate with a leading comment and a valid query', async () => {
    const docs = await readFile(join(ROOT, 'docs/metrics.md'), 'utf8');
    const files = (await readdir(join(ROOT, 'analysis-templates'))).filter((file) => file.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const file of files) {
      const text = await readFile(join(ROOT, 'analysis-templates', file), 'utf8');
      expect(text.startsWith('# '), `${file} starts with a comment`).toBe(true);
      const template = toMetricTemplate(parseYaml(text), file);
      expect(`${template.metadata.name}.yaml`).toBe(file);
      expect(docs).toContain(`| \`${template.metadata.name}\``);
      expect(checkTemplate(template.spec.query ?? ''), file).toBeUndefined();
      for (const condition of [template.spec.successCondition, template.spec.failureCondition]) {
        if (condition) expect(checkCelExpression(condition), file).toBeUndefined();
      }
    }
  });

  it('holds the provider table of the registry, and a section for every provider', async () => {
    const docs = await readFile(join(ROOT, 'docs/metrics.md'), 'utf8');
    const start = docs.indexOf('| `provider.type`');
    const end = docs.indexOf('\n\n', start);
    expect(tableRows(docs.slice(start, end))).toEqual(tableRows(metricProviderTable()));
    for (const type of METRIC_PROVIDER_TYPES) expect(docs).toContain(`\n#### ${type}\n`);
  });
});
