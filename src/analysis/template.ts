import { formatDuration, parseDuration } from '../api/duration.ts';
import type { CanaryContext } from './types.ts';

// MetricTemplate queries use Flagger's Go-template variables: `{{ namespace }}`,
// `{{ target }}`, `{{ interval }}`, `{{ variables.cluster }}` (each a function of the
// model, with missingkey=error). This renders that subset, with `{{- -}}` trimming,
// `{{/* comments */}}` and `{{ index variables "key-with-dash" }}`, and refuses anything
// else so a typo never reaches Prometheus as literal text.

export interface TemplateModel {
  name: string;
  namespace: string;
  target: string;
  service: string;
  ingress: string;
  route: string;
  interval: string;
  variables: Record<string, string>;
}

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
  const supported = `${TEMPLATE_FUNCTIONS.join(', ')}, variables.<key>`;
  const known = [...TEMPLATE_FUNCTIONS, 'variables', 'index'] as readonly string[];
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

/** Renders a query template; throws a TemplateRenderError naming the template and variable. */
export function renderTemplate(text: string, model: TemplateModel, template: string): string {
  return parse(text, template)
    .map((part) => ('text' in part ? part.text : evaluateAction(part.action, part.source, model, template)))
    .join('');
}

/** The first problem with a template's syntax or variable names, or undefined; for admission. */
export function checkTemplate(text: string, variables?: Record<string, string>): string | undefined {
  const model: TemplateModel = {
    name: 'x',
    namespace: 'x',
    target: 'x',
    service: 'x',
    ingress: 'x',
    route: 'x',
    interval: '1m',
    variables: variables ?? new Proxy({}, { get: () => 'x' }),
  };
  try {
    renderTemplate(text, model, 'query');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
