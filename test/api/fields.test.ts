import { existsSync, readFileSync } from 'node:fs';
import { HttpMethod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CRD_DEFINITIONS, structuralSchema, type JsonSchema } from '../../src/api/crd.ts';
import { ROUTER_KINDS } from '../../src/api/providers.ts';
import { parseAlertProvider, parseCanary } from '../../src/api/validate.ts';
import { apiErrorMessage, statusCode } from '../../src/kube/client.ts';
import { ROUTER_SUPPORT, ROUTING_FEATURES } from '../../src/routers/capabilities.ts';
import { useNamespace } from '../support/kube.ts';
import {
  ALERT_PROVIDER_FIELDS,
  CANARY_FIELDS,
  METRIC_TEMPLATE_FIELDS,
  type FieldCoverage,
} from './field-coverage.ts';

// No field accepted and then ignored: every field of the CRDs' schemas is tested, refused
// naming it, or (routing fields) refused for each provider without the feature and tested
// for each with it. A new field fails here until it is one of these.

const ns = useNamespace('fields');

/** Every field of a structural schema, down to leaves, maps and passthrough objects. */
function fieldsOf(node: JsonSchema, path: string, out: string[] = []): string[] {
  if (node.type === 'array') return fieldsOf(node.items as JsonSchema, `${path}[]`, out);
  const properties = node.properties as Record<string, JsonSchema> | undefined;
  const passthrough = node['x-kubernetes-preserve-unknown-fields'] === true && path !== 'status';
  if (node.type === 'object' && properties && !passthrough) {
    for (const [name, child] of Object.entries(properties)) fieldsOf(child, `${path}.${name}`, out);
  } else out.push(path);
  return out;
}

const COVERAGE: Record<string, Record<string, FieldCoverage>> = {
  Canary: CANARY_FIELDS,
  MetricTemplate: METRIC_TEMPLATE_FIELDS,
  AlertProvider: ALERT_PROVIDER_FIELDS,
};

/** A field and each field above it: `a.b[].c`, `a.b[]`, `a.b`, `a`. */
function upwards(field: string): string[] {
  const out: string[] = [];
  for (let key = field; key; key = key.replace(/(\.[^.[\]]*|\[\])$/, '')) {
    out.push(key);
    if (!/(\.[^.[\]]*|\[\])$/.test(key)) break;
  }
  return out;
}

/** The entry that covers a field: its own, or that of the nearest field above it listed. */
function coverageOf(list: Record<string, FieldCoverage>, field: string): [string, FieldCoverage] | undefined {
  const key = upwards(field).find((candidate) => list[candidate] !== undefined);
  return key === undefined ? undefined : [key, list[key]!];
}

const text = new Map<string, string>();
const read = (file: string) => {
  if (!text.has(file)) text.set(file, existsSync(file) ? readFileSync(file, 'utf8') : '');
  return text.get(file)!;
};
const leaf = (field: string) => field.replace(/\[\]/g, '').split('.').at(-1)!;

/** What is wrong with one field's coverage, if anything. */
function problemsOf(field: string, key: string, entry: FieldCoverage): string[] {
  const mentions = ('mentions' in entry && entry.mentions) || leaf(key);
  const checkFiles = (files: readonly string[], who: string) =>
    files.flatMap((file) =>
      !existsSync(file)
        ? [`${field}: ${who}${file} does not exist`]
        : read(file).includes(mentions)
          ? []
          : [`${field}: ${who}${file} does not mention "${mentions}"`],
    );
  if ('routing' in entry) {
    const problems: string[] = [];
    if (!(ROUTING_FEATURES[entry.routing].fields as readonly string[]).some((f) => field.startsWith(f)))
      problems.push(`${field}: not one of the fields of the ${entry.routing} feature in capabilities.ts`);
    for (const kind of ROUTER_KINDS) {
      const support = ROUTER_SUPPORT[kind][entry.routing].level;
      const files = entry.tested[kind] ?? [];
      if (support === 'no' && files.length)
        problems.push(`${field}: ${kind} lacks ${entry.routing}, yet tests are listed`);
      if (support !== 'no' && !files.length)
        problems.push(`${field}: ${kind} has ${entry.routing}; list its tests`);
      problems.push(...checkFiles(files, `${kind}: `));
    }
    return problems;
  }
  if ('tested' in entry)
    return entry.tested.length ? checkFiles(entry.tested, '') : [`${field}: no test listed`];
  return [];
}

