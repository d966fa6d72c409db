import { stringify } from 'yaml';
import { z } from 'zod';
import { AlertProviderSpec, AlertProviderStatus } from './alert-provider.ts';
import { CanarySpec } from './canary.ts';
import { GROUP, VERSION } from './common.ts';
import { MetricTemplateSpec, MetricTemplateStatus } from './metric-template.ts';
import { CanaryStatus } from './status.ts';

// The CRDs are generated from the zod schemas (one source of truth, see
// docs/decisions/0001-crds-from-zod.md). zod's JSON Schema is close to what Kubernetes
// wants; `structural()` turns it into a structural OpenAPI v3 schema.

export type JsonSchema = { [key: string]: unknown };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Keys Kubernetes does not accept in a structural schema, or that zod adds for its own use. */
const DROPPED_KEYS = new Set(['$schema', 'id', '$id']);

/** Key order in the generated YAML, so diffs of the CRDs stay readable. */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'required',
  'items',
  'properties',
  'additionalProperties',
];

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ordered(node: JsonSchema): JsonSchema {
  const keys = Object.keys(node).sort((a, b) => {
    const rank = (key: string) => (KEY_ORDER.includes(key) ? KEY_ORDER.indexOf(key) : KEY_ORDER.length);
    return rank(a) - rank(b) || (rank(a) === KEY_ORDER.length ? a.localeCompare(b) : 0);
  });
  return Object.fromEntries(keys.map((key) => [key, node[key]]));
}

export class StructuralSchemaError extends Error {
  constructor(path: string, problem: string) {
    super(`${path || '<root>'}: ${problem}`);
    this.name = 'StructuralSchemaError';
  }
}

/**
 * Rewrites zod's JSON Schema into a Kubernetes structural schema:
 * int-or-string unions become `x-kubernetes-int-or-string`, open objects become
 * `x-kubernetes-preserve-unknown-fields`, `additionalProperties: false` and zod's
 * safe-integer bounds go, and anything structural schemas forbid ($ref, anyOf, …) is an error.
 */
export function structural(input: JsonSchema, path = ''): JsonSchema {
  const node: JsonSchema = {};
  for (const [key, value] of Object.entries(input)) if (!DROPPED_KEYS.has(key)) node[key] = value;

  if (node['x-kubernetes-int-or-string'] === true) {
    delete node.anyOf;
    delete node.oneOf;
    delete node.type;
    return ordered(node);
  }
  for (const forbidden of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', '$defs', 'definitions']) {
    if (forbidden in node)
      throw new StructuralSchemaError(path, `"${forbidden}" is not allowed in a structural schema`);
  }

  // Kubernetes checks date-time itself; zod's lookup-table regex for it is just noise.
  if (node.format === 'date-time') delete node.pattern;

  if (node.type === 'integer' || node.type === 'number') {
    if (node.maximum === MAX_SAFE) delete node.maximum;
    if (node.minimum === -MAX_SAFE) delete node.minimum;
  }

  if (node.type === 'object') {
    const additional = node.additionalProperties;
    if (additional === false) delete node.additionalProperties;
    else if (additional === true || (isObject(additional) && Object.keys(additional).length === 0)) {
      delete node.additionalProperties;
      node['x-kubernetes-preserve-unknown-fields'] = true;
    }
    if (isObject(node.properties) && Object.keys(node.properties).length === 0) delete node.properties;
    if (isObject(node.properties)) {
      node.properties = Object.fromEntries(
        Object.entries(node.properties).map(([name, child]) => {
          if (!isObject(child))
            throw new StructuralSchemaError(`${path}.${name}`, 'expected a schema object');
          return [name, structural(child, `${path}.${name}`)];
        }),
      );
    }
    if (isObject(node.additionalProperties)) {
      if (node.properties) {
        throw new StructuralSchemaError(path, 'properties and additionalProperties cannot be combined');
      }
      node.additionalProperties = structural(node.additionalProperties, `${path}.*`);
    }
    if (Array.isArray(node.required) && node.required.length === 0) delete node.required;
  } else if (node.type === 'array') {
    if (!isObject(node.items)) throw new StructuralSchemaError(path, 'an array needs an items schema');
    node.items = structural(node.items, `${path}[]`);
  } else if (node.type === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    throw new StructuralSchemaError(path, 'every schema needs a type');
  }
  return ordered(node);
}

