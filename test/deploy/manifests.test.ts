import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { renderCrds } from '../../src/api/crd.ts';
import { DURATION_PATTERN } from '../../src/api/duration.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { goModuleDir, run } from '../../src/dev/binaries.ts';
import { installCrds } from '../../src/dev/cluster.ts';
import { consoleProgress } from '../../src/dev/progress.ts';
import { ensureTool } from '../support/tools.ts';
import { apiErrorMessage, apply, loadKubeConfig, statusCode } from '../../src/kube/client.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { CHART, DEPLOY, ensureDeployTools, REPO, find, flattenRules, helm, helmTemplate } from './render.ts';
import { key, kustomizeBuild, Manifest, parseManifests, roles, templateArgs, workloads } from './render.ts';
import type { Container, Workload } from './render.ts';

// deploy/ as users install it: the kustomize base and the Helm chart rendered by the real
// tools, checked for least privilege and hardening, compared with each other, and applied
// to the real control plane with server-side dry run.

const ns = useNamespace('deploy');
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
]);
/** prometheus-operator's CRDs, for the ServiceMonitor (pinned like the harness's other CRDs). */
const PROMETHEUS_OPERATOR = {
  module: 'github.com/prometheus-operator/prometheus-operator',
  version: 'v0.85.0',
};

let base: Manifest[];
let monitored: Manifest[];
let loadtester: Manifest[];
let chartDefault: Manifest[];
let chartAll: Manifest[];
let chartSingle: Manifest[];
let chartShards: Manifest[];

beforeAll(async () => {
  await ensureDeployTools();
  [base, monitored, loadtester, chartDefault, chartAll, chartSingle, chartShards] = await Promise.all([
    kustomizeBuild(''),
    kustomizeBuild('overlays/servicemonitor'),
    kustomizeBuild('loadtester'),
    helmTemplate(),
    helmTemplate({ values: ['ci/all-values.yaml'] }),
    helmTemplate({ values: ['ci/single-values.yaml'] }),
    helmTemplate({ values: ['ci/shards-values.yaml'] }),
  ]);
}, 900_000);

const renderings = () =>
  [
    ['kustomize deploy/', base],
    ['kustomize deploy/overlays/servicemonitor', monitored],
    ['kustomize deploy/loadtester', loadtester],
    ['helm template (default values)', chartDefault],
    ['helm template -f ci/all-values.yaml', chartAll],
    ['helm template -f ci/single-values.yaml', chartSingle],
    ['helm template -f ci/shards-values.yaml', chartShards],
  ] as const;

const controllerOf = (manifests: Manifest[], name?: string): Container => {
  const deployment = workloads(manifests).find(
    (w) =>
      (name === undefined || w.metadata.name === name) &&
      w.spec.template.spec.containers.some((c) => c.name === 'controller'),
  );
  const container = deployment?.spec.template.spec.containers.find((c) => c.name === 'controller');
  if (!container) throw new Error('no controller container rendered');
  return container;
};

const controllerWorkload = (manifests: Manifest[]): Workload => {
  const found = workloads(manifests).find((w) => w.spec.template.spec.containers[0]?.name === 'controller');
  if (!found) throw new Error('no controller Deployment rendered');
  return found;
};

