import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CANARY_COLUMNS } from '../../test/support/canaries.ts';
import { withRules } from './common.ts';
import {
  CRD_DEFINITIONS,
  StructuralSchemaError,
  buildCrd,
  renderCrds,
  structural,
  structuralSchema,
  type JsonSchema,
} from './crd.ts';
import { fieldRows, partlyDescribed, renderApiDocs, ruleRows } from './reference.ts';

type Crd = {
  spec: {
    names: { shortNames: string[]; kind: string };
    versions: {
      subresources: { status: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: JsonSchema & { properties: { spec: JsonSchema; status: JsonSchema } } };
    }[];
  };
};

const canaryCrd = buildCrd(CRD_DEFINITIONS[0]!) as unknown as Crd;
const canaryVersion = canaryCrd.spec.versions[0]!;
const spec = canaryVersion.schema.openAPIV3Schema.properties.spec;
const status = canaryVersion.schema.openAPIV3Schema.properties.status;

/** The node at a dotted path through properties / items. */
function at(schema: JsonSchema, path: string): JsonSchema {
  let node = schema;
  for (const part of path.split('.')) {
    if (part === '[]') node = node.items as JsonSchema;
    else node = (node.properties as Record<string, JsonSchema>)[part]!;
    if (!node) throw new Error(`no schema at ${path}`);
  }
  return node;
}

/** Every node of a schema, with its path. */
function* walk(schema: JsonSchema, path = ''): Generator<[string, JsonSchema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries((schema.properties as Record<string, JsonSchema>) ?? {})) {
    yield* walk(child, `${path}.${name}`);
  }
  if (schema.items) yield* walk(schema.items as JsonSchema, `${path}[]`);
  if (typeof schema.additionalProperties === 'object')
    yield* walk(schema.additionalProperties as JsonSchema, `${path}.*`);
}