describe.each(CRD_DEFINITIONS.map((d) => [d.kind, d] as const))('%s', (kind, definition) => {
  const fields = [
    ...fieldsOf(structuralSchema(definition.spec), 'spec'),
    ...fieldsOf(structuralSchema(definition.status), 'status'),
  ];
  const list = COVERAGE[kind]!;

  it('has every field tested, refused or listed as awaited, and each test named exists and mentions it', () => {
    const problems = fields.flatMap((field) => {
      const found = coverageOf(list, field);
      return found ? problemsOf(field, found[0], found[1]) : [`${field}: neither tested nor refused`];
    });
    expect(problems).toEqual([]);
  });

  it('lists no field the schema does not have', () => {
    const stale = Object.keys(list).filter((key) => !fields.some((field) => upwards(field).includes(key)));
    expect(stale).toEqual([]);
  });

  const refused = Object.entries(list).flatMap(([field, entry]) =>
    'refused' in entry ? [[field, entry] as const] : [],
  );
  // Kinds that refuse no field have no such test.
  if (refused.length > 0)
    it('refuses each refused field, naming it', async () => {
      const plural = definition.plural;
      for (const [field, entry] of refused) {
        const object = sampleObject(kind, entry.sample);
        const parsed = kind === 'Canary' ? parseCanary(object) : parseAlertProvider(object);
        const paths = parsed.ok ? [] : parsed.issues.map((issue) => issue.path.replace(/\[\d+\]/g, '[]'));
        expect(paths, `${field} is refused by Sluice's validation`).toContainEqual(field);
        let admission = 'accepted';
        try {
          await ns.kube.wire.request(
            HttpMethod.POST,
            `/apis/sluice.dev/v1alpha1/namespaces/${ns.name}/${plural}`,
            {
              body: object,
              query: { dryRun: 'All', fieldValidation: 'Strict' },
            },
          );
        } catch (error) {
          admission = `${statusCode(error)}: ${apiErrorMessage(error)}`;
        }
        if (entry.refused === 'admission') {
          expect(admission, `${field} is refused at admission`).toMatch(/^422: /);
          expect(admission).toContain(field.replace(/\[\]/g, '[0]').replace(/^spec\./, 'spec.'));
        } else {
          expect(admission, `${field} passes the apiserver (Flagger's value), then Sluice refuses it`).toBe(
            'accepted',
          );
        }
      }
    });
});

it('awaits phase two of issue 13 for exactly these fields', () => {
  const awaited = Object.entries(CANARY_FIELDS).flatMap(([field, entry]) =>
    'awaiting' in entry && !entry.awaiting.startsWith('issue 15') ? [field] : [],
  );
  expect(awaited).toEqual([
    'spec.analysis.webhooks[].muteAlert',
    'status.sessionAffinityCookie',
    'status.previousSessionAffinityCookie',
    'status.lastCommand.result',
  ]);
});

it("awaits the judge's wiring into the controller (issue 15) for exactly these fields", () => {
  const awaited = Object.entries(CANARY_FIELDS).flatMap(([field, entry]) =>
    'awaiting' in entry && entry.awaiting.startsWith('issue 15') ? [field] : [],
  );
  expect(awaited).toEqual([
    'spec.analysis.metrics[].failFast',
    'spec.analysis.judge',
    'spec.analysis.checkEvery',
  ]);
});

function sampleObject(kind: string, sample: Record<string, unknown>): Record<string, unknown> {
  const metadata = { name: `sample-${Math.random().toString(36).slice(2, 8)}`, namespace: ns.name };
  if (kind === 'AlertProvider') return { apiVersion: 'sluice.dev/v1alpha1', kind, metadata, spec: sample };
  const spec: Record<string, unknown> = {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    service: { port: 80 },
    analysis: { stepWeight: 10 },
    ...sample,
  };
  return { apiVersion: 'sluice.dev/v1alpha1', kind, metadata, spec };
}
