import { CRD_DEFINITIONS, structuralSchema, type JsonSchema } from './crd.ts';
import { DURATION_PATTERN } from './duration.ts';

// The field tables in docs/api.md are generated from the same schemas as the CRDs, so
// the reference cannot drift from what the apiserver enforces.

export interface FieldRow {
  path: string;
  type: string;
  default?: string;
  description: string;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function properties(node: JsonSchema): [string, JsonSchema][] {
  return isObject(node.properties) ? (Object.entries(node.properties) as [string, JsonSchema][]) : [];
}

const described = (node: JsonSchema): boolean =>
  typeof node.description === 'string' && node.description.length > 0;

function range(node: JsonSchema): string {
  const min = node.minimum;
  const max = node.maximum;
  if (typeof min === 'number' && typeof max === 'number') return ` ${min}–${max}`;
  if (typeof min === 'number') return ` ≥ ${min}`;
  if (typeof max === 'number') return ` ≤ ${max}`;
  return '';
}

/** A short type name a person reads: `duration`, `integer 1–100`, `list of object`, `a | b`. */
export function typeName(node: JsonSchema): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'integer or string';
  if (Array.isArray(node.enum)) return node.enum.map((value) => String(value)).join(' \\| ');
  switch (node.type) {
    case 'string':
      if (node.pattern === DURATION_PATTERN) return 'duration';
      if (node.format === 'date-time') return 'RFC 3339 time';
      return 'string';
    case 'integer':
      return `integer${range(node)}`;
    case 'number':
      return `number${range(node)}`;
    case 'boolean':
      return 'boolean';
    case 'array':
      return `list of ${isObject(node.items) ? typeName(node.items) : 'any'}`;
    case 'object':
      if (isObject(node.additionalProperties)) return `map of ${typeName(node.additionalProperties)}`;
      return 'object';
    default:
      return 'any';
  }
}

/** Fields worth a row: descends while every child is described (upstream passthrough types are not). */
export function fieldRows(schema: JsonSchema, prefix = ''): FieldRow[] {
  const rows: FieldRow[] = [];
  const visit = (node: JsonSchema, path: string): void => {
    const target = node.type === 'array' && isObject(node.items) ? node.items : node;
    const childPath = node.type === 'array' ? `${path}[]` : path;
    const children = properties(target);
    if (children.length === 0 || !children.every(([, child]) => described(child))) return;
    const required = new Set(Array.isArray(target.required) ? (target.required as string[]) : []);
    for (const [name, child] of children) {
      const fieldPath = childPath ? `${childPath}.${name}` : name;
      rows.push({
        path: fieldPath,
        type: typeName(child) + (required.has(name) ? ', required' : ''),
        ...(child.default !== undefined ? { default: JSON.stringify(child.default) } : {}),
        description: String(child.description),
      });
      visit(child, fieldPath);
    }
  };
  visit(schema, prefix);
  return rows;
}

/** Paths of objects where some fields are described and some are not (the docs would skip them). */
export function partlyDescribed(schema: JsonSchema, path = ''): string[] {
  const found: string[] = [];
  const target = schema.type === 'array' && isObject(schema.items) ? schema.items : schema;
  const children = properties(target);
  const count = children.filter(([, child]) => described(child)).length;
  if (count > 0 && count < children.length) found.push(path || '<root>');
  for (const [name, child] of children)
    found.push(...partlyDescribed(child, path ? `${path}.${name}` : name));
  return found;
}

/** Cross-field rules (CEL) with the message the apiserver returns. */
export function ruleRows(schema: JsonSchema, path = ''): { path: string; message: string }[] {
  const rows: { path: string; message: string }[] = [];
  const rules = schema['x-kubernetes-validations'];
  if (Array.isArray(rules)) {
    for (const rule of rules as { message: string; fieldPath?: string }[]) {
      rows.push({ path: path + (rule.fieldPath ?? ''), message: rule.message });
    }
  }
  if (schema.type === 'array' && isObject(schema.items)) {
    rows.push(...ruleRows(schema.items, `${path}[]`));
    return rows;
  }
  for (const [name, child] of properties(schema))
    rows.push(...ruleRows(child, path ? `${path}.${name}` : name));
  return rows;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(rows: FieldRow[]): string {
  const lines = ['| Field | Type | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const type = row.type.replace(/(?<!\\)\|/g, '\\|');
    lines.push(
      `| \`${row.path}\` | ${type} | ${row.default ? `\`${row.default}\`` : ''} | ${escapeCell(row.description)} |`,
    );
  }
  return lines.join('\n');
}

/** The generated block for one kind's spec or status. */
export function sectionFor(kind: string, part: 'spec' | 'status'): string {
  const definition = CRD_DEFINITIONS.find((candidate) => candidate.kind === kind);
  if (!definition) throw new Error(`no CRD definition for kind ${kind}`);
  const schema = structuralSchema(definition[part]);
  const parts = [table(fieldRows(schema, part))];
  const rules = ruleRows(schema, part);
  if (rules.length > 0) {
    parts.push('', 'Rules checked by the apiserver (CEL) and by Sluice when it reads the object:', '');
    for (const rule of rules) parts.push(`- \`${rule.path}\`: ${rule.message}`);
  }
  return parts.join('\n');
}

const MARKER = /<!-- generated:(\w+)\.(spec|status) -->\n[\s\S]*?<!-- end generated -->/g;

/**
 * Replaces every `<!-- generated:Kind.spec -->` … `<!-- end generated -->` block in the
 * docs with the current tables; text outside the markers is left as written.
 */
export function renderApiDocs(existing: string): string {
  return existing.replace(
    MARKER,
    (_match, kind: string, part: 'spec' | 'status') =>
      `<!-- generated:${kind}.${part} -->\n${sectionFor(kind, part)}\n<!-- end generated -->`,
  );
}