describe('structural()', () => {
  it('turns an int-or-string union into x-kubernetes-int-or-string', () => {
    expect(at(spec, 'service.targetPort')).toEqual({
      description: 'Container port number or name; defaults to port',
      'x-kubernetes-int-or-string': true,
    });
  });

  it('keeps unknown fields of Istio passthrough objects and still types the known ones', () => {
    expect(at(spec, 'service.trafficPolicy')).toEqual({
      description: 'Istio DestinationRule trafficPolicy',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    const match = at(spec, 'analysis.match.[]');
    expect(match['x-kubernetes-preserve-unknown-fields']).toBe(true);
    expect(at(match, 'headers').additionalProperties).toMatchObject({ type: 'object' });
    expect(at(status, 'machine')['x-kubernetes-preserve-unknown-fields']).toBe(true);
    expect(status['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('leaves no construct a structural schema forbids and gives every node a type', () => {
    for (const definition of CRD_DEFINITIONS) {
      for (const part of [structuralSchema(definition.spec), structuralSchema(definition.status)]) {
        for (const [path, node] of walk(part)) {
          for (const key of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', '$schema'])
            expect(node, path).not.toHaveProperty(key);
          expect(node.additionalProperties, path).not.toBe(false);
          if (node.properties) expect(node, path).not.toHaveProperty('additionalProperties');
          const open =
            node['x-kubernetes-int-or-string'] === true ||
            node['x-kubernetes-preserve-unknown-fields'] === true;
          if (!open) expect(node.type, `${definition.kind}${path}`).toBeDefined();
          expect(node.maximum, path).not.toBe(Number.MAX_SAFE_INTEGER);
        }
      }
    }
  });

  it('reports forbidden constructs with their path', () => {
    expect(() =>
      structural({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } } }),
    ).toThrow(new StructuralSchemaError('.a', '"anyOf" is not allowed in a structural schema'));
    expect(() => structural({ properties: {} })).toThrow('<root>: every schema needs a type');
  });

  it('emits defaults, enums, minimums and the duration pattern', () => {
    expect(at(spec, 'analysis.interval')).toMatchObject({
      type: 'string',
      default: '60s',
      pattern: expect.any(String),
    });
    expect(at(spec, 'analysis.threshold')).toMatchObject({ type: 'integer', default: 1, minimum: 1 });
    expect(at(spec, 'progressDeadlineSeconds')).toMatchObject({ default: 600 });
    expect(at(spec, 'analysis.primaryReadyThreshold')).toMatchObject({
      default: 100,
      minimum: 0,
      maximum: 100,
    });
    expect(at(spec, 'analysis.webhooks.[].timeout')).toMatchObject({ default: '10s' });
    expect(at(spec, 'analysis.metrics.[].interval')).toMatchObject({ default: '1m' });
    expect(at(spec, 'analysis.webhooks.[].type').enum).toContain('confirm-traffic-increase');
    expect(at(spec, 'targetRef').required).toEqual(['apiVersion', 'kind', 'name']);
    expect(spec.required).toEqual(['targetRef', 'service', 'analysis']);
  });

  it('carries the CEL rules of the zod schemas with a fieldPath and a message naming the field', () => {
    const rules = at(spec, 'analysis')['x-kubernetes-validations'] as {
      rule: string;
      message: string;
      fieldPath?: string;
    }[];
    expect(rules).toContainEqual({
      rule: '!has(self.stepWeight) || !has(self.maxWeight) || self.stepWeight <= self.maxWeight',
      message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
      fieldPath: '.stepWeight',
    });
    expect(at(spec, 'analysis.interval')['x-kubernetes-validations']).toEqual([
      {
        rule: String.raw`!self.matches(r'^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self) >= duration('10s')`,
        message: 'spec.analysis.interval must be at least 10s',
      },
    ]);
  });

  it('bounds every list that a CEL rule iterates (apiserver cost budget)', () => {
    expect(at(spec, 'analysis.stepWeights').maxItems).toBe(100);
    expect(at(spec, 'analysis.steps').maxItems).toBe(100);
  });

  it('merges rules when withRules is applied twice', () => {
    const schema = withRules(
      withRules(z.object({ a: z.int().optional() }), [{ rule: 'r1', message: 'm1', check: () => true }]),
      [{ rule: 'r2', message: 'm2', check: () => false }],
    );
    expect(structuralSchema(schema)['x-kubernetes-validations']).toEqual([
      { rule: 'r1', message: 'm1' },
      { rule: 'r2', message: 'm2' },
    ]);
    expect(schema.safeParse({}).error?.issues.map((issue) => issue.message)).toEqual(['m2']);
  });
});

describe('buildCrd', () => {
  it('has the status subresource, short names and the printer columns', () => {
    expect(canaryVersion.subresources).toEqual({ status: {} });
    expect(canaryCrd.spec.names.shortNames).toEqual(['scn']);
    expect(canaryVersion.additionalPrinterColumns.map((column) => column.name)).toEqual(CANARY_COLUMNS);
  });

  it('marks conditions as a map keyed by type', () => {
    expect(at(status, 'conditions')).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });

  it('renders one YAML file per kind that parses back to the same object', () => {
    const files = renderCrds();
    expect(files.map((file) => file.file)).toEqual([
      'sluice.dev_canaries.yaml',
      'sluice.dev_metrictemplates.yaml',
      'sluice.dev_alertproviders.yaml',
    ]);
    expect(parse(files[0]!.text)).toEqual(canaryCrd);
    expect(files[0]!.text.startsWith('# Generated')).toBe(true);
  });
});

describe('API reference', () => {
  it('describes every field it lists, for every kind', () => {
    for (const definition of CRD_DEFINITIONS) {
      expect(partlyDescribed(structuralSchema(definition.spec)), definition.kind).toEqual([]);
      expect(partlyDescribed(structuralSchema(definition.status)), definition.kind).toEqual([]);
    }
  });

  it('lists every field of the brief with its type and default', () => {
    const rows = fieldRows(spec, 'spec');
    const byPath = new Map(rows.map((row) => [row.path, row]));
    for (const path of [
      'spec.targetRef',
      'spec.autoscalerRef',
      'spec.ingressRef',
      'spec.provider',
      'spec.metricsServer',
      'spec.service.port',
      'spec.service.portName',
      'spec.service.targetPort',
      'spec.service.gateways',
      'spec.service.hosts',
      'spec.service.gatewayRefs',
      'spec.service.match',
      'spec.service.rewrite',
      'spec.service.retries',
      'spec.service.headers',
      'spec.service.corsPolicy',
      'spec.service.trafficPolicy',
      'spec.service.timeout',
      'spec.service.apex',
      'spec.service.primary',
      'spec.service.canary',
      'spec.analysis.interval',
      'spec.analysis.threshold',
      'spec.analysis.maxWeight',
      'spec.analysis.stepWeight',
      'spec.analysis.stepWeights',
      'spec.analysis.stepWeightPromotion',
      'spec.analysis.iterations',
      'spec.analysis.match',
      'spec.analysis.mirror',
      'spec.analysis.mirrorWeight',
      'spec.analysis.sessionAffinity',
      'spec.analysis.primaryReadyThreshold',
      'spec.analysis.canaryReadyThreshold',
      'spec.analysis.metrics',
      'spec.analysis.webhooks',
      'spec.analysis.alerts',
      'spec.analysis.steps',
      'spec.progressDeadlineSeconds',
      'spec.skipAnalysis',
      'spec.suspend',
      'spec.revertOnDeletion',
    ]) {
      expect(byPath.get(path)?.description, path).toBeTruthy();
    }
    expect(byPath.get('spec.analysis.interval')).toMatchObject({ type: 'duration', default: '"60s"' });
    expect(byPath.get('spec.analysis.webhooks[].timeout')).toMatchObject({
      type: 'duration',
      default: '"10s"',
    });
    expect(byPath.get('spec.service.port')?.type).toBe('integer 1–65535, required');
  });

  it('lists the cross-field rules with the field they apply to', () => {
    expect(ruleRows(spec, 'spec')).toContainEqual({
      path: 'spec.analysis.stepWeight',
      message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
    });
  });

  it('replaces only the generated blocks of the docs', () => {
    const docs = 'intro\n<!-- generated:AlertProvider.spec -->\nold\n<!-- end generated -->\noutro\n';
    const rendered = renderApiDocs(docs);
    expect(rendered.startsWith('intro\n<!-- generated:AlertProvider.spec -->\n| Field |')).toBe(true);
    expect(rendered.endsWith('<!-- end generated -->\noutro\n')).toBe(true);
    expect(rendered).toContain('`spec.secretRef`');
    expect(renderApiDocs(rendered)).toBe(rendered);
  });
});
