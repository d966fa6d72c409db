import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpMethod, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { apply } from '../../src/kube/client.ts';
import { useNamespace, writeTokenKubeconfig } from '../support/kube.ts';
import { post, startLoadtester, type RunningLoadtester } from './process.ts';

// deploy/loadtester against the real apiserver: every manifest is accepted, and the
// ServiceAccount's Role is enough for the gate store and nothing more.

const DIR = fileURLToPath(new URL('../../deploy/loadtester/', import.meta.url));
const ns = useNamespace('lt-deploy');
const SERVICE_ACCOUNT = 'sluice-loadtester';

async function manifests(): Promise<KubernetesObject[]> {
  const kustomization = parse(await readFile(join(DIR, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  const objects: KubernetesObject[] = [];
  for (const file of kustomization.resources) {
    for (const document of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
      objects.push(document.toJS() as KubernetesObject);
    }
  }
  return objects;
}

async function allowed(verb: string, resource: string, name?: string): Promise<boolean> {
  const review = await ns.kube.wire.request<{ status: { allowed: boolean } }>(
    HttpMethod.POST,
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${ns.name}:${SERVICE_ACCOUNT}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${ns.name}`, 'system:authenticated'],
          resourceAttributes: { namespace: ns.name, verb, resource, ...(name ? { name } : {}) },
        },
      },
    },
  );
  return review.status.allowed;
}

let objects: KubernetesObject[];

beforeAll(async () => {
  objects = await manifests();
  for (const object of objects) {
    await apply(ns.kube, { ...object, metadata: { ...object.metadata, namespace: ns.name } });
  }
});

describe('deploy/loadtester', () => {
  it('has a ServiceAccount, Role, RoleBinding, Deployment and Service the apiserver accepts', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('runs as non-root with probes and resources', async () => {
    const deployment = await ns.kube.apps.readNamespacedDeployment({
      name: 'sluice-loadtester',
      namespace: ns.name,
    });
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(container.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.resources?.requests).toBeDefined();
    expect(container.resources?.limits).toBeDefined();
    expect(container.args).toEqual(
      expect.arrayContaining(['loadtester', '--gate-configmap=sluice-loadtester-gates']),
    );
  });

  it('lets the ServiceAccount use the gate ConfigMap and nothing else', async () => {
    for (const verb of ['get', 'update', 'patch']) {
      expect(await allowed(verb, 'configmaps', 'sluice-loadtester-gates')).toBe(true);
      expect(await allowed(verb, 'configmaps', 'someone-elses')).toBe(false);
    }
    expect(await allowed('create', 'configmaps')).toBe(true);
    expect(await allowed('delete', 'configmaps', 'sluice-loadtester-gates')).toBe(false);
    expect(await allowed('list', 'configmaps')).toBe(false);
    expect(await allowed('get', 'secrets', 'anything')).toBe(false);
  });

  describe('as the ServiceAccount', () => {
    let dir: string;
    let loadtester: RunningLoadtester;

    beforeAll(async () => {
      const token = await ns.kube.core.createNamespacedServiceAccountToken({
        name: SERVICE_ACCOUNT,
        namespace: ns.name,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      dir = await mkdtemp(join(tmpdir(), 'sluice-lt-sa-'));
      const kubeconfig = join(dir, 'kubeconfig');
      await writeTokenKubeconfig(kubeconfig, token.status!.token!, ns.name);
      // No --gate-namespace: the context's namespace, as POD_NAMESPACE would give in a pod.
      loadtester = await startLoadtester(['--kubeconfig', kubeconfig]);
    });

    afterAll(async () => {
      await loadtester.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('creates and uses the gate ConfigMap with only the Role’s permissions', async () => {
      const gate = (path: string) =>
        post(`${loadtester.url}${path}`, { name: 'podinfo', namespace: ns.name });
      expect((await gate('/gate/check')).status).toBe(403);
      expect((await gate('/gate/open')).status).toBe(202);
      expect((await gate('/gate/check')).status).toBe(200);
      expect((await gate('/gate/close')).status).toBe(202);
      expect((await gate('/gate/check')).status).toBe(403);
      const configMap = await ns.kube.core.readNamespacedConfigMap({
        name: 'sluice-loadtester-gates',
        namespace: ns.name,
      });
      expect(configMap.data).toEqual({ [`gate.${ns.name}.podinfo`]: 'closed' });
    });
  });
});
