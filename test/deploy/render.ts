import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { run } from '../../src/dev/binaries.ts';
import { consoleProgress } from '../../src/dev/progress.ts';
import { ensureTool } from '../support/tools.ts';

// Renders deploy/ the way users install it: `kustomize build` and `helm template`, with
// kustomize v5 and Helm 3 built from their pinned Go modules (test/support/tools.ts) on first use.

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY = `${REPO}deploy`;
export const CHART = `${DEPLOY}/chart`;

/** A rendered manifest: enough typed structure to find and compare objects, the rest kept. */
export const Manifest = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});
export type Manifest = z.output<typeof Manifest>;

export const PolicyRule = z.object({
  apiGroups: z.array(z.string()).default([]),
  resources: z.array(z.string()).default([]),
  resourceNames: z.array(z.string()).optional(),
  verbs: z.array(z.string()).min(1),
  nonResourceURLs: z.array(z.string()).optional(),
});
export type PolicyRule = z.output<typeof PolicyRule>;

export const RoleObject = Manifest.extend({ rules: z.array(PolicyRule) });

const Probe = z.looseObject({
  httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }),
});
const EnvVar = z.looseObject({ name: z.string(), value: z.string().optional() });
const EnvFrom = z.looseObject({
  secretRef: z.looseObject({ name: z.string() }).optional(),
  configMapRef: z.looseObject({ name: z.string() }).optional(),
});
export const Container = z.looseObject({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).default([]),
  env: z.array(EnvVar).default([]),
  envFrom: z.array(EnvFrom).default([]),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z
    .looseObject({
      requests: z.record(z.string(), z.string()).optional(),
      limits: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  securityContext: z
    .looseObject({
      allowPrivilegeEscalation: z.boolean().optional(),
      privileged: z.boolean().optional(),
      readOnlyRootFilesystem: z.boolean().optional(),
      runAsNonRoot: z.boolean().optional(),
      runAsUser: z.number().optional(),
      capabilities: z.looseObject({ drop: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
});
export type Container = z.output<typeof Container>;

export const PodSpec = z.looseObject({
  serviceAccountName: z.string().optional(),
  securityContext: z
    .looseObject({
      runAsNonRoot: z.boolean().optional(),
      runAsUser: z.number().optional(),
      seccompProfile: z.looseObject({ type: z.string() }).optional(),
    })
    .optional(),
  containers: z.array(Container).min(1),
});

export const Workload = Manifest.extend({
  spec: z.looseObject({
    replicas: z.number().optional(),
    template: z.looseObject({
      metadata: z.looseObject({ annotations: z.record(z.string(), z.string()).optional() }).optional(),
      spec: PodSpec,
    }),
  }),
});
export type Workload = z.output<typeof Workload>;

/** Parses a multi-document YAML stream into manifests, naming the document that is not one. */
export function parseManifests(text: string, source: string): Manifest[] {
  const manifests: Manifest[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    if (document.errors.length > 0)
      throw new Error(`${source}, document ${index + 1}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    const parsed = Manifest.safeParse(value);
    if (!parsed.success)
      throw new Error(`${source}, document ${index + 1} is not a Kubernetes object: ${parsed.error.message}`);
    manifests.push(parsed.data);
  });
  return manifests;
}

const progress = consoleProgress();

/** kustomize and helm, built once into ~/.cache/sluice/tools (minutes on a fresh machine, then instant). */
export async function ensureDeployTools(): Promise<void> {
  await ensureTool('kustomize', progress);
  await ensureTool('helm', progress);
}

/** `kustomize build <dir>` (dir relative to deploy/). */
export async function kustomizeBuild(dir: string): Promise<Manifest[]> {
  const kustomize = await ensureTool('kustomize', progress);
  const out = await run(kustomize, ['build', `${DEPLOY}/${dir}`]);
  return parseManifests(out, `kustomize build deploy/${dir}`);
}

/** `helm template <release> deploy/chart` with the given values files (relative to the chart). */
export async function helmTemplate(
  options: { release?: string; namespace?: string; values?: string[]; set?: string[] } = {},
): Promise<Manifest[]> {
  const out = await helm(templateArgs(options));
  return parseManifests(out, `helm template ${(options.values ?? []).join(' ')}`);
}

export function templateArgs(
  options: { release?: string; namespace?: string; values?: string[]; set?: string[] } = {},
): string[] {
  return [
    'template',
    options.release ?? 'sluice',
    CHART,
    '--namespace',
    options.namespace ?? 'sluice-system',
    '--include-crds',
    ...(options.values ?? []).flatMap((file) => ['--values', `${CHART}/${file}`]),
    ...(options.set ?? []).flatMap((value) => ['--set', value]),
  ];
}

/** Runs helm; rejects with its output when it fails. */
export async function helm(args: string[]): Promise<string> {
  const binary = await ensureTool('helm', progress);
  return run(binary, args);
}

export const key = (m: Pick<Manifest, 'kind' | 'metadata'>) =>
  `${m.kind}/${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${manifests.map(key).join(', ')}`);
  return found;
}

export const workloads = (manifests: Manifest[]): Workload[] =>
  manifests
    .filter((m) => m.kind === 'Deployment' || m.kind === 'DaemonSet' || m.kind === 'StatefulSet')
    .map((m) => Workload.parse(m));

export const roles = (manifests: Manifest[]) =>
  manifests.filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role').map((m) => RoleObject.parse(m));

/** Rules as sorted, comparable strings: one per (group, resource, resourceNames, verb). */
export function flattenRules(rules: PolicyRule[]): string[] {
  const flat = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs)
          flat.add(
            `${group || 'core'}/${resource}${rule.resourceNames ? `[${rule.resourceNames.join(',')}]` : ''}:${verb}`,
          );
  }
  return [...flat].sort();
}
