import { parser } from '@prometheus-io/lezer-promql';
import fc from 'fast-check';
import { TemplateRenderError, renderTemplate, templateModel } from '../../src/analysis/template.ts';

// Issue 16 §5, "no user-controlled input reaches a PromQL evaluation unescaped": hostile
// values (quotes, backslashes, line breaks, `"}` injections, unicode) rendered into query
// templates, and the rendered text read back with Prometheus' own PromQL grammar
// (@prometheus-io/lezer-promql). Every label matcher must carry exactly the value, and
// nothing else may appear in the query. Callable from the suite and from `npm run chaos`.

/** Strings built to break out of a matcher, plus arbitrary unicode. */
export const hostileString = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      '"}',
      '"} or vector(1) #',
      `'} or vector(1) #`,
      '\\',
      '\\"',
      '"\\',
      'a\nb',
      '\r\n',
      '`',
      '${x}',
      '{{ target }}',
      '.*',
      'ünï©ødé ✓ 𝄞',
      '\u2028',
      '\u0000',
      '\u007f',
      '$1',
    ),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom('"', "'", '\\', '\n', '}', '{', '`', ' ', 'a', '#', '=', '~', '\t', 'é', '😀'),
      maxLength: 30,
    }),
  );

/** Go's strconv.Unquote for PromQL's "…" and '…' strings (raw `…` strings are verbatim). */
export function unquotePromql(literal: string): string {
  const quote = literal[0];
  if (quote === '`') return literal.slice(1, -1);
  const body = literal.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i] as string;
    if (char === quote) throw new Error(`unescaped ${quote} inside ${literal}`);
    if (char === '\n') throw new Error(`a raw line break inside ${JSON.stringify(literal)}`);
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = body[(i += 1)];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      [quote as string]: quote as string,
    };
    if (next !== undefined && next in simple) {
      out += simple[next];
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + length);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length)
        throw new Error(`bad \\${next} escape in ${literal}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += length;
    } else {
      throw new Error(`invalid escape \\${next ?? ''} in ${JSON.stringify(literal)}`);
    }
  }
  return out;
}

interface Matcher {
  label: string;
  op: string;
  value: string;
}

interface ParsedQuery {
  errors: number;
  matchers: Matcher[];
  groupingLabels: string[];
  /** Node names in the tree, to tell that nothing was added (no `or`, no function). */
  nodes: string[];
}

/** Reads a PromQL text with Prometheus' grammar: its matchers, grouping labels and nodes. */
export function parsePromql(query: string): ParsedQuery {
  const tree = parser.parse(query);
  const parsed: ParsedQuery = { errors: 0, matchers: [], groupingLabels: [], nodes: [] };
  const cursor = tree.cursor();
  do {
    const name = cursor.type.name;
    parsed.nodes.push(name);
    if (cursor.type.isError) parsed.errors += 1;
    if (name === 'UnquotedLabelMatcher' || name === 'QuotedLabelMatcher') {
      const node = cursor.node;
      const label = node.getChild('LabelName') ?? node.getChild('QuotedLabelName');
      const op = node.getChild('MatchOp');
      const value = node.getChild('StringLiteral');
      if (label && op && value) {
        parsed.matchers.push({
          label: query.slice(label.from, label.to),
          op: query.slice(op.from, op.to),
          value: unquotePromql(query.slice(value.from, value.to)),
        });
      }
    }
    if (name === 'GroupingLabels') {
      const node = cursor.node;
      for (const label of node.getChildren('LabelName'))
        parsed.groupingLabels.push(query.slice(label.from, label.to));
    }
  } while (cursor.next());
  return parsed;
}

/** RE2's meaning of a regex matcher, enough for names quoted by the renderer. */
const fullMatch = (pattern: string, text: string) => new RegExp(`^(?:${pattern})$`, 'u').test(text);

export interface EscapingReport {
  /** Hostile values tried, per property. */
  cases: number;
  /** Renders refused with a TemplateRenderError (values that cannot be placed). */
  refused: number;
  /** Properties that failed, with fast-check's counterexample. */
  failures: string[];
}

const MODEL_NAME = 'podinfo';

function render(template: string, value: string, dialect: 'promql' | 'query' | 'url', target = MODEL_NAME) {
  const model = templateModel({ name: MODEL_NAME, namespace: 'test', target }, '1m', { v: value });
  try {
    return renderTemplate(template, model, 'escaping check', dialect);
  } catch (error) {
    if (error instanceof TemplateRenderError) return undefined;
    throw error;
  }
}

/**
 * The properties, each over `runs` hostile values: PromQL matchers in "…", '…' and regex
 * matchers carry exactly the value; a value outside quotes is one token or refused; a name
 * in a regex matcher matches only itself; JSON strings and URLs hold exactly the value.
 */
export function checkQueryEscaping(options: { runs?: number; seed?: number } = {}): EscapingReport {
  const runs = options.runs ?? 500;
  const report: EscapingReport = { cases: 0, refused: 0, failures: [] };
  const settings = { numRuns: runs, ...(options.seed === undefined ? {} : { seed: options.seed }) };
  const property = (name: string, check: (value: string) => boolean) => {
    const result = fc.check(
      fc.property(hostileString(), (value) => {
        report.cases += 1;
        return check(value);
      }),
      settings,
    );
    if (result.failed) {
      report.failures.push(
        `${name}: fails for ${JSON.stringify(result.counterexample?.[0])}${result.errorInstance ? ` (${String(result.errorInstance)})` : ''} (seed ${result.seed})`,
      );
    }
  };

  property('promql label matchers carry exactly the value', (value) => {
    const query = render(
      `sum(rate(http_requests_total{a="{{ variables.v }}", b='{{ variables.v }}', c=~"{{ variables.v }}", d!="x{{ variables.v }}y"}[{{ interval }}]))`,
      value,
      'promql',
    );
    if (query === undefined) {
      report.refused += 1;
      return !value.isWellFormed();
    }
    const parsed = parsePromql(query);
    return (
      parsed.errors === 0 &&
      parsed.matchers.length === 4 &&
      parsed.matchers[0]?.value === value &&
      parsed.matchers[1]?.value === value &&
      parsed.matchers[2]?.value === value &&
      parsed.matchers[3]?.value === `x${value}y` &&
      !parsed.nodes.includes('Or') &&
      parsed.nodes.filter((node) => node === 'FunctionCall').length === 1
    );
  });

  property('a value outside quotes is one PromQL token, or refused', (value) => {
    const query = render(`sum by ({{ variables.v }}) (up) > {{ variables.v }}`, value, 'promql');
    if (query === undefined) {
      report.refused += 1;
      return true;
    }
    const parsed = parsePromql(query);
    // A name is a grouping label and a number a number; anything else does not parse.
    return (
      parsed.matchers.length === 0 && !parsed.nodes.includes('Or') && !parsed.nodes.includes('FunctionCall')
    );
  });

  property('a value in a comment stays in the comment', (value) => {
    const query = render(`up # {{ variables.v }}\n`, value, 'promql');
    if (query === undefined) {
      report.refused += 1;
      return true;
    }
    const parsed = parsePromql(query);
    return parsed.errors === 0 && parsed.nodes.filter((node) => node === 'VectorSelector').length === 1;
  });

  property('a name in a regex matcher matches only itself', (value) => {
    // Kubernetes names are DNS-1123; hostile text stands in for any name the model carries.
    const query = render(`up{pod=~"{{ target }}-[a-z0-9]+"}`, value, 'promql', value);
    if (query === undefined) {
      report.refused += 1;
      return !value.isWellFormed();
    }
    const parsed = parsePromql(query);
    const pattern = parsed.matchers[0]?.value ?? '';
    return (
      parsed.errors === 0 &&
      parsed.matchers.length === 1 &&
      fullMatch(pattern, `${value}-abc1`) &&
      (value === 'x' || !fullMatch(pattern, 'x-abc1'))
    );
  });

  property('a JSON string holds exactly the value', (value) => {
    const text = render(`{"filter": "{{ variables.v }}", "n": 1}`, value, 'query');
    if (text === undefined) {
      report.refused += 1;
      return !value.isWellFormed();
    }
    const parsed = JSON.parse(text) as { filter: string; n: number };
    return parsed.filter === value && parsed.n === 1 && Object.keys(parsed).length === 2;
  });

  property('a URL holds exactly the value in its path and its query', (value) => {
    const text = render(
      `https://slo.example.com/v1/{{ variables.v }}/x?window={{ variables.v }}&n=1`,
      value,
      'url',
    );
    if (text === undefined) {
      report.refused += 1;
      return !value.isWellFormed();
    }
    const url = new URL(text);
    const segments = url.pathname.split('/');
    return (
      url.host === 'slo.example.com' &&
      segments.length === 4 &&
      decodeURIComponent(segments[2] ?? '') === value &&
      url.searchParams.get('window') === value &&
      url.searchParams.get('n') === '1' &&
      [...url.searchParams.keys()].length === 2
    );
  });

  return report;
}
