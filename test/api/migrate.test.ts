import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { migrate } from '../../src/cli/migrate.ts';
import { parseAlertProvider, parseCanary, parseMetricTemplate } from '../../src/api/validate.ts';
import { apply } from '../../src/kube/client.ts';
import { METRIC_PROVIDER_TYPES } from '../../src/api/metric-providers.ts';
import { createProvider } from '../../src/analysis/providers/factory.ts';
import { credentialsFromSecretData } from '../../src/analysis/providers/secret.ts';
import { checkCapabilities } from '../../src/routers/capabilities.ts';
import { useNamespace } from '../support/kube.ts';

const ns = useNamespace('api-migrate');

const root = join(import.meta.dirname, '..', '..');
const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

type Json = Record<string, unknown>;
type Manifest = KubernetesObject & { spec?: Json };

function documents(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Manifest | null)
    .filter((object): object is Manifest => object !== null);
}

/** A fixture file migrated: its documents before and after, and the migration's reports. */
async function migrateFixture(name: string) {
  const text = await readFile(fixture(name), 'utf8');
  const { output, reports } = migrate(text);
  return { input: documents(text), migrated: documents(output), reports };
}

function inNamespace<T extends Manifest>(object: T): T {
  return { ...object, metadata: { ...object.metadata, namespace: ns.name } };
}

/** Whether a dotted path (lists: any element) is set somewhere in the value. */
function isSet(value: unknown, path: string[]): boolean {
  if (path.length === 0) return value !== undefined;
  if (Array.isArray(value)) return value.some((item) => isSet(item, path));
  if (typeof value !== 'object' || value === null) return false;
  const [head, ...rest] = path;
  return isSet((value as Json)[head!], rest);
}

/** Every Canary field the product brief lists (docs: /work/shared/BRIEF.md, "The API"). */
const BRIEF_FIELDS = [
  'targetRef',
  'autoscalerRef',
  'ingressRef',
  'provider',
  'metricsServer',
  'service.port',
  'service.portName',
  'service.targetPort',
  'service.gateways',
  'service.hosts',
  'service.gatewayRefs',
  'service.match',
  'service.rewrite',
  'service.retries',
  'service.headers',
  'service.corsPolicy',
  'service.trafficPolicy',
  'service.timeout',
  'service.apex',
  'service.primary',
  'service.canary',
  'analysis.interval',
  'analysis.threshold',
  'analysis.maxWeight',
  'analysis.stepWeight',
  'analysis.stepWeights',
  'analysis.stepWeightPromotion',
  'analysis.iterations',
  'analysis.match',
  'analysis.mirror',
  'analysis.mirrorWeight',
  'analysis.sessionAffinity',
  'analysis.primaryReadyThreshold',
  'analysis.canaryReadyThreshold',
  'analysis.metrics',
  'analysis.webhooks',
  'analysis.alerts',
  'progressDeadlineSeconds',
  'skipAnalysis',
  'suspend',
  'revertOnDeletion',
];

async function applyAll(objects: Manifest[]): Promise<Manifest[]> {
  const stored: Manifest[] = [];
  for (const object of objects) stored.push((await apply(ns.kube, inNamespace(object))) as Manifest);
  return stored;
}

