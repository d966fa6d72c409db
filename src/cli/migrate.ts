import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { AUTOSCALER_KINDS, isKnativeTarget, MIN_ANALYSIS_INTERVAL, TARGET_KINDS } from '../api/canary.ts';
import { API_VERSION } from '../api/common.ts';
import { CRD_DEFINITIONS, structuralSchema, type JsonSchema } from '../api/crd.ts';
import { parseDuration } from '../api/duration.ts';
import { isMetricProviderType, metricProviderList } from '../api/metric-providers.ts';
import { parseProvider, unsupportedProviderMessage } from '../api/providers.ts';
import { checkCapabilities } from '../routers/capabilities.ts';
import {
  formatIssues,
  parseAlertProvider,
  parseCanary,
  parseMetricTemplate,
  objectRef,
} from '../api/validate.ts';

// `sluice migrate`: Flagger YAML in, Sluice YAML out. Every field Sluice knows is kept as
// written; where Flagger's meaning needs a different spelling in Sluice (an empty webhook
// type, an interval Flagger silently raises to 10s) the value is rewritten to mean the
// same and reported; fields Sluice does not know are dropped and reported.

export interface MigrateResult {
  output: string;
  reports: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const FLAGGER_GROUP = 'flagger.app/';
const KINDS = ['Canary', 'MetricTemplate', 'AlertProvider'] as const;
type Kind = (typeof KINDS)[number];

/** Metadata the apiserver sets; meaningless in a manifest for another API group. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const schemas = new Map<string, JsonSchema>();
function specSchema(kind: Kind): JsonSchema {
  let schema = schemas.get(kind);
  if (!schema) {
    const definition = CRD_DEFINITIONS.find((candidate) => candidate.kind === kind);
    if (!definition) throw new Error(`no CRD definition for ${kind}`);
    schema = structuralSchema(definition.spec);
    schemas.set(kind, schema);
  }
  return schema;
}

/**
 * A copy of `value` without the fields `schema` does not have; each dropped field is
 * reported. Objects that keep unknown fields (Istio/Gateway API passthroughs) keep them.
 */
export function pruneUnknown(value: Json, schema: JsonSchema, path: string, dropped: string[]): Json {
  if (Array.isArray(value)) {
    const items = isObject(schema.items) ? schema.items : undefined;
    return items ? value.map((item, i) => pruneUnknown(item, items, `${path}[${i}]`, dropped)) : value;
  }
  if (!isObject(value)) return value;
  const properties = isObject(schema.properties)
    ? (schema.properties as Record<string, JsonSchema>)
    : undefined;
  const additional = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const keepsUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    const childSchema = properties?.[key] ?? additional;
    if (childSchema) result[key] = pruneUnknown(child, childSchema, childPath, dropped);
    else if (keepsUnknown) result[key] = child;
    else dropped.push(childPath);
  }
  return result;
}

interface Context {
  label: string;
  reports: string[];
}

function report(context: Context, message: string): void {
  context.reports.push(`${context.label}: ${message}`);
}

