import { formatDuration, parseDuration } from '../api/duration.ts';
import type { CanaryContext } from './types.ts';

// MetricTemplate queries use Flagger's Go-template variables: `{{ namespace }}`,
// `{{ target }}`, `{{ interval }}`, `{{ variables.cluster }}` (each a function of the
// model, with missingkey=error). This renders that subset, with `{{- -}}` trimming,
// `{{/* comments */}}` and `{{ index variables "key-with-dash" }}`, and refuses anything
// else so a typo never reaches Prometheus as literal text.
//
// A value never changes the shape of the query it is written into (a Canary author sets
// templateVariables for a template a platform team may own): inside a quoted string it is
// escaped so the string holds exactly the value; outside quotes it must be one plain token
// (see placeValue and docs/decisions/0013-query-escaping.md).

export interface TemplateModel {
  name: string;
  namespace: string;
  target: string;
  service: string;
  ingress: string;
  route: string;
  interval: string;
  variables: Record<string, string>;
  /** A StatefulSet canary's pods and revisions (src/targets/statefulset.ts); unset for other kinds. */
  statefulSet?: StatefulSetArms & { pods: string };
}

/** A StatefulSet's two arms: pod-name regexes and ControllerRevision names. */
export interface StatefulSetArms {
  canaryPods: string;
  primaryPods: string;
  canaryRevision: string;
  primaryRevision: string;
}

/** Functions only a StatefulSet canary has: its arms' pods (regexes, never escaped) and revisions. */
export const STATEFULSET_FUNCTIONS = [
  'pods',
  'canaryPods',
  'primaryPods',
  'canaryRevision',
  'primaryRevision',
] as const;
type StatefulSetFunction = (typeof STATEFULSET_FUNCTIONS)[number];

export const TEMPLATE_FUNCTIONS = [
  'name',
  'namespace',
  'target',
  'service',
  'ingress',
  'route',
  'interval',
] as const;
type TemplateFunction = (typeof TEMPLATE_FUNCTIONS)[number];

export const DEFAULT_METRIC_INTERVAL = '1m';

export class TemplateRenderError extends Error {
  /** What was rendered, e.g. `MetricTemplate istio-system/error-rate`. */
  readonly template: string;
  /** The variable that could not be resolved, when that was the problem. */
  readonly variable: string | undefined;

  constructor(template: string, message: string, variable?: string) {
    super(`${template}: ${message}`);
    this.name = 'TemplateRenderError';
    this.template = template;
    this.variable = variable;
  }
}

/**
 * The model for one metric check: Flagger's defaults (service, ingress and route fall back
 * to the target name) and the interval as a PromQL range ("90s" → "1m30s").
 */
export function templateModel(
  canary: CanaryContext,
  interval: string | undefined,
  variables: Record<string, string> | undefined,
): TemplateModel {
  return {
    name: canary.name,
    namespace: canary.namespace,
    target: canary.target,
    service: canary.service || canary.target,
    ingress: canary.ingress || canary.target,
    route: canary.route || canary.target,
    interval: promqlRange(interval ?? DEFAULT_METRIC_INTERVAL),
    variables: variables ?? {},
    ...(canary.statefulSet
      ? {
          statefulSet: {
            ...canary.statefulSet,
            pods: canary.statefulSet.arm ?? canary.statefulSet.canaryPods,
          },
        }
      : {}),
  };
}

/** A Go duration written the way PromQL accepts it in a range selector. */
export function promqlRange(interval: string): string {
  const ms = parseDuration(interval);
  if (ms === undefined || ms <= 0) {
    throw new Error(`metric interval "${interval}" is not a positive duration; expected e.g. 30s, 1m, 1h30m`);
  }
  // formatDuration rounds to whole seconds above one second, which PromQL needs anyway.
  return formatDuration(ms);
}

type Part = { text: string } | { action: string; source: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VARIABLE_FIELD = /^variables\.([A-Za-z_][A-Za-z0-9_]*)$/;
const INDEX_VARIABLE = /^index\s+variables\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)$/;

