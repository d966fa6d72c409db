import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpMethod, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readCanary } from '../../src/controller/reconciler.ts';
import { addUser } from '../../src/dev/cluster.ts';
import { freePort } from '../../src/dev/process.ts';
import { apply, connect, isNotFound, loadKubeConfig, type Kube } from '../../src/kube/client.ts';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';
import { canaryObject } from '../support/canaries.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { configMap, hpa, secret } from '../support/objects.ts';
import { podinfoDeployment } from '../support/sluice.ts';
import { DENIED, describeAccess, NEEDED, rbacMismatch, type Access } from './access.ts';
import { find, kustomizeBuild, REPO, RoleObject, Workload, type Manifest } from './render.ts';

// The RBAC of deploy/ is enough, and no more: the rendered ClusterRole, Role and bindings
// are applied for real, the ServiceAccount's identity gets a kubeconfig of its own, access
// reviews ask the apiserver what it may and may not do, and then `sluice controller`, run
// with the rendered Deployment's arguments under that identity, takes a canary through
// bootstrap, a promotion and revertOnDeletion without one forbidden request.

const ns = useNamespace('deploy-rbac');
const SERVICE_ACCOUNT = 'sluice';
let sa: Kube;
let saKubeconfig: string;
let clusterRoleName: string;
let base: Manifest[];

beforeAll(async () => {
  base = await kustomizeBuild('');
  // Cluster-scoped objects get a name of this test's own; subjects point at its namespace.
  clusterRoleName = `sluice-${ns.name}`;
  const clusterRole = RoleObject.parse(find(base, 'ClusterRole'));
  await apply(ns.kube, { ...clusterRole, metadata: { name: clusterRoleName } } as KubernetesObject);
  await apply(ns.kube, {
    ...find(base, 'ClusterRoleBinding'),
    metadata: { name: clusterRoleName },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
    subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: ns.name }],
  } as KubernetesObject);
  for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) {
    const manifest = structuredClone(find(base, kind));
    manifest.metadata.namespace = ns.name;
    if (kind === 'RoleBinding')
      manifest.subjects = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: ns.name }];
    await apply(ns.kube, manifest as KubernetesObject);
  }
  saKubeconfig = await addUser(testEnv().stateDir, `system:serviceaccount:${ns.name}:${SERVICE_ACCOUNT}`, [
    'system:serviceaccounts',
    `system:serviceaccounts:${ns.name}`,
  ]);
  sa = connect(loadKubeConfig(saKubeconfig));
}, 900_000);

afterAll(async () => {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  for (const path of [
    `${rbac}/clusterrolebindings/${clusterRoleName}`,
    `${rbac}/clusterroles/${clusterRoleName}`,
  ]) {
    await ns.kube.wire.request(HttpMethod.DELETE, path).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
});

/** Asks the apiserver, as the ServiceAccount, whether it may do this. */
async function allowed(access: Access): Promise<boolean> {
  const review = await sa.wire.request<unknown>(
    HttpMethod.POST,
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb: access.verb,
            group: access.group ?? '',
            resource: access.resource,
            ...(access.subresource ? { subresource: access.subresource } : {}),
            ...(access.name ? { name: access.name } : {}),
            namespace: access.namespace ?? ns.name,
          },
        },
      },
    },
  );
  return z.object({ status: z.object({ allowed: z.boolean() }) }).parse(review).status.allowed;
}

describe('the RBAC rules of deploy/ (issue 16 §5)', () => {
  it('grant exactly what the controller needs: no wildcard, nothing else', () => {
    const rules = [find(base, 'ClusterRole'), find(base, 'Role')].flatMap(
      (role) => RoleObject.parse(role).rules,
    );
    expect(rbacMismatch(rules)).toEqual({ wildcards: [], unneeded: [], missing: [] });
  });
});

describe('the ServiceAccount of deploy/', () => {
  it('may do everything the controller does', async () => {
    const refused: string[] = [];
    for (const access of NEEDED) if (!(await allowed(access))) refused.push(describeAccess(access));
    expect(refused).toEqual([]);
  });

  it('may not do anything else worth worrying about', async () => {
    const granted: string[] = [];
    for (const access of DENIED) if (await allowed(access)) granted.push(describeAccess(access));
    expect(granted).toEqual([]);
  });

  it('lists canaries, workloads, configuration and routes in every namespace, as the informers do', async () => {
    for (const path of [
      '/apis/sluice.dev/v1alpha1/canaries',
      '/apis/apps/v1/deployments',
      '/apis/apps/v1/daemonsets',
      '/api/v1/configmaps',
      '/api/v1/secrets',
      '/apis/networking.istio.io/v1/virtualservices',
      '/apis/gateway.networking.k8s.io/v1/httproutes',
    ]) {
      const list = await sa.wire.request<unknown>(HttpMethod.GET, path, { query: { limit: '1' } });
      expect(z.object({ items: z.array(z.unknown()) }).safeParse(list).success, path).toBe(true);
    }
  });
});