/** The structural schema of a zod schema, as a person writes objects (defaults optional). */
export function structuralSchema(schema: z.ZodType): JsonSchema {
  const raw = z.toJSONSchema(schema, {
    io: 'input',
    target: 'openapi-3.0',
    unrepresentable: 'throw',
  }) as JsonSchema;
  return structural(raw);
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

/** kubectl's own AGE column, for the kinds that have no status worth a column. */
const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const CRD_DEFINITIONS: readonly CrdDefinition[] = [
  {
    kind: 'Canary',
    plural: 'canaries',
    shortNames: ['scn'],
    description:
      'A progressive release of a Deployment or DaemonSet: traffic shifting checked by metrics and webhooks',
    spec: CanarySpec,
    status: CanaryStatus,
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.phase' },
      { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight' },
      { name: 'FailedChecks', type: 'integer', jsonPath: '.status.failedChecks', priority: 1 },
      { name: 'Interval', type: 'string', jsonPath: '.spec.analysis.interval', priority: 1 },
      { name: 'Mirror', type: 'boolean', jsonPath: '.spec.analysis.mirror', priority: 1 },
      { name: 'StepWeight', type: 'integer', jsonPath: '.spec.analysis.stepWeight', priority: 1 },
      { name: 'MaxWeight', type: 'integer', jsonPath: '.spec.analysis.maxWeight', priority: 1 },
      { name: 'LastTransitionTime', type: 'string', jsonPath: '.status.lastTransitionTime' },
    ],
  },
  {
    kind: 'MetricTemplate',
    plural: 'metrictemplates',
    shortNames: ['smt'],
    description: 'A reusable metric query for canary analysis, with the provider that runs it',
    spec: MetricTemplateSpec,
    status: MetricTemplateStatus,
    printerColumns: [{ name: 'Provider', type: 'string', jsonPath: '.spec.provider.type' }, AGE_COLUMN],
  },
  {
    kind: 'AlertProvider',
    plural: 'alertproviders',
    shortNames: ['sap'],
    description:
      'Where canary notifications are sent (Slack, Microsoft Teams, Discord, Google Chat, a generic webhook)',
    spec: AlertProviderSpec,
    status: AlertProviderStatus,
    printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.spec.type' }, AGE_COLUMN],
  },
];

/** The CustomResourceDefinition object for one kind. */
export function buildCrd(definition: CrdDefinition): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        // Kubernetes' convention: the singular is the kind in lower case.
        singular: definition.kind.toLowerCase(),
        shortNames: definition.shortNames,
        categories: ['sluice'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: {
            openAPIV3Schema: {
              description: definition.description,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { description: 'sluice.dev/v1alpha1', type: 'string' },
                kind: { description: definition.kind, type: 'string' },
                metadata: { type: 'object' },
                spec: structuralSchema(definition.spec),
                status: structuralSchema(definition.status),
              },
            },
          },
        },
      ],
    },
  };
}

export const CRD_HEADER =
  '# Generated from the zod schemas in src/api by scripts/gen-crds.ts (npm run gen:crds). Do not edit.\n';

/** Every CRD as a file name under crds/ and its YAML text. */
export function renderCrds(): { file: string; text: string }[] {
  return CRD_DEFINITIONS.map((definition) => ({
    file: `${GROUP}_${definition.plural}.yaml`,
    text: CRD_HEADER + stringify(buildCrd(definition), { lineWidth: 0 }),
  }));
}
