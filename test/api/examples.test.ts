import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ValidationIssue } from '../../src/api/validate.ts';
import { parseAlertProvider, parseCanary, parseMetricTemplate } from '../../src/api/validate.ts';
import { validateMetricChecks } from '../../src/analysis/validate.ts';
import { parseAllowlist } from '../../src/chatops/allowlist.ts';
import { apply } from '../../src/kube/client.ts';
import { checkCapabilities } from '../../src/routers/capabilities.ts';
import { useNamespace } from '../support/kube.ts';

// Every example in docs/ is applied: each YAML file of docs/examples and each YAML block of
// the Markdown pages. A Sluice object goes through a server-side dry-run on the real
// apiserver and through Sluice's own validation (the schema, the metric checks and, for a
// Canary, the capability check of its provider); a fragment (an `analysis:` block, a
// MetricTemplate `spec:`) is put into an object first. Blocks that are not Sluice's (an
// Argo CD setting, a kustomization) are listed below with where they are tested, so a new
// block fails here until it is one or the other.

const ns = useNamespace('examples');
const root = join(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;
type Sluice = KubernetesObject & { spec: Json };

/** Blocks that are not Sluice objects, by page and first line, and where they are tested. */
const NOT_SLUICE: Record<string, string> = {
  'docs/api.md: resource.customizations.health.sluice.dev_Canary: |':
    'Argo CD Lua health check: test/e2e/debugging.test.ts reads the same conditions',
  'docs/gitops.md: spec:': 'an Argo CD Application setting (ignoreDifferences), not a Sluice object',
  'docs/install.md: # kustomization.yaml in your GitOps repository': 'built by test/deploy/manifests.test.ts',
  'docs/install.md: patches:': 'built by test/deploy/manifests.test.ts',
  'docs/metrics.md: # the target Deployment': 'release annotations: test/controller/dora.test.ts',
  "docs/install.md: # the load tester's Deployment: a Secret mounted as a file":
    'the load tester with --token-file: test/security/loopback.test.ts',
  'docs/install.md: shards: [eu-1, eu-2]':
    'Helm values: rendered by test/deploy/manifests.test.ts (deploy/chart/ci/shards-values.yaml)',
  'docs/install.md: metadata:':
    'the shard label on a Canary: test/chaos/handover.test.ts relabels Canaries so',
};

const base = (spec: Json): Sluice => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Canary',
  metadata: { name: 'example' },
  spec: {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
    service: { port: 9898 },
    ...spec,
  },
});

/** A Markdown block as the Sluice objects it shows, or undefined when it is not Sluice's. */
function objectsOf(page: string, block: string): Sluice[] | undefined {
  const first = block.split('\n')[0]!.trim();
  if (NOT_SLUICE[`${page}: ${first}`]) return undefined;
  if (first.startsWith('# --slack-users-file:')) {
    // Not an object: the file the controller reads, read here by the same code.
    parseAllowlist(block, page);
    return [];
  }
  if (/^kind: /m.test(block)) return documents(block);
  if (first === 'analysis:') {
    // A fragment about something else than how traffic moves gets the smallest way to move it.
    const { analysis } = parse(block) as { analysis: Json };
    const moves = ['stepWeight', 'stepWeights', 'iterations', 'steps'].some((key) => key in analysis);
    return [base({ analysis: moves ? analysis : { stepWeight: 10, ...analysis } })];
  }
  if (first === 'spec:') {
    const spec = (parse(block) as { spec: Json }).spec;
    return [
      { apiVersion: 'sluice.dev/v1alpha1', kind: 'MetricTemplate', metadata: { name: 'example' }, spec },
    ];
  }
  if (first.startsWith('- apiGroups:')) {
    // Rules to add to Sluice's ClusterRole: applied as a Role of their own.
    return [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'example-rules' },
        rules: parse(block) as Json[],
      } as unknown as Sluice,
    ];
  }
  if (/^(successCondition|failureCondition): /.test(first)) {
    // One condition per line: each in a template of its own.
    return block
      .split('\n')
      .filter((line) => line.trim())
      .map((line, i) => ({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'MetricTemplate',
        metadata: { name: `condition-${i}` },
        spec: {
          provider: { type: 'prometheus', address: 'http://prometheus:9090' },
          query: 'vector(1)',
          ...(parse(line) as Json),
        },
      }));
  }
  throw new Error(`${page}: a YAML block that is neither a Sluice object nor listed as another's: ${first}`);
}

function documents(text: string): Sluice[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Sluice | null)
    .filter((object): object is Sluice => object !== null);
}

/** Sluice's own reading of an object: schema, metric checks, and the provider's capabilities. */
function sluiceIssues(object: Sluice): ValidationIssue[] {
  // Another API's object (a Secret, a Role) is the apiserver's to validate.
  if (object.apiVersion !== 'sluice.dev/v1alpha1') return [];
  if (object.kind === 'Canary') {
    const parsed = parseCanary(object);
    if (!parsed.ok) return parsed.issues;
    return [
      ...validateMetricChecks(parsed.canary.spec.analysis.metrics ?? []),
      ...checkCapabilities(parsed.canary),
    ];
  }
  const parsed = object.kind === 'MetricTemplate' ? parseMetricTemplate(object) : parseAlertProvider(object);
  return parsed.ok ? [] : parsed.issues;
}

async function check(where: string, objects: readonly Sluice[]): Promise<void> {
  for (const object of objects) {
    const moved = { ...object, metadata: { ...object.metadata, namespace: ns.name } };
    const label = `${where}: ${object.kind} ${object.metadata?.name}`;
    expect(sluiceIssues(moved), label).toEqual([]);
    const stored = await apply(ns.kube, moved, { dryRun: true, fieldManager: 'kubectl' });
    expect(stored.metadata?.name, label).toBe(object.metadata?.name);
  }
}

describe('docs/examples', async () => {
  const files = (await readdir(join(root, 'docs', 'examples')))
    .filter((file) => file.endsWith('.yaml'))
    .sort();

  it('has the examples docs/api.md lists', () => {
    expect(files).toEqual(['gateway-ab-test.yaml', 'istio-canary.yaml', 'kubernetes-blue-green.yaml']);
  });

  it.each(files)('%s applies and Sluice accepts it', async (file) => {
    const objects = documents(await readFile(join(root, 'docs', 'examples', file), 'utf8'));
    expect(objects.some((object) => object.kind === 'Canary')).toBe(true);
    await check(`docs/examples/${file}`, objects);
  });
});

describe('the YAML blocks of docs/*.md', async () => {
  const pages = (await readdir(join(root, 'docs'))).filter((file) => file.endsWith('.md')).sort();
  const blocks: [string, string][] = [];
  for (const page of pages) {
    const text = await readFile(join(root, 'docs', page), 'utf8');
    for (const match of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) blocks.push([`docs/${page}`, match[1]!]);
  }

  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it.each(blocks.map(([page, block], i) => [`${page} #${i + 1}`, page, block] as const))(
    '%s applies and Sluice accepts it',
    async (where, page, block) => {
      const objects = objectsOf(page, block);
      if (objects === undefined) {
        expect(NOT_SLUICE[`${page}: ${block.split('\n')[0]!.trim()}`]).toBeTruthy();
        return;
      }
      await check(where, objects);
    },
  );

  it('lists as not Sluice’s only blocks that are still there', () => {
    const present = new Set(blocks.map(([page, block]) => `${page}: ${block.split('\n')[0]!.trim()}`));
    expect(Object.keys(NOT_SLUICE).filter((key) => !present.has(key))).toEqual([]);
  });
});