describe('sluice controller with the rendered arguments, as that ServiceAccount', () => {
  let child: ChildProcess | undefined;
  let logFile = '';
  let receiver: Receiver;
  const image = (tag: string) => `ghcr.io/stefanprodan/podinfo:${tag}`;

  /** The target; `crash` makes its containers fail (kwok's pod-container-running-failed stage). */
  const deployment = (tag: string, crash = false) =>
    podinfoDeployment({
      namespace: ns.name,
      image: image(tag),
      replicas: 1,
      labels: crash ? { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' } : {},
      container: {
        envFrom: [{ configMapRef: { name: 'podinfo-config' } }],
        volumeMounts: [{ name: 'token', mountPath: '/var/run/token' }],
      },
      podSpec: { volumes: [{ name: 'token', secret: { secretName: 'podinfo-token' } }] },
    });

  beforeAll(async () => {
    receiver = await startReceiver();
    const kube = ns.kube;
    const objects: object[] = [
      configMap(ns.name, 'podinfo-config', { COLOR: 'blue' }),
      secret(ns.name, 'podinfo-token', { token: 't0ken' }),
      secret(ns.name, 'alert-url', { address: `${receiver.url}/alerts` }),
      deployment('6.0.0'),
      hpa(ns.name, 'podinfo', { minReplicas: 1, maxReplicas: 2, cpuUtilization: 80 }),
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'MetricTemplate',
        metadata: { name: 'always-one', namespace: ns.name },
        spec: { provider: { type: 'prometheus', address: testEnv().prometheusUrl }, query: 'vector(1)' },
      },
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AlertProvider',
        metadata: { name: 'receiver', namespace: ns.name },
        spec: { type: 'generic', secretRef: { name: 'alert-url' } },
      },
    ];
    for (const object of objects) await apply(kube, object as KubernetesObject, { fieldManager: 'kubectl' });

    // Exactly the container's arguments, plus what differs outside a pod: the kubeconfig of
    // the ServiceAccount's identity, one namespace (other tests' canaries are not ours), a free port.
    const container = Workload.parse(find(base, 'Deployment')).spec.template.spec.containers[0];
    if (!container) throw new Error('no controller container');
    const port = await freePort();
    const logs = join(testEnv().stateDir, 'logs');
    await mkdir(logs, { recursive: true });
    logFile = join(logs, `deploy-rbac-${ns.name}.log`);
    const out = createWriteStream(logFile);
    const env: NodeJS.ProcessEnv = { ...process.env, POD_NAMESPACE: ns.name, POD_NAME: 'sluice-rbac-0' };
    for (const variable of container.env)
      if (variable.value !== undefined) env[variable.name] = variable.value;
    child = spawn(
      process.execPath,
      [
        join(REPO, 'src/cli/main.ts'),
        ...container.args,
        '--kubeconfig',
        saKubeconfig,
        '--namespace',
        ns.name,
        `--port=${port}`,
        '--log-level=debug',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    await eventually(
      'the controller to serve /readyz',
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await receiver?.close();
  });

  const phase = async () => (await readCanary(ns.kube, ns.name, 'podinfo')).status?.phase;
  const refusals = async () =>
    (await readFile(logFile, 'utf8')).split('\n').filter((line) => /forbidden/i.test(line));
  /** Waits for a phase; fails at once, naming the request, if the controller was refused anything. */
  const reach = async (wanted: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [refused] = await refusals();
      if (refused) throw new Error(`on the way to ${wanted}, the controller was refused: ${refused}`);
      const current = await phase();
      if (current === wanted) return;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${wanted} (phase ${current})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const exists = async (apiVersion: string, kind: string, name: string) =>
    ns.kube.wire.getObject({ apiVersion, kind, metadata: { name, namespace: ns.name } }).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );

  it('takes the lease, bootstraps, promotes, alerts, records events, rolls a crashing release back and reverts on deletion', async () => {
    await apply(
      ns.kube,
      canaryObject(ns.name, {
        provider: 'istio',
        autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'podinfo' },
        revertOnDeletion: true,
        analysis: {
          interval: '10s',
          threshold: 2,
          maxWeight: 50,
          stepWeight: 50,
          metrics: [{ name: 'always-one', templateRef: { name: 'always-one' }, thresholdRange: { min: 1 } }],
          alerts: [{ name: 'receiver', severity: 'info', providerRef: { name: 'receiver' } }],
        },
      }),
      { fieldManager: 'kubectl' },
    );

    // Leader election in the pod's namespace, with the Lease the Role allows (readiness
    // only says the informers synced; the lease may come a moment later).
    const holder = await eventually(
      'the leader Lease',
      async () =>
        (await ns.kube.coordination.readNamespacedLease({ name: 'sluice-controller', namespace: ns.name }))
          .spec?.holderIdentity,
      { timeoutMs: 30_000 },
    );
    expect(holder).toMatch(/^sluice-rbac-0-\d+$/);

    await reach('Initialized', 90_000);
    for (const [apiVersion, kind, name] of [
      ['apps/v1', 'Deployment', 'podinfo-primary'],
      ['autoscaling/v2', 'HorizontalPodAutoscaler', 'podinfo-primary'],
      ['v1', 'ConfigMap', 'podinfo-config-primary'],
      ['v1', 'Secret', 'podinfo-token-primary'],
      ['v1', 'Service', 'podinfo-primary'],
      ['v1', 'Service', 'podinfo-canary'],
      ['networking.istio.io/v1', 'VirtualService', 'podinfo'],
      ['networking.istio.io/v1', 'DestinationRule', 'podinfo-primary'],
    ] as const) {
      expect(await exists(apiVersion, kind, name), `${kind} ${name}`).toBe(true);
    }

    await apply(ns.kube, deployment('6.0.1') as KubernetesObject, { fieldManager: 'kubectl' });
    await reach('Succeeded', 150_000);
    const primary = await ns.kube.apps.readNamespacedDeployment({
      name: 'podinfo-primary',
      namespace: ns.name,
    });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe(image('6.0.1'));
    // The analysis read the MetricTemplate; the alert went through the AlertProvider and its Secret.
    expect((await readCanary(ns.kube, ns.name, 'podinfo')).status).toBeDefined();
    await eventually(
      'an alert at the receiver',
      async () => receiver.received.some((r) => r.path === '/alerts'),
      {
        timeoutMs: 30_000,
      },
    );
    const events = await ns.kube.core.listNamespacedEvent({ namespace: ns.name });
    expect(events.items.filter((e) => e.involvedObject.kind === 'Canary').length).toBeGreaterThan(0);

    // A release whose containers fail is rolled back; its failing pod is told apart from
    // older ones through the ReplicaSets.
    await apply(ns.kube, deployment('6.0.2', true) as KubernetesObject, { fieldManager: 'kubectl' });
    await reach('Failed', 150_000);
    expect(
      (await ns.kube.apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns.name })).spec
        ?.template.spec?.containers[0]?.image,
    ).toBe(image('6.0.1'));
    // Git goes back to the promoted revision (not a new rollout), so the target can take the traffic back.
    await apply(ns.kube, deployment('6.0.1') as KubernetesObject, { fieldManager: 'kubectl' });

    await ns.kube.wire.deleteObject({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: 'podinfo', namespace: ns.name },
    });
    await eventually(
      'the Canary gone after revertOnDeletion',
      async () => !(await exists('sluice.dev/v1alpha1', 'Canary', 'podinfo')),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    for (const [apiVersion, kind, name] of [
      ['apps/v1', 'Deployment', 'podinfo-primary'],
      ['autoscaling/v2', 'HorizontalPodAutoscaler', 'podinfo-primary'],
      ['networking.istio.io/v1', 'VirtualService', 'podinfo'],
      ['networking.istio.io/v1', 'DestinationRule', 'podinfo-canary'],
      ['v1', 'Service', 'podinfo-canary'],
    ] as const) {
      expect(await exists(apiVersion, kind, name), `${kind} ${name} removed`).toBe(false);
    }

    // Not one request was refused, and the process is still running.
    expect(await refusals()).toEqual([]);
    expect(child?.exitCode).toBeNull();
    // About 35 s alone; each phase has its own bound above, so allow for a busy machine.
  }, 420_000);
});
