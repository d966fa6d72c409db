import type { z } from 'zod';
import { AlertProvider } from './alert-provider.ts';
import { Canary } from './canary.ts';
import { MetricTemplate } from './metric-template.ts';
import { unsupportedValues } from './support.ts';

/** One problem with an object: the field (`spec.analysis.metrics[0].interval`) and what was expected. */
export interface ValidationIssue {
  path: string;
  message: string;
  /** The condition reason it stalls the object with (default InvalidSpec), e.g. UnsupportedByProvider. */
  reason?: string;
}

/**
 * An error about one field, carrying the values that would work (routerFor's
 * UnsupportedProviderError, targetFor's UnsupportedTargetError): the controller reports it
 * as Stalled naming the field, not as a retried reconcile error.
 */
export interface FieldError {
  readonly field: string;
  readonly supported: readonly string[];
  readonly message: string;
}

/**
 * A thrown error about one field: its message is `<field>: <what was expected>` and its
 * name the subclass's (PlanError, MachineSnapshotError, MatchNotSupportedError).
 */
export class FieldMessageError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = new.target.name;
    this.field = field;
  }
}

export function isFieldError(error: unknown): error is FieldError {
  return (
    error instanceof Error &&
    typeof (error as Partial<FieldError>).field === 'string' &&
    Array.isArray((error as Partial<FieldError>).supported)
  );
}

/** A FieldError as the issue the controller stalls the Canary with, the values that work named. */
export function fieldIssue(error: FieldError): ValidationIssue {
  const at = error.message.indexOf(`${error.field} `);
  const message = at >= 0 ? error.message.slice(at + error.field.length + 1) : error.message;
  const named = error.supported.length === 0 || error.supported.every((value) => message.includes(value));
  return {
    path: error.field,
    message: named ? message : `${message}; expected ${error.supported.join(' or ')}`,
  };
}

export type ParseResult<K extends string, T> =
  ({ ok: true } & Record<K, T>) | { ok: false; issues: ValidationIssue[] };

/**
 * Parses a Canary (from the apiserver, a file or a test) and fills in Flagger's defaults;
 * then refuses the values the schema accepts for Flagger's sake and Sluice does not act on
 * (an unknown provider, a Service target, a KEDA ScaledObject: src/api/support.ts).
 */
export function parseCanary(obj: unknown): ParseResult<'canary', Canary> {
  const result = Canary.safeParse(obj, { reportInput: true });
  if (!result.success) return { ok: false, issues: toIssues(result.error) };
  const unsupported = unsupportedValues(result.data);
  return unsupported.length ? { ok: false, issues: unsupported } : { ok: true, canary: result.data };
}

export function parseMetricTemplate(obj: unknown): ParseResult<'metricTemplate', MetricTemplate> {
  const result = MetricTemplate.safeParse(obj, { reportInput: true });
  return result.success
    ? { ok: true, metricTemplate: result.data }
    : { ok: false, issues: toIssues(result.error) };
}

export function parseAlertProvider(obj: unknown): ParseResult<'alertProvider', AlertProvider> {
  const result = AlertProvider.safeParse(obj, { reportInput: true });
  return result.success
    ? { ok: true, alertProvider: result.data }
    : { ok: false, issues: toIssues(result.error) };
}

/** `['spec', 'analysis', 'metrics', 0, 'interval']` → `spec.analysis.metrics[0].interval` */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$-]*$/.test(part)) text += text ? `.${part}` : part;
    else text += `[${JSON.stringify(String(part))}]`;
  }
  return text;
}

function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue) }));
}

/** A short rendering of the value a person wrote, for "got …". */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'a map',
};

/** Turns a zod issue into "expected …, got …" wording a person can act on. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const got = 'input' in issue ? ` (got ${shown(issue.input)})` : '';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`;
    case 'too_small': {
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      return `must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}${got}`;
    }
    case 'too_big': {
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return `must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}${got}`;
    }
    case 'invalid_value':
      if (issue.values.length === 1) return `must be ${JSON.stringify(issue.values[0])}${got}`;
      return `expected one of ${issue.values.map((value) => String(value)).join(', ')}${got}`;
    case 'invalid_format':
      if (issue.format === 'datetime') return `expected an RFC 3339 time${got}`;
      return `${issue.message}${got}`;
    case 'invalid_union':
      return `expected an integer or a string${got}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

/** The `namespace/name` of an object, as far as it has one. */
export function objectRef(obj: unknown): string {
  const metadata =
    typeof obj === 'object' && obj !== null && 'metadata' in obj
      ? (obj as { metadata: unknown }).metadata
      : undefined;
  const field = (key: string): string | undefined => {
    if (typeof metadata !== 'object' || metadata === null) return undefined;
    const value = (metadata as Record<string, unknown>)[key];
    return typeof value === 'string' && value ? value : undefined;
  };
  const name = field('name') ?? '<unnamed>';
  const namespace = field('namespace');
  return namespace ? `${namespace}/${name}` : name;
}

function kindOf(obj: unknown): string {
  const kind = typeof obj === 'object' && obj !== null ? (obj as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' && kind ? kind : 'object';
}

/** "field: what was expected", without repeating a field the message already names. */
export function issueText(issue: ValidationIssue): string {
  return !issue.path || issue.message.startsWith(issue.path)
    ? issue.message
    : `${issue.path}: ${issue.message}`;
}

/** One line naming the object, each field and what was expected. */
export function formatIssues(obj: unknown, issues: readonly ValidationIssue[]): string {
  return `${kindOf(obj)} ${objectRef(obj)} is invalid: ${issues.map(issueText).join('; ')}`;
}