describe('kustomize base (kubectl apply -k deploy/)', () => {
  it('renders the namespace, the CRDs, RBAC, the Deployment, its Service and its PodDisruptionBudget', () => {
    expect(base.map(key).sort()).toEqual(
      [
        'ClusterRole/sluice',
        'ClusterRoleBinding/sluice',
        'CustomResourceDefinition/alertproviders.sluice.dev',
        'CustomResourceDefinition/canaries.sluice.dev',
        'CustomResourceDefinition/metrictemplates.sluice.dev',
        'Deployment/sluice-system/sluice',
        'Namespace/sluice-system',
        'PodDisruptionBudget/sluice-system/sluice',
        'Role/sluice-system/sluice-leader-election',
        'RoleBinding/sluice-system/sluice-leader-election',
        'Service/sluice-system/sluice',
        'ServiceAccount/sluice-system/sluice',
      ].sort(),
    );
  });

  it('ships exactly the CRDs npm run gen:crds generates, in the base and in the chart', async () => {
    const generated = renderCrds().map(({ text }) => Manifest.parse(parse(text)));
    const specOf = (manifests: Manifest[]) =>
      Object.fromEntries(
        manifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => [m.metadata.name, m.spec]),
      );
    expect(specOf(base)).toEqual(specOf(generated));
    expect(specOf(chartDefault)).toEqual(specOf(generated));
    // The chart's crds/ files are the generated files byte for byte.
    for (const { file, text } of renderCrds()) {
      expect(await readFile(join(CHART, 'crds', file), 'utf8')).toBe(text);
    }
  });

  it('binds the ClusterRole and the leader-election Role to the sluice ServiceAccount', () => {
    const Binding = Manifest.extend({
      roleRef: z.object({ kind: z.string(), name: z.string() }),
      subjects: z.array(z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })),
    });
    for (const [kind, roleKind, name] of [
      ['ClusterRoleBinding', 'ClusterRole', 'sluice'],
      ['RoleBinding', 'Role', 'sluice-leader-election'],
    ] as const) {
      const binding = Binding.parse(find(base, kind));
      expect(binding.roleRef).toMatchObject({ kind: roleKind, name });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'sluice', namespace: 'sluice-system' },
      ]);
    }
    expect(controllerWorkload(base).spec.template.spec.serviceAccountName).toBe('sluice');
  });

  it('limits the leader-election Role to the one Lease the controller uses', () => {
    const role = roles(base).find((r) => r.kind === 'Role');
    const args = controllerOf(base).args;
    const id = args.find((a) => a.startsWith('--leader-election-id='))?.split('=')[1];
    expect(id).toBe('sluice-controller');
    expect(flattenRules(role?.rules ?? [])).toEqual([
      'coordination.k8s.io/leases:create',
      `coordination.k8s.io/leases[${id}]:get`,
      `coordination.k8s.io/leases[${id}]:update`,
    ]);
  });

  it('runs two replicas with leader election, the downward API and the metrics port', () => {
    const deployment = controllerWorkload(base);
    expect(deployment.spec.replicas).toBe(2);
    const container = controllerOf(base);
    expect(container.image).toBe('ghcr.io/sluice-dev/sluice:0.1.0');
    expect(container.args[0]).toBe('controller');
    expect(container.args).not.toContain('--no-leader-elect');
    expect(container.env.map((e) => e.name)).toEqual(
      expect.arrayContaining(['POD_NAMESPACE', 'POD_NAME', 'MALLOC_ARENA_MAX']),
    );
    expect(container.livenessProbe?.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet.path).toBe('/readyz');
    const pdb = find(base, 'PodDisruptionBudget');
    expect(pdb.spec).toMatchObject({
      minAvailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'sluice' } },
    });
  });

  it('builds the overlay docs/install.md shows: pinned image, a patched flag, notification Secret, ServiceMonitor', async () => {
    const docs = await readFile(join(REPO, 'docs/install.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const Overlay = z.looseObject({ patches: z.array(z.unknown()).default([]) });
    const overlayText = blocks.find((b) => b.includes('https://github.com/sluice-dev/sluice//deploy?ref='));
    const envFromText = blocks.find((b) => b.includes('envFrom'));
    if (!overlayText || !envFromText) throw new Error('docs/install.md lost its kustomize examples');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-overlay-'));
    try {
      // The remote bases become this checkout (relative: kustomize refuses absolute paths).
      const local = overlayText.replace(
        /https:\/\/github\.com\/sluice-dev\/sluice\/\/(deploy[^?]*)\?ref=\S+/g,
        (_match, path: string) => relative(dir, join(REPO, path)),
      );
      const overlay = Overlay.parse(parse(local));
      overlay.patches.push(...Overlay.parse(parse(envFromText)).patches);
      await writeFile(join(dir, 'kustomization.yaml'), JSON.stringify(overlay));
      const kustomize = await ensureTool('kustomize', consoleProgress());
      const out = await run(kustomize, ['build', '--load-restrictor', 'LoadRestrictionsNone', dir]);
      const manifests = parseManifests(out, 'the overlay of docs/install.md');
      const container = controllerOf(manifests);
      expect(container.image).toBe('ghcr.io/sluice-dev/sluice:0.1.0');
      expect(container.args).toContain('--metrics-server=http://prometheus.monitoring:9090');
      expect(container.args.filter((a) => a.startsWith('--metrics-server'))).toHaveLength(1);
      expect(container.envFrom).toEqual([{ secretRef: { name: 'sluice-notifications' } }]);
      expect(find(manifests, 'ServiceMonitor').metadata.namespace).toBe('sluice-system');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes another image and registry from an overlay with kustomize images:', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-overlay-'));
    try {
      await writeFile(
        join(dir, 'kustomization.yaml'),
        [
          `resources: [${JSON.stringify(relative(dir, DEPLOY))}]`,
          'images:',
          '  - name: ghcr.io/sluice-dev/sluice',
          '    newName: registry.example.com/mirror/sluice',
          '    newTag: 9.9.9',
        ].join('\n'),
      );
      const kustomize = await ensureTool('kustomize', consoleProgress());
      const out = await run(kustomize, ['build', '--load-restrictor', 'LoadRestrictionsNone', dir]);
      expect(controllerOf(parseManifests(out, 'overlay')).image).toBe(
        'registry.example.com/mirror/sluice:9.9.9',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('adds a ServiceMonitor in the servicemonitor overlay that keeps the canary namespace label', () => {
    const monitor = find(monitored, 'ServiceMonitor');
    expect(monitor.metadata.namespace).toBe('sluice-system');
    expect(monitor.spec).toMatchObject({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'sluice' } },
      endpoints: [{ port: 'http-metrics', path: '/metrics', honorLabels: true }],
    });
    expect(monitored.map(key).filter((k) => !k.startsWith('ServiceMonitor/'))).toEqual(base.map(key));
  });
});

describe('every rendering', () => {
  it('grants no wildcard: every RBAC rule names its groups, resources and verbs', () => {
    for (const [what, manifests] of renderings()) {
      for (const role of roles(manifests)) {
        for (const rule of role.rules) {
          const where = `${what}: ${key(role)} rule ${JSON.stringify(rule)}`;
          expect(rule.verbs, where).not.toContain('*');
          expect(rule.resources, where).not.toContain('*');
          expect(rule.apiGroups, where).not.toContain('*');
          expect(
            rule.resources.some((r) => r.endsWith('/*')),
            where,
          ).toBe(false);
          expect(rule.nonResourceURLs, where).toBeUndefined();
          expect(rule.resources.length, where).toBeGreaterThan(0);
        }
      }
    }
  });

  it('runs every container as non-root, read-only, without capabilities, with probes and resources', () => {
    let containers = 0;
    for (const [what, manifests] of renderings()) {
      for (const workload of workloads(manifests)) {
        const pod = workload.spec.template.spec;
        expect(pod.securityContext?.runAsNonRoot, `${what}: ${key(workload)}`).toBe(true);
        expect(pod.securityContext?.runAsUser, `${what}: ${key(workload)}`).toBe(65532);
        expect(pod.securityContext?.seccompProfile?.type, `${what}: ${key(workload)}`).toBe('RuntimeDefault');
        for (const container of pod.containers) {
          containers += 1;
          const where = `${what}: ${key(workload)} container ${container.name}`;
          expect(container.securityContext, where).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.securityContext?.privileged ?? false, where).toBe(false);
          expect(container.livenessProbe?.httpGet.path, where).toBeDefined();
          expect(container.readinessProbe?.httpGet.path, where).toBeDefined();
          expect(container.resources?.requests?.cpu, where).toBeDefined();
          expect(container.resources?.requests?.memory, where).toBeDefined();
          expect(container.resources?.limits?.memory, where).toBeDefined();
        }
      }
    }
    expect(containers).toBe(10);
  });

  it('protects every multi-replica controller with a PodDisruptionBudget', () => {
    for (const [what, manifests] of renderings()) {
      const replicas = workloads(manifests)
        .filter((w) => w.spec.template.spec.containers[0]?.name === 'controller')
        .map((w) => w.spec.replicas ?? 1);
      const pdbs = manifests.filter((m) => m.kind === 'PodDisruptionBudget');
      expect(pdbs.length, what).toBe(replicas.filter((r) => r > 1).length);
    }
  });

  it('names the namespace of every namespaced object (helm template | kubectl apply works)', () => {
    for (const [what, manifests] of renderings()) {
      if (what === 'kustomize deploy/loadtester') continue; // applied with -n <namespace> by design
      for (const m of manifests) {
        if (!CLUSTER_SCOPED.has(m.kind)) expect(m.metadata.namespace, `${what}: ${key(m)}`).toBeTruthy();
      }
    }
  });
});