function parse(text: string, template: string): Part[] {
  const parts: Part[] = [];
  let position = 0;
  let trimNextText = false;
  while (position < text.length) {
    const open = text.indexOf('{{', position);
    let literal = open === -1 ? text.slice(position) : text.slice(position, open);
    if (trimNextText) literal = literal.replace(/^\s+/, '');
    if (open === -1) {
      parts.push({ text: literal });
      break;
    }
    const close = text.indexOf('}}', open + 2);
    if (close === -1) {
      const line = text.slice(0, open).split('\n').length;
      throw new TemplateRenderError(template, `unclosed "{{" on line ${line}: ${excerptAt(text, open)}`);
    }
    let inner = text.slice(open + 2, close);
    const trimLeft = /^-\s/.test(inner);
    const trimRight = /\s-$/.test(inner);
    if (trimLeft) {
      literal = literal.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (trimRight) inner = inner.slice(0, -1);
    parts.push({ text: literal });
    parts.push({ action: inner.trim(), source: text.slice(open, close + 2) });
    trimNextText = trimRight;
    position = close + 2;
  }
  return parts;
}

function excerptAt(text: string, index: number): string {
  const snippet = text.slice(index, index + 40).replace(/\s+/g, ' ');
  return index + 40 < text.length ? `${snippet}…` : snippet;
}

function evaluateAction(action: string, source: string, model: TemplateModel, template: string): string {
  if (action.startsWith('/*') && action.endsWith('*/')) return '';
  if ((TEMPLATE_FUNCTIONS as readonly string[]).includes(action)) return model[action as TemplateFunction];
  if ((STATEFULSET_FUNCTIONS as readonly string[]).includes(action)) {
    const value = model.statefulSet?.[action as StatefulSetFunction];
    if (value === undefined)
      throw new TemplateRenderError(
        template,
        `{{ ${action} }} is set for StatefulSet canaries only (the pods of each revision)`,
        action,
      );
    return value;
  }
  const field = VARIABLE_FIELD.exec(action);
  const indexed = INDEX_VARIABLE.exec(action);
  const key = field?.[1] ?? indexed?.[1]?.replace(/\\(.)/g, '$1') ?? indexed?.[2];
  if (key !== undefined) {
    const value = model.variables[key];
    if (value === undefined) {
      const known = Object.keys(model.variables);
      throw new TemplateRenderError(
        template,
        `query uses ${source} but the metric's templateVariables has no "${key}" (${
          known.length ? `set: ${known.join(', ')}` : 'none are set'
        })`,
        key,
      );
    }
    return value;
  }
  const word = action.split(/[\s.|(]/, 1)[0] ?? action;
  const supported = `${[...TEMPLATE_FUNCTIONS, ...STATEFULSET_FUNCTIONS].join(', ')}, variables.<key>`;
  const known = [...TEMPLATE_FUNCTIONS, ...STATEFULSET_FUNCTIONS, 'variables', 'index'] as readonly string[];
  if (IDENT.test(word) && !known.includes(word)) {
    throw new TemplateRenderError(
      template,
      `query uses ${source}: "${word}" is not a template variable; use one of ${supported}`,
      word,
    );
  }
  throw new TemplateRenderError(
    template,
    `query uses ${source}, which is not supported; use one of ${supported}`,
  );
}

/**
 * What a template is written in, which decides how a value is placed in it:
 * - `promql`: Prometheus' strings ("…", '…', `…`), `#` comments, regex matchers (=~, !~);
 *   outside quotes a value must be a PromQL name, number or duration.
 * - `query`: any other query language with "…" / '…' strings and backslash escapes
 *   (Datadog, NRQL, InfluxQL, Flux, SignalFlow, Graphite, JSON); outside quotes one token.
 * - `url`: every value is percent-encoded (a path segment or query value, never a `/`, `?` or `&`).
 * - `header`: a header value; line breaks are refused.
 */
export type TemplateDialect = 'promql' | 'query' | 'url' | 'header';

/** The model functions that are Kubernetes names: regex-quoted inside a PromQL regex matcher. */
const NAME_FUNCTIONS: ReadonlySet<string> = new Set(TEMPLATE_FUNCTIONS.filter((name) => name !== 'interval'));

/** Where in the template text an action stands. */
interface Position {
  /** The quote the action stands inside of, if any. */
  quote: '"' | "'" | '`' | undefined;
  /** Inside a PromQL `# …` comment. */
  comment: boolean;
  /** The quoted string is the value of a regex matcher (`=~"…"`, `!~"…"`). */
  regex: boolean;
  /** In a URL, after the `?`. */
  urlQuery: boolean;
}

/** Follows quotes and comments through a literal part of the template (values never move them). */
class Scanner {
  position: Position = { quote: undefined, comment: false, regex: false, urlQuery: false };
  #previous = '';
  readonly #dialect: TemplateDialect;

  constructor(dialect: TemplateDialect) {
    this.#dialect = dialect;
  }

  read(text: string): void {
    if (this.#dialect === 'url' && text.includes('?')) this.position.urlQuery = true;
    if (this.#dialect === 'url' || this.#dialect === 'header') return;
    let escaped = false;
    for (const char of text) {
      const at = this.position;
      if (at.comment) {
        if (char === '\n' || char === '\r') at.comment = false;
      } else if (at.quote) {
        if (escaped) escaped = false;
        else if (char === '\\' && at.quote !== '`') escaped = true;
        else if (char === at.quote) {
          at.quote = undefined;
          at.regex = false;
        }
      } else if (char === '"' || char === "'" || char === '`') {
        at.quote = char;
        at.regex = this.#dialect === 'promql' && /[=!]~\s*$/.test(this.#previous);
      } else if (char === '#' && this.#dialect === 'promql') {
        at.comment = true;
      }
      if (!at.quote && !at.comment) this.#previous = (this.#previous + char).slice(-8);
    }
  }
}

const PROMQL_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const PROMQL_NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const PROMQL_DURATION = /^(?:\d+(?:ms|[smhdwy]))+$/;
const QUERY_TOKEN = /^[\p{L}\p{N}_.:/-]*$/u;
const LINE_BREAK = /[\n\r\u2028\u2029]/;

/** RE2 metacharacters, so a name in a regex matcher matches only itself. */
function quoteRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The body of a "…" or '…' string that holds exactly `value` (Go, PromQL and JSON escapes). */
export function escapeQuoted(value: string, quote: '"' | "'"): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\\' || char === quote) out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029)
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out;
}

function shown(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
}

/**
 * Writes one value where the template put it, so it can never end a string, open one, or
 * add an operator: escaped inside quotes, one plain token outside them.
 */
function placeValue(
  value: string,
  action: string,
  at: Position,
  dialect: TemplateDialect,
  fail: (message: string) => never,
): string {
  if (!value.isWellFormed()) fail(`the value of ${action} is not well-formed unicode (a lone surrogate)`);
  if (dialect === 'url') {
    // A URL parser resolves `.` and `..` path segments, even percent-encoded: refused there.
    if (!at.urlQuery && (value === '.' || value === '..'))
      fail(`the value of ${action}, ${shown(value)}, would move the URL's path`);
    return encodeURIComponent(value);
  }
  if (dialect === 'header') {
    if (/[\n\r\0]/.test(value)) fail(`the value of ${action} has a line break, which a header cannot hold`);
    return value;
  }
  if (at.comment) {
    if (LINE_BREAK.test(value)) fail(`the value of ${action} has a line break, which would end the comment`);
    return value;
  }
  if (at.quote === '`') {
    if (value.includes('`'))
      fail(`the value of ${action} has a backquote, which a \`raw string\` cannot hold`);
    return at.regex && NAME_FUNCTIONS.has(action) ? quoteRegex(value) : value;
  }
  if (at.quote) {
    return escapeQuoted(at.regex && NAME_FUNCTIONS.has(action) ? quoteRegex(value) : value, at.quote);
  }
  if (dialect === 'promql') {
    if (value === '' || PROMQL_NAME.test(value) || PROMQL_NUMBER.test(value) || PROMQL_DURATION.test(value))
      return value;
    fail(
      `the value of ${action}, ${shown(value)}, stands outside a quoted string, where it must be a PromQL name, number or duration; quote it in the template (label="{{ ${action} }}")`,
    );
  }
  if (QUERY_TOKEN.test(value)) return value;
  return fail(
    `the value of ${action}, ${shown(value)}, stands outside a quoted string, where it must be one word of letters, digits and _ . : / -; quote it in the template`,
  );
}

/** The variable an action reads, for errors: `variables.cluster`, `target`. */
function actionName(action: string): string {
  const field = VARIABLE_FIELD.exec(action);
  const indexed = INDEX_VARIABLE.exec(action);
  const key = field?.[1] ?? indexed?.[1]?.replace(/\\(.)/g, '$1') ?? indexed?.[2];
  return key === undefined ? action : `variables.${key}`;
}

/**
 * Renders a query template; throws a TemplateRenderError naming the template and variable.
 * `dialect` says how values are written into the text (see TemplateDialect).
 */
export function renderTemplate(
  text: string,
  model: TemplateModel,
  template: string,
  dialect: TemplateDialect = 'query',
): string {
  const scanner = new Scanner(dialect);
  let out = '';
  for (const part of parse(text, template)) {
    if ('text' in part) {
      scanner.read(part.text);
      out += part.text;
      continue;
    }
    const value = evaluateAction(part.action, part.source, model, template);
    if (part.action.startsWith('/*')) continue;
    const name = actionName(part.action);
    out += placeValue(value, name, scanner.position, dialect, (message) => {
      throw new TemplateRenderError(template, message, name.replace(/^variables\./, ''));
    });
  }
  return out;
}

/** The first problem with a template's syntax or variable names, or undefined; for admission. */
export function checkTemplate(
  text: string,
  variables?: Record<string, string>,
  dialect: TemplateDialect = 'query',
): string | undefined {
  const model: TemplateModel = {
    name: 'x',
    namespace: 'x',
    target: 'x',
    service: 'x',
    ingress: 'x',
    route: 'x',
    interval: '1m',
    variables: variables ?? new Proxy({}, { get: () => 'x' }),
    statefulSet: { pods: 'x', canaryPods: 'x', primaryPods: 'x', canaryRevision: 'x', primaryRevision: 'x' },
  };
  try {
    renderTemplate(text, model, 'query', dialect);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