function listOf(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function migrateAnalysis(analysis: JsonObject, context: Context): void {
  if (typeof analysis.interval === 'string') {
    const ms = parseDuration(analysis.interval);
    const minMs = parseDuration(MIN_ANALYSIS_INTERVAL)!;
    if (ms !== undefined && ms < minMs) {
      report(
        context,
        `spec.analysis.interval: Flagger raises ${analysis.interval} to ${MIN_ANALYSIS_INTERVAL}; written as ${MIN_ANALYSIS_INTERVAL}`,
      );
      analysis.interval = MIN_ANALYSIS_INTERVAL;
    } else if (analysis.interval === '') {
      report(context, `spec.analysis.interval: empty means the default in Flagger; removed (default 60s)`);
      delete analysis.interval;
    }
  }
  if (analysis.threshold === 0) {
    report(context, 'spec.analysis.threshold: 0 means 1 in Flagger; written as 1');
    analysis.threshold = 1;
  }
  for (const key of [
    'stepWeight',
    'maxWeight',
    'stepWeightPromotion',
    'iterations',
    'mirrorWeight',
  ] as const) {
    if (analysis[key] === 0) {
      report(context, `spec.analysis.${key}: 0 means unset in Flagger; removed`);
      delete analysis[key];
    }
  }
  listOf(analysis.webhooks).forEach((hook, i) => {
    if (hook.type === '' || hook.type === null) {
      report(
        context,
        `spec.analysis.webhooks[${i}].type: empty means rollout in Flagger; written as rollout`,
      );
      hook.type = 'rollout';
    }
    if (typeof hook.timeout === 'string' && hook.timeout.length < 2) {
      report(
        context,
        `spec.analysis.webhooks[${i}].timeout: "${hook.timeout}" means 10s in Flagger; removed (default 10s)`,
      );
      delete hook.timeout;
    }
  });
  listOf(analysis.alerts).forEach((alert, i) => {
    if (alert.severity === '') {
      report(context, `spec.analysis.alerts[${i}].severity: empty means info in Flagger; written as info`);
      alert.severity = 'info';
    }
  });
  listOf(analysis.metrics).forEach((metric, i) => {
    if (metric.threshold !== undefined && metric.thresholdRange === undefined) {
      report(
        context,
        `spec.analysis.metrics[${i}].threshold: deprecated by Flagger; kept, consider thresholdRange`,
      );
    }
    if (metric.query !== undefined && metric.templateRef === undefined) {
      report(context, `spec.analysis.metrics[${i}].query: inline query kept; consider a MetricTemplate`);
    }
  });
  const references: [string, Json | undefined][] = [
    ...listOf(analysis.metrics).map((m, i): [string, Json | undefined] => [
      `spec.analysis.metrics[${i}].templateRef`,
      m.templateRef,
    ]),
    ...listOf(analysis.alerts).map((a, i): [string, Json | undefined] => [
      `spec.analysis.alerts[${i}].providerRef`,
      a.providerRef,
    ]),
  ];
  for (const [field, ref] of references) {
    if (isObject(ref) && typeof ref.apiVersion === 'string' && ref.apiVersion.startsWith(FLAGGER_GROUP)) {
      report(context, `${field}.apiVersion: ${ref.apiVersion} written as ${API_VERSION}`);
      ref.apiVersion = API_VERSION;
    }
  }
}

function migrateCanarySpec(spec: JsonObject, context: Context): void {
  if (spec.canaryAnalysis !== undefined) {
    if (spec.analysis === undefined) {
      report(context, 'spec.canaryAnalysis: deprecated by Flagger; renamed to spec.analysis');
      const entries = Object.entries(spec).map(([key, value]) => [
        key === 'canaryAnalysis' ? 'analysis' : key,
        value,
      ]);
      for (const key of Object.keys(spec)) delete spec[key];
      Object.assign(spec, Object.fromEntries(entries));
    } else {
      report(context, 'spec.canaryAnalysis: dropped, spec.analysis takes precedence (as in Flagger)');
      delete spec.canaryAnalysis;
    }
  }
  if (spec.provider === 'gatewayapi:v1beta1') {
    report(
      context,
      'spec.provider: "gatewayapi:v1beta1" written as gatewayapi (Sluice writes the same HTTPRoute at gateway.networking.k8s.io/v1)',
    );
    spec.provider = 'gatewayapi';
  } else if (typeof spec.provider === 'string' && spec.provider !== '' && !parseProvider(spec.provider)) {
    report(
      context,
      `spec.provider: ${unsupportedProviderMessage(spec.provider)}; kept, and the controller marks the Canary Stalled until it is changed`,
    );
  }
  // Fields of providers Sluice has no router for: the apiserver refuses them, so they go.
  const service = isObject(spec.service) ? spec.service : undefined;
  const dropped: [string, JsonObject | undefined, string][] = [
    ['spec.upstreamRef (Gloo Edge)', spec, 'upstreamRef'],
    ['spec.service.meshName (App Mesh)', service, 'meshName'],
    ['spec.service.backends (App Mesh)', service, 'backends'],
  ];
  for (const [what, parent, key] of dropped) {
    if (parent?.[key] === undefined) continue;
    delete parent[key];
    report(context, `${what}: dropped; Sluice has no router for it (the apiserver refuses the field)`);
  }
  if (spec.provider === 'gloo' && !(isObject(spec.service) && Array.isArray(spec.service.gatewayRefs))) {
    report(
      context,
      'spec.provider: gloo routes through Gloo Gateway’s Gateway API in Sluice (an HTTPRoute, not a Gloo Edge RouteTable): add spec.service.gatewayRefs naming the Gateway',
    );
  }
  const targetKind = isObject(spec.targetRef) ? spec.targetRef.kind : undefined;
  const targetApi = isObject(spec.targetRef) ? spec.targetRef.apiVersion : undefined;
  const knative =
    typeof targetApi === 'string' &&
    typeof targetKind === 'string' &&
    isKnativeTarget({ apiVersion: targetApi, kind: targetKind });
  if (
    typeof targetKind === 'string' &&
    !(TARGET_KINDS as readonly string[]).includes(targetKind) &&
    !knative
  ) {
    report(
      context,
      `spec.targetRef.kind ${targetKind}: kept, but Sluice releases ${TARGET_KINDS.join(' and ')} only; the controller marks the Canary Stalled`,
    );
  }
  const autoscalerKind = isObject(spec.autoscalerRef) ? spec.autoscalerRef.kind : undefined;
  if (
    typeof autoscalerKind === 'string' &&
    !(AUTOSCALER_KINDS as readonly string[]).includes(autoscalerKind)
  ) {
    report(
      context,
      `spec.autoscalerRef.kind ${autoscalerKind}: kept, but Sluice copies a ${AUTOSCALER_KINDS.join(' or ')} only; the controller marks the Canary Stalled`,
    );
  }
  if (isObject(spec.analysis)) migrateAnalysis(spec.analysis, context);
}

function migrateMetricTemplateSpec(spec: JsonObject, context: Context): void {
  const provider = isObject(spec.provider) ? spec.provider : undefined;
  const type = provider?.type;
  if (typeof type === 'string' && type !== '' && !isMetricProviderType(type)) {
    // Flagger queries Prometheus for a type it does not know; Sluice refuses it.
    report(
      context,
      `spec.provider.type: "${type}" is not a metric provider (Flagger falls back to prometheus); expected one of ${metricProviderList()}`,
    );
  }
  if (type === 'keptn' && typeof spec.query === 'string' && /[A-Z]/.test(spec.query)) {
    report(
      context,
      'spec.query: Flagger lowercases the whole keptn query; Sluice lowercases only the kind, so names and argument values keep their case',
    );
  }
}

function migrateAlertProviderSpec(spec: JsonObject, context: Context): void {
  if (spec.type === 'gchat') {
    report(context, 'spec.type: Flagger\'s "gchat" is "googlechat" in Sluice; written as googlechat');
    spec.type = 'googlechat';
  }
  if (spec.proxy !== undefined) {
    report(
      context,
      'spec.proxy: dropped; Sluice sends notifications straight to the URL (a proxy is not supported yet, and the apiserver refuses the field)',
    );
    delete spec.proxy;
  }
  if (typeof spec.address === 'string' && spec.address !== '') {
    report(
      context,
      'spec.address: a webhook URL in clear text is kept; move it to a Secret (key "address") and use spec.secretRef',
    );
  }
}

function migrateMetadata(metadata: JsonObject, context: Context): void {
  for (const key of SERVER_METADATA) {
    if (metadata[key] !== undefined) {
      delete metadata[key];
      report(context, `metadata.${key}: set by the apiserver; dropped`);
    }
  }
  const annotations = metadata.annotations;
  if (isObject(annotations) && annotations[LAST_APPLIED] !== undefined) {
    delete annotations[LAST_APPLIED];
    report(context, `metadata.annotations["${LAST_APPLIED}"]: belongs to the Flagger object; dropped`);
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
}

/** Converts one Flagger object; returns the Sluice object. */
function migrateObject(input: JsonObject, kind: Kind, context: Context): JsonObject {
  const object = structuredClone(input);
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion') result.apiVersion = API_VERSION;
    else if (key === 'kind' || key === 'metadata' || key === 'spec') result[key] = value;
    else if (key === 'status') report(context, 'status: not migrated; Sluice builds its own');
    else report(context, `${key}: unknown top-level field; dropped`);
  }
  if (isObject(result.metadata)) migrateMetadata(result.metadata, context);
  if (!isObject(result.spec)) return result;

  const spec = result.spec;
  if (kind === 'Canary') migrateCanarySpec(spec, context);
  else if (kind === 'MetricTemplate') migrateMetricTemplateSpec(spec, context);
  else migrateAlertProviderSpec(spec, context);

  const dropped: string[] = [];
  result.spec = pruneUnknown(spec, specSchema(kind), 'spec', dropped);
  for (const path of dropped) report(context, `${path}: not a field of the Sluice ${kind}; dropped`);

  const parsed =
    kind === 'Canary'
      ? parseCanary(result)
      : kind === 'MetricTemplate'
        ? parseMetricTemplate(result)
        : parseAlertProvider(result);
  if (!parsed.ok)
    report(context, `still needs a fix before Sluice serves it: ${formatIssues(result, parsed.issues)}`);
  // What its provider cannot route is refused by the controller at the first reconcile: say so now.
  else if ('canary' in parsed) {
    const issues = checkCapabilities(parsed.canary);
    if (issues.length)
      report(context, `still needs a fix before Sluice serves it: ${formatIssues(result, issues)}`);
  }
  return result;
}

/** Flagger YAML (one or more documents) in, Sluice YAML out, plus what a person should know. */
export function migrate(inputYamlText: string): MigrateResult {
  const reports: string[] = [];
  const outputs: string[] = [];
  const documents = parseAllDocuments(inputYamlText);
  if (!Array.isArray(documents)) return { output: '', reports };
  documents.forEach((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`document ${index + 1}: not valid YAML: ${document.errors[0]!.message}`);
    }
    const value = document.toJS({ maxAliasCount: 100 }) as Json;
    if (value === null || value === undefined) return;
    if (!isObject(value)) {
      reports.push(`document ${index + 1}: not a Kubernetes object; passed through unchanged`);
      outputs.push(stringify(value, { lineWidth: 0 }));
      return;
    }
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
    const kind = typeof value.kind === 'string' ? value.kind : '';
    const context: Context = { label: `${kind || 'object'} ${objectRef(value)}`, reports };
    if (apiVersion.startsWith(FLAGGER_GROUP) && (KINDS as readonly string[]).includes(kind)) {
      outputs.push(stringify(migrateObject(value, kind as Kind, context), { lineWidth: 0 }));
    } else {
      if (apiVersion.startsWith(FLAGGER_GROUP))
        report(context, `${apiVersion} ${kind} has no Sluice equivalent; passed through unchanged`);
      else if (apiVersion !== API_VERSION) report(context, 'not a Flagger object; passed through unchanged');
      outputs.push(stringify(value, { lineWidth: 0 }));
    }
  });
  return { output: outputs.join('---\n'), reports };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `sluice migrate [files...]`: reads files (or stdin), writes Sluice YAML to stdout, reports to stderr. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('convert Flagger Canary, MetricTemplate and AlertProvider YAML to Sluice (files or stdin)')
    .argument('[files...]', 'Flagger YAML files; none or "-" reads stdin')
    .option('--strict', 'exit with status 2 when anything was reported (dropped, rewritten, unsupported)')
    .action(async (files: string[], options: { strict?: boolean }) => {
      const inputs = files.length === 0 ? ['-'] : files;
      const texts: string[] = [];
      for (const file of inputs) texts.push(file === '-' ? await readStdin() : await readFile(file, 'utf8'));
      const { output, reports } = migrate(texts.map((text) => text.replace(/\n?$/, '\n')).join('---\n'));
      process.stdout.write(output);
      for (const line of reports) process.stderr.write(`migrate: ${line}\n`);
      if (options.strict && reports.length > 0) process.exitCode = 2;
    });
}