describe('Helm chart (deploy/chart)', () => {
  it('passes helm lint --strict with the default values and each ci values file', async () => {
    for (const values of [[], ['ci/all-values.yaml'], ['ci/single-values.yaml'], ['ci/shards-values.yaml']]) {
      const out = await helm([
        'lint',
        '--strict',
        CHART,
        ...values.flatMap((v) => ['--values', `${CHART}/${v}`]),
      ]);
      expect(out).toContain('0 chart(s) failed');
    }
  });

  it('renders the same objects as the kustomize base, except the Namespace (helm install --create-namespace)', () => {
    expect(chartDefault.map(key).sort()).toEqual(
      base
        .filter((m) => m.kind !== 'Namespace')
        .map(key)
        .sort(),
    );
  });

  it('grants exactly the same RBAC rules as the kustomize base', () => {
    for (const kind of ['ClusterRole', 'Role']) {
      const fromChart = roles(chartDefault).find((r) => r.kind === kind);
      const fromBase = roles(base).find((r) => r.kind === kind);
      expect(flattenRules(fromChart?.rules ?? []), kind).toEqual(flattenRules(fromBase?.rules ?? []));
    }
  });

  it('starts the same controller as the kustomize base: arguments, environment, probes, resources, security', () => {
    const fromChart = controllerOf(chartDefault);
    const fromBase = controllerOf(base);
    expect(fromChart.image).toBe(fromBase.image);
    expect(fromChart.args).toEqual(fromBase.args);
    expect(fromChart.env).toEqual(fromBase.env);
    expect(fromChart.livenessProbe).toEqual(fromBase.livenessProbe);
    expect(fromChart.readinessProbe).toEqual(fromBase.readinessProbe);
    expect(fromChart.resources).toEqual(fromBase.resources);
    expect(fromChart.securityContext).toEqual(fromBase.securityContext);
    expect(controllerWorkload(chartDefault).spec.template.spec.securityContext).toEqual(
      controllerWorkload(base).spec.template.spec.securityContext,
    );
    expect(controllerWorkload(chartDefault).spec.replicas).toBe(controllerWorkload(base).spec.replicas);
  });

  it('renders every toggle: ServiceMonitor, load tester, notification Secret, dashboard, Slack buttons; RBAC, ServiceAccount and PDB off', () => {
    const kinds = (manifests: Manifest[]) => manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(kinds(chartAll)).toEqual(
      [
        ...kinds(chartDefault).filter((k) => k !== 'ServiceAccount/sluice'),
        'ServiceAccount/sluice-controller',
        'Secret/sluice-notifications',
        'ServiceMonitor/sluice',
        'ServiceAccount/sluice-loadtester',
        'Role/sluice-loadtester',
        'RoleBinding/sluice-loadtester',
        'Deployment/sluice-loadtester',
        'Service/sluice-loadtester',
        'Service/sluice-dashboard',
        'Secret/sluice-slack-chatops',
      ].sort(),
    );
    // The leader-election Role follows the lease: its namespace and its name.
    const leaseRole = roles(chartAll).find((r) => r.metadata.name === 'sluice-leader-election');
    expect(leaseRole?.metadata.namespace).toBe('sluice-leases');
    expect(flattenRules(leaseRole?.rules ?? [])).toContain(
      'coordination.k8s.io/leases[sluice-leader]:update',
    );
    expect(find(chartAll, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 2 });
    expect(find(chartAll, 'ServiceMonitor').spec).toMatchObject({
      endpoints: [{ port: 'http-metrics', interval: '30s', scrapeTimeout: '10s', honorLabels: true }],
    });
    const pod = controllerWorkload(chartAll).spec.template;
    expect(pod.metadata?.annotations?.['checksum/notifications']).toMatch(/^[0-9a-f]{64}$/);
    expect(pod.spec.serviceAccountName).toBe('sluice-controller');

    // The other side: one replica, no leader election, RBAC and ServiceAccount managed elsewhere.
    const crds = kinds(chartDefault).filter((k) => k.startsWith('CustomResourceDefinition/'));
    expect(kinds(chartSingle)).toEqual([...crds, 'Deployment/sluice', 'Service/sluice'].sort());
    expect(controllerWorkload(chartSingle).spec.template.spec.serviceAccountName).toBe('sluice-preexisting');
    expect(controllerOf(chartSingle).envFrom).toEqual([{ secretRef: { name: 'sluice-notifications' } }]);
  });

  it('sets every flag of `sluice controller` from values, as the real CLI parses them', async () => {
    const ValuesFile = z.looseObject({
      controller: z.looseObject({}).default({}),
      notifications: z.looseObject({}).default({}),
    });
    const all = ValuesFile.parse(parse(await readFile(join(CHART, 'ci/all-values.yaml'), 'utf8')));
    const fromAll = await parseController(chartAll, 'sluice-system');
    expect(fromAll.options).toMatchObject({
      kubeconfig: all.controller.kubeconfig,
      namespace: all.controller.namespace,
      watchNamespaces: 'team-a,team-b',
      meshProvider: all.controller.meshProvider,
      metricsServer: all.controller.metricsServer,
      logLevel: all.controller.logLevel,
      port: all.controller.port,
      leaderElect: true,
      leaderElectionNamespace: all.controller.leaderElectionNamespace,
      leaderElectionId: all.controller.leaderElectionId,
      leaseDuration: all.controller.leaseDuration,
      concurrency: all.controller.concurrency,
      resync: all.controller.resync,
      metricBatchWindow: '500ms',
      stepEvents: true,
      allowedUrlHosts: 'cluster-local,hooks.slack.com,*.webhook.office.com,events.example.com',
      slackUrl: 'https://hooks.slack.com/services/T000/B000/XXXX',
      slackToken: 'xoxb-not-a-real-token',
      slackUser: 'sluice',
      slackChannel: '#releases',
      msteamsUrl: 'https://example.webhook.office.com/workflows/1',
      eventWebhook: 'https://events.example.com/sluice',
      // extraArgs come last, so they win over the chart's own flag.
      clusterName: 'from-extra-args',
    });
    const fromSingle = await parseController(chartSingle, 'sluice-system');
    expect(fromSingle.options).toMatchObject({
      leaderElect: false,
      // No flag: the default comes from POD_NAMESPACE, which the downward API sets.
      leaderElectionNamespace: 'sluice-system',
      meshProvider: 'istio',
      port: 8080,
    });
    // Every long option of the command (and the global --kubeconfig and --namespace) is set
    // by one of the two files, as a flag or through its environment variable.
    const fromShard = await parseController(chartShards, 'sluice-system', 'sluice-eu-1');
    expect(fromShard.options).toMatchObject({ shard: 'eu-1', leaderElectionId: 'sluice-controller' });
    const covered = new Set([...fromAll.covered, ...fromSingle.covered, ...fromShard.covered]);
    const expected = [...fromAll.flags, '--kubeconfig', '--namespace'].filter((f) => f !== '--help');
    expect(expected.filter((flag) => !covered.has(flag))).toEqual([]);
  });

  it('renders one controller per shard besides the unsharded one: Deployment, leader Lease RBAC, metrics Service, PDB, ServiceMonitor', () => {
    const names = (kind: string) =>
      chartShards
        .filter((m) => m.kind === kind)
        .map((m) => m.metadata.name)
        .sort();
    expect(names('Deployment')).toEqual(['sluice', 'sluice-eu-1', 'sluice-eu-2']);
    expect(names('Service')).toEqual(['sluice', 'sluice-eu-1', 'sluice-eu-2']);
    expect(names('PodDisruptionBudget')).toEqual(['sluice', 'sluice-eu-1', 'sluice-eu-2']);
    expect(names('ServiceMonitor')).toEqual(['sluice', 'sluice-eu-1', 'sluice-eu-2']);
    expect(names('Role')).toEqual([
      'sluice-eu-1-leader-election',
      'sluice-eu-2-leader-election',
      'sluice-leader-election',
    ]);
    // The unsharded controller renders exactly as without shards (its selector is immutable).
    const unsharded = (manifests: Manifest[]) =>
      manifests.filter((m) => ['sluice', 'sluice-leader-election'].includes(m.metadata.name));
    expect(unsharded(chartShards).filter((m) => m.kind !== 'ServiceMonitor')).toEqual(
      unsharded(chartDefault),
    );
    const selectors = new Map<string, Record<string, string>>();
    for (const shard of ['eu-1', 'eu-2']) {
      const name = `sluice-${shard}`;
      expect(controllerOf(chartShards, name).args).toContain(`--shard=${shard}`);
      const lease = roles(chartShards).find((r) => r.metadata.name === `${name}-leader-election`);
      expect(lease?.rules.find((r) => r.resourceNames)?.resourceNames).toEqual([
        `sluice-controller-${shard}`,
      ]);
      const binding = find(chartShards, 'RoleBinding', `${name}-leader-election`);
      expect(binding).toMatchObject({ roleRef: { name: `${name}-leader-election` } });
      const deployment = z
        .object({ spec: z.object({ selector: z.object({ matchLabels: z.record(z.string(), z.string()) }) }) })
        .parse(find(chartShards, 'Deployment', name));
      selectors.set(name, deployment.spec.selector.matchLabels);
      expect(find(chartShards, 'Service', name)).toMatchObject({
        spec: { selector: deployment.spec.selector.matchLabels },
      });
    }
    expect(controllerOf(chartShards, 'sluice').args.some((a) => a.startsWith('--shard'))).toBe(false);
    // No controller's selector matches another's pods.
    const pods = workloads(chartShards).map((w) => ({
      name: w.metadata.name,
      labels: z
        .object({ metadata: z.object({ labels: z.record(z.string(), z.string()) }) })
        .parse(w.spec.template).metadata.labels,
    }));
    const defaultSelector = z
      .object({ spec: z.object({ selector: z.object({ matchLabels: z.record(z.string(), z.string()) }) }) })
      .parse(find(chartShards, 'Deployment', 'sluice')).spec.selector.matchLabels;
    selectors.set('sluice', defaultSelector);
    for (const [owner, selector] of selectors)
      for (const pod of pods.filter((p) => p.name !== owner && p.name.startsWith('sluice')))
        expect(
          Object.entries(selector).every(([k, v]) => pod.labels[k] === v),
          `${owner}'s selector matches ${pod.name}'s pods`,
        ).toBe(false);
  });

  it('refuses shard names a Deployment, a Lease or the chart’s own objects cannot take', async () => {
    for (const shard of ['EU', 'eu_1', 'dashboard', 'x'.repeat(41)]) {
      await expect(helm(templateArgs({ set: [`shards={${shard}}`] })), shard).rejects.toThrow(/shards\/0/);
    }
  });

  it('renders the load tester as deploy/loadtester does, with the same Role', () => {
    const fromChart = helmTemplate({ values: [], set: ['loadtester.enabled=true'] });
    return fromChart.then((manifests) => {
      const chartLoadtester = manifests.filter((m) => m.metadata.name === 'sluice-loadtester');
      expect(chartLoadtester.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
        loadtester.map((m) => `${m.kind}/${m.metadata.name}`).sort(),
      );
      expect(flattenRules(roles(chartLoadtester)[0]?.rules ?? [])).toEqual(
        flattenRules(roles(loadtester)[0]?.rules ?? []),
      );
      const [chartContainer] = workloads(chartLoadtester)[0]?.spec.template.spec.containers ?? [];
      expect(chartContainer?.args).toEqual(
        expect.arrayContaining(['loadtester', '--port=8080', '--gate-configmap=sluice-loadtester-gates']),
      );
    });
  });

  it('documents every value in the table of docs/install.md', async () => {
    // The first column of the table rows only: prose that mentions `loadtester` documents nothing.
    const docs = (await readFile(join(REPO, 'docs/install.md'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split(' | ')[0])
      .join('\n');
    const values: unknown = parse(await readFile(join(CHART, 'values.yaml'), 'utf8'));
    const leaves: string[] = [];
    const walk = (value: unknown, path: string[]) => {
      const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
      if (isMap && Object.keys(value).length > 0)
        for (const [name, child] of Object.entries(value)) walk(child, [...path, name]);
      else leaves.push(path.join('.'));
    };
    walk(values, []);
    // A value is documented by its own row or by a row for the object that holds it.
    const undocumented = leaves.filter(
      (leaf) =>
        !leaf.split('.').some((_, i, parts) => docs.includes(`\`${parts.slice(0, i + 1).join('.')}\``)),
    );
    expect(leaves.length).toBeGreaterThan(60);
    expect(undocumented).toEqual([]);
  });

  it('refuses values the schema does not know, or of the wrong type', async () => {
    const failure = async (set: string) => {
      try {
        await helm(templateArgs({ set: [set] }));
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
      throw new Error(`helm template --set ${set} succeeded`);
    };
    expect(await failure('controller.meshprovider=istio')).toContain(
      "additional properties 'meshprovider' not allowed",
    );
    expect(await failure('replicaCount=two')).toContain('/replicaCount');
    expect(await failure('controller.leaseDuration=15 seconds')).toContain('/controller/leaseDuration');
    expect(await failure('controller.logLevel=verbose')).toContain('/controller/logLevel');
    const schema = z
      .object({ definitions: z.object({ duration: z.object({ pattern: z.string() }) }) })
      .parse(JSON.parse(await readFile(join(CHART, 'values.schema.json'), 'utf8')));
    // Durations are checked with the pattern the CLI and the CRDs use.
    expect(schema.definitions.duration.pattern).toBe(DURATION_PATTERN);
  });
});

/**
 * The controller container's arguments and environment, parsed by the real `sluice` CLI:
 * plain values, the downward API, and the Secret the chart renders for envFrom.
 */
async function parseController(manifests: Manifest[], namespace: string, deployment?: string) {
  const container = controllerOf(manifests, deployment);
  const environment: Record<string, string> = {};
  for (const variable of container.env) {
    const field = z
      .object({ valueFrom: z.object({ fieldRef: z.object({ fieldPath: z.string() }) }) })
      .safeParse(variable);
    if (variable.value !== undefined) environment[variable.name] = variable.value;
    else if (field.success)
      environment[variable.name] =
        field.data.valueFrom.fieldRef.fieldPath === 'metadata.namespace' ? namespace : 'sluice-0';
  }
  for (const source of container.envFrom) {
    const secret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === source.secretRef?.name);
    if (secret) Object.assign(environment, z.record(z.string(), z.string()).parse(secret.stringData));
  }
  const commandOf = (program: Command) => {
    const command = program.commands.find((c) => c.name() === 'controller');
    if (!command) throw new Error('sluice has no controller command');
    return command;
  };
  const envVars = new Map(
    commandOf(buildProgram()).options.map((o) => [o.long ?? o.flags, o.envVar] as const),
  );
  // Only the container's environment: the test runner's own variables must not leak in.
  const saved = { ...process.env };
  for (const name of [...envVars.values(), 'POD_NAMESPACE', 'POD_NAME'])
    if (name !== undefined) delete process.env[name];
  Object.assign(process.env, environment);
  try {
    // Built after the environment is set: --leader-election-namespace defaults to $POD_NAMESPACE.
    const program = buildProgram();
    program.exitOverride();
    const controller = commandOf(program);
    let options: Record<string, unknown> = {};
    controller.action((_options: unknown, command: Command) => {
      options = command.optsWithGlobals();
    });
    await program.parseAsync(['node', 'sluice', ...container.args]);
    const flags = [...envVars.keys()];
    const given = new Set(container.args.map((a) => a.split('=')[0]));
    const covered = [...flags, '--kubeconfig', '--namespace'].filter((flag) => {
      const envVar = envVars.get(flag);
      return given.has(flag) || (envVar !== undefined && envVar in environment);
    });
    return { options, flags, covered };
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** Where a rendered object goes in the test: namespaced objects into the test's namespace. */
function relocate(manifest: Manifest, namespace: string): KubernetesObject {
  const copy = structuredClone(manifest);
  if (!CLUSTER_SCOPED.has(copy.kind)) copy.metadata.namespace = namespace;
  const subjects = z.array(z.looseObject({ namespace: z.string().optional() })).safeParse(copy.subjects);
  if (subjects.success)
    for (const subject of subjects.data) if (subject.namespace) subject.namespace = namespace;
  return copy as KubernetesObject;
}

describe('on the real control plane', () => {
  beforeAll(async () => {
    // The ServiceMonitor's own schema validates what the chart and the overlay render.
    const dir = await goModuleDir(PROMETHEUS_OPERATOR.module, PROMETHEUS_OPERATOR.version);
    await installCrds(loadKubeConfig(testEnv().kubeconfig), [
      join(dir, 'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml'),
    ]);
  }, 300_000);

  it('accepts every object of the base, the ServiceMonitor overlay and the chart with every toggle (server-side dry run)', async () => {
    const failures: string[] = [];
    let applied = 0;
    for (const [what, manifests] of renderings()) {
      for (const manifest of manifests) {
        try {
          await apply(ns.kube, relocate(manifest, ns.name), { dryRun: true });
          applied += 1;
        } catch (error) {
          failures.push(`${what}: ${key(manifest)}: ${apiErrorMessage(error)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(applied).toBeGreaterThan(60);
  });

  describe('pods under the restricted Pod Security Standard of the rendered Namespace', () => {
    const restricted = `${ns.name}-restricted`;
    afterAll(async () => {
      await ns.kube.core.deleteNamespace({ name: restricted }).catch(() => undefined);
    });

    it('admits the controller Deployment and its pods become Ready; a root pod is refused', async () => {
      const namespace = find(base, 'Namespace');
      await apply(ns.kube, {
        ...namespace,
        metadata: { ...namespace.metadata, name: restricted },
      } as KubernetesObject);
      await apply(ns.kube, relocate(find(base, 'ServiceAccount'), restricted));
      await apply(ns.kube, relocate(find(base, 'Deployment'), restricted));
      const ready = await eventually(
        'two Ready controller pods',
        async () => {
          const pods = await ns.kube.core.listNamespacedPod({ namespace: restricted });
          const readyPods = pods.items.filter((p) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          );
          return readyPods.length === 2 ? readyPods : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(ready.map((p) => p.spec?.securityContext?.runAsUser)).toEqual([65532, 65532]);
      // Enforcement is on: the same namespace refuses a pod that may run as root.
      const refused = await ns.kube.core
        .createNamespacedPod({
          namespace: restricted,
          body: { metadata: { name: 'root' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        })
        .then(
          () => 'created',
          (error: unknown) => `${statusCode(error)} ${apiErrorMessage(error)}`,
        );
      expect(refused).toMatch(/^403 .*violates PodSecurity "restricted/);
    });
  });
});