describe('sluice migrate against the real apiserver', () => {
  it('the Flagger fixtures set every Canary field of the brief', async () => {
    const canaries = documents(await readFile(fixture('flagger-canaries.yaml'), 'utf8')).filter(
      (o) => o.kind === 'Canary',
    );
    const missing = BRIEF_FIELDS.filter(
      (field) => !canaries.some((canary) => isSet(canary.spec, field.split('.'))),
    );
    expect(missing).toEqual([]);
  });

  it("converts Flagger's MetricTemplate of every provider it has, unchanged, into templates Sluice can run", async () => {
    const { input, migrated, reports } = await migrateFixture('flagger-metric-templates.yaml');
    expect(reports).toEqual([]);
    const types = migrated.map((object) => (object.spec?.provider as { type: string }).type);
    // Every kind Sluice has except its own `web` is one of Flagger's, and each is here.
    expect(types.sort()).toEqual(METRIC_PROVIDER_TYPES.filter((type) => type !== 'web').sort());
    migrated.forEach((object, i) => expect(object.spec).toEqual(input[i]!.spec));

    const stored = await applyAll(migrated);
    // The keys each documented Secret holds (values made up).
    const secrets: Record<string, Record<string, string>> = {
      datadog: { datadog_api_key: 'k', datadog_application_key: 'a' },
      newrelic: { newrelic_account_id: '1234567', newrelic_query_key: 'q' },
      graphite: { username: 'u', password: 'p' },
      stackdriver: { project: 'shop-prod' },
      influxdb: { token: 't', org: 'o' },
      dynatrace: { dynatrace_token: 't' },
      splunk: { sf_token_key: 't' },
      externalmetrics: { token: 't' },
    };
    for (const object of stored) {
      const parsed = parseMetricTemplate(object);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      const { provider } = parsed.metricTemplate.spec;
      const secret = secrets[provider.type];
      const made = createProvider({
        provider,
        intervalMs: 60_000,
        cluster: ns.kube.kc,
        ...(secret ? { credentials: credentialsFromSecretData(secret, `${ns.name}/${provider.type}`) } : {}),
      });
      expect(made.type).toBe(provider.type);
    }
  });

  it('round-trips Flagger Canaries, MetricTemplates and AlertProviders into objects the apiserver accepts, field for field', async () => {
    const { input, migrated, reports } = await migrateFixture('flagger-canaries.yaml');

    expect(reports).toEqual([
      'Canary shop/search: spec.analysis.metrics[0].query: inline query kept; consider a MetricTemplate',
      'AlertProvider flagger/on-call: spec.proxy: dropped; Sluice sends notifications straight to the URL (a proxy is not supported yet, and the apiserver refuses the field)',
      'AlertProvider flagger/on-call: spec.address: a webhook URL in clear text is kept; move it to a Secret (key "address") and use spec.secretRef',
    ]);
    // What Sluice refuses is reported above and left out; everything else is kept as written.
    for (const object of input) delete (object.spec as Record<string, unknown> | undefined)?.proxy;
    expect(migrated).toHaveLength(input.length);
    migrated.forEach((object, i) => {
      expect(object.apiVersion).toBe('sluice.dev/v1alpha1');
      expect(object.kind).toBe(input[i]!.kind);
      expect(object.metadata).toEqual(input[i]!.metadata);
      expect(object.spec, `${object.kind} ${object.metadata?.name}`).toEqual(input[i]!.spec);
    });

    const stored = await applyAll(migrated);
    stored.forEach((object, i) => {
      // The apiserver adds defaults; everything written is kept as written.
      expect(object.spec, `${object.kind} ${object.metadata?.name}`).toMatchObject(input[i]!.spec!);
      const parsed =
        object.kind === 'Canary'
          ? parseCanary(object)
          : object.kind === 'MetricTemplate'
            ? parseMetricTemplate(object)
            : parseAlertProvider(object);
      expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    });
  });

  it('converts Flagger Canaries of every provider Sluice routes since issue 18, and the results apply', async () => {
    const { input, migrated, reports } = await migrateFixture('flagger-provider-canaries.yaml');
    expect(reports).toEqual([
      'Canary test/kuma-podinfo: spec.analysis.metrics[0].threshold: deprecated by Flagger; kept, consider thresholdRange',
      'Canary test/kuma-podinfo: spec.analysis.metrics[1].threshold: deprecated by Flagger; kept, consider thresholdRange',
      'Canary test/gloo-podinfo: spec.provider: gloo routes through Gloo Gateway’s Gateway API in Sluice (an HTTPRoute, not a Gloo Edge RouteTable): add spec.service.gatewayRefs naming the Gateway',
      'Canary test/gloo-podinfo: still needs a fix before Sluice serves it: Canary test/gloo-podinfo is invalid: spec.service.gatewayRefs: provider gloo needs spec.service.gatewayRefs: list the Gateways the HTTPRoute attaches to',
      'Canary test/linkerd-gateway: spec.provider: "gatewayapi:v1beta1" written as gatewayapi (Sluice writes the same HTTPRoute at gateway.networking.k8s.io/v1)',
    ]);
    const providers = migrated.map((object) => object.spec?.provider);
    expect(providers).toEqual([
      'contour',
      'contour',
      'traefik',
      'kuma',
      'apisix',
      'skipper',
      'gloo',
      'linkerd',
      'gatewayapi',
      'knative',
    ]);
    // The Knative Canary, without a service block as Flagger writes it, is accepted too.
    const stored = await applyAll(migrated);
    stored.forEach((object) => {
      const original = input.find((o) => o.metadata?.name === object.metadata?.name)!;
      const { provider: _written, ...rest } = original.spec as Json;
      expect(object.spec, object.metadata?.name).toMatchObject(rest);
      const parsed = parseCanary(object);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      // Routed as they are, but for the Gloo Edge Canary, which needs its Gateway named.
      const issues = checkCapabilities(parsed.canary).map((issue) => issue.path);
      expect(issues, object.metadata?.name).toEqual(
        object.spec?.provider === 'gloo' ? ['spec.service.gatewayRefs'] : [],
      );
    });
  });

  it('rewrites, drops and keeps legacy fields with a report for each, and the result applies', async () => {
    const { migrated, reports } = await migrateFixture('flagger-legacy.yaml');
    expect(reports).toEqual([
      'Canary shop/legacy: status: not migrated; Sluice builds its own',
      'Canary shop/legacy: metadata.uid: set by the apiserver; dropped',
      'Canary shop/legacy: metadata.resourceVersion: set by the apiserver; dropped',
      'Canary shop/legacy: metadata.generation: set by the apiserver; dropped',
      'Canary shop/legacy: metadata.creationTimestamp: set by the apiserver; dropped',
      'Canary shop/legacy: metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]: belongs to the Flagger object; dropped',
      'Canary shop/legacy: spec.canaryAnalysis: deprecated by Flagger; renamed to spec.analysis',
      'Canary shop/legacy: spec.provider: "appmesh:v1beta2" is not supported (App Mesh is not a provider Sluice routes); expected one of istio, gatewayapi, gatewayapi:v1, smi, linkerd, osm, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, nginx, kubernetes, contour, traefik, kuma, apisix, gloo, skipper, knative (smi:<version> may end in :<mesh>); kept, and the controller marks the Canary Stalled until it is changed',
      'Canary shop/legacy: spec.service.meshName (App Mesh): dropped; Sluice has no router for it (the apiserver refuses the field)',
      'Canary shop/legacy: spec.service.backends (App Mesh): dropped; Sluice has no router for it (the apiserver refuses the field)',
      'Canary shop/legacy: spec.analysis.interval: Flagger raises 5s to 10s; written as 10s',
      'Canary shop/legacy: spec.analysis.threshold: 0 means 1 in Flagger; written as 1',
      'Canary shop/legacy: spec.analysis.maxWeight: 0 means unset in Flagger; removed',
      'Canary shop/legacy: spec.analysis.webhooks[0].type: empty means rollout in Flagger; written as rollout',
      'Canary shop/legacy: spec.analysis.webhooks[0].timeout: "" means 10s in Flagger; removed (default 10s)',
      'Canary shop/legacy: spec.analysis.alerts[0].severity: empty means info in Flagger; written as info',
      'Canary shop/legacy: spec.service.someOldField: not a field of the Sluice Canary; dropped',
      'Canary shop/legacy: still needs a fix before Sluice serves it: Canary shop/legacy is invalid: spec.provider: "appmesh:v1beta2" is not supported (App Mesh is not a provider Sluice routes); expected one of istio, gatewayapi, gatewayapi:v1, smi, linkerd, osm, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, nginx, kubernetes, contour, traefik, kuma, apisix, gloo, skipper, knative (smi:<version> may end in :<mesh>)',
      'AlertProvider shop/team-chat: spec.type: Flagger\'s "gchat" is "googlechat" in Sluice; written as googlechat',
      'Service shop/legacy: not a Flagger object; passed through unchanged',
    ]);

    const [canary, chat] = await applyAll(migrated);
    expect(canary?.metadata?.annotations).toBeUndefined();
    expect(canary?.spec).toMatchObject({
      provider: 'appmesh:v1beta2',
      service: { port: 80 },
      analysis: {
        interval: '10s',
        threshold: 1,
        stepWeight: 20,
        webhooks: [{ name: 'load', type: 'rollout', timeout: '10s' }],
        alerts: [{ name: 'team', severity: 'info' }],
      },
    });
    expect((canary?.spec?.analysis as Json).maxWeight).toBeUndefined();
    expect((canary?.spec?.service as Json).meshName).toBeUndefined();
    expect(chat?.spec?.type).toBe('googlechat');
  });

  it('works as a command: files or stdin in, YAML on stdout, reports on stderr', async () => {
    const file = fixture('flagger-legacy.yaml');
    const text = await readFile(file, 'utf8');
    const expected = migrate(text);
    const reportLines = expected.reports.map((line) => `migrate: ${line}`);

    const fromFile = await runCli(['migrate', file]);
    expect(fromFile).toEqual({ code: 0, stdout: expected.output, stderr: reportLines });

    // --strict turns "something was reported" into exit status 2, for CI.
    const fromStdin = await runCli(['migrate', '--strict'], text);
    expect(fromStdin).toEqual({ code: 2, stdout: expected.output, stderr: reportLines });

    const clean = await runCli(
      ['migrate', '--strict', '-'],
      'apiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata: {name: a}\nspec: {type: slack, secretRef: {name: s}}\n',
    );
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('apiVersion: sluice.dev/v1alpha1');
  });
});

/** Runs `sluice <args>` with Node 24, feeding `stdin`. */
function runCli(
  args: string[],
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string[] }> {
  const node = join(root, 'node_modules', '.bin', 'node');
  const main = join(root, 'src', 'cli', 'main.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(node, [main, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.split('\n').filter(Boolean) }));
    child.stdin.end(stdin);
  });
}
