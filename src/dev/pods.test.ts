import { describe, expect, it } from 'vitest';
import {
  DEMO_APP_LABEL,
  expandVariables,
  imageTag,
  isDemoPod,
  podSchema,
  podServing,
  resolvePodEnv,
  scrapeLabels,
  workloadOf,
  type ConfigLookup,
  type Pod,
} from './pods.ts';

function pod(overrides: { metadata?: object; spec?: object; status?: object } = {}): Pod {
  return podSchema.parse({
    metadata: {
      name: 'podinfo-7d9f8c5b4-x2k9p',
      namespace: 'shop',
      uid: 'u-1',
      labels: { app: 'podinfo', 'pod-template-hash': '7d9f8c5b4', [DEMO_APP_LABEL]: 'true' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'podinfo-7d9f8c5b4', controller: true }],
      ...overrides.metadata,
    },
    spec: { containers: [{ name: 'app', image: 'ghcr.io/stefanprodan/podinfo:6.1.0' }], ...overrides.spec },
    status: {
      phase: 'Running',
      podIP: '10.244.0.7',
      conditions: [{ type: 'Ready', status: 'True' }],
      ...overrides.status,
    },
  });
}

const configMaps: Record<string, Record<string, string>> = {
  settings: { version: '2.0.0', errorRate: '0.1', 'bad key': 'x' },
};
const lookup: ConfigLookup = {
  configMap: async (_ns, name) => configMaps[name],
  secret: async (_ns, name) => (name === 'creds' ? { token: 's3cret' } : undefined),
};

describe('demo pods', () => {
  it('are the pods carrying the demo label', () => {
    expect(isDemoPod(pod())).toBe(true);
    expect(isDemoPod(pod({ metadata: { labels: { app: 'podinfo' } } }))).toBe(false);
  });

  it('serve while Running and Ready and not being deleted', () => {
    expect(podServing(pod())).toBe(true);
    expect(podServing(pod({ status: { phase: 'Pending' } }))).toBe(false);
    expect(podServing(pod({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }))).toBe(false);
    expect(podServing(pod({ metadata: { deletionTimestamp: '2025-01-01T00:00:00Z' } }))).toBe(false);
  });

  it('belong to the Deployment that owns their ReplicaSet, as Istio names workloads', () => {
    expect(workloadOf(pod())).toBe('podinfo');
    const primary = pod({
      metadata: {
        name: 'podinfo-primary-5f6d7c8b9-abcde',
        labels: { 'pod-template-hash': '5f6d7c8b9' },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'podinfo-primary-5f6d7c8b9', controller: true }],
      },
    });
    expect(workloadOf(primary)).toBe('podinfo-primary');
    expect(workloadOf(pod({ metadata: { name: 'bare', ownerReferences: [] } }))).toBe('bare');
    expect(
      workloadOf(
        pod({ metadata: { ownerReferences: [{ kind: 'DaemonSet', name: 'agent', controller: true }] } }),
      ),
    ).toBe('agent');
  });

  it('take their version from the image tag', () => {
    expect(imageTag('ghcr.io/stefanprodan/podinfo:6.1.0')).toBe('6.1.0');
    expect(imageTag('localhost:5000/podinfo')).toBeUndefined();
    expect(imageTag('localhost:5000/podinfo:2.0@sha256:abc')).toBe('2.0');
    expect(imageTag(undefined)).toBeUndefined();
  });

  it('are scraped with Kubernetes-like labels', () => {
    expect(scrapeLabels(pod({ metadata: { labels: { app: 'podinfo', version: 'v2' } } }))).toEqual({
      namespace: 'shop',
      pod: 'podinfo-7d9f8c5b4-x2k9p',
      container: 'app',
      app: 'podinfo',
      version: 'v2',
    });
  });
});

describe('resolvePodEnv', () => {
  it('builds envFrom first, then env in order, with $(VAR) expansion, keys and fields', async () => {
    const env = await resolvePodEnv(
      pod({
        spec: {
          serviceAccountName: 'web',
          containers: [
            {
              name: 'app',
              envFrom: [
                { configMapRef: { name: 'settings' }, prefix: 'CFG_' },
                { secretRef: { name: 'missing', optional: true } },
              ],
              env: [
                { name: 'CFG_version', value: 'overridden' },
                { name: 'VERSION', valueFrom: { configMapKeyRef: { name: 'settings', key: 'version' } } },
                { name: 'GREETING', value: 'v$(VERSION) in $(POD_NS) costs $$(VERSION)' },
                { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
                {
                  name: 'OPTIONAL',
                  valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope', optional: true } },
                },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
                { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
              ],
            },
          ],
        },
      }),
      lookup,
    );
    expect(env).toEqual({
      CFG_version: 'overridden',
      CFG_errorRate: '0.1',
      VERSION: '2.0.0',
      GREETING: 'v2.0.0 in $(POD_NS) costs $(VERSION)',
      TOKEN: 's3cret',
      POD_NAME: 'podinfo-7d9f8c5b4-x2k9p',
      APP: 'podinfo',
      SA: 'web',
    });
  });

  it('names the pod, the variable and the object when a reference cannot be resolved', async () => {
    const withEnv = (env: object[]) => pod({ spec: { containers: [{ name: 'app', env }] } });
    await expect(
      resolvePodEnv(
        withEnv([{ name: 'VERSION', valueFrom: { configMapKeyRef: { name: 'gone', key: 'version' } } }]),
        lookup,
      ),
    ).rejects.toThrow(
      'pod shop/podinfo-7d9f8c5b4-x2k9p container app: env VERSION refers to ConfigMap shop/gone, which does not exist',
    );
    await expect(
      resolvePodEnv(
        withEnv([{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }]),
        lookup,
      ),
    ).rejects.toThrow('env TOKEN refers to Secret shop/creds, which has no key "password"');
    await expect(
      resolvePodEnv(
        pod({ spec: { containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'nothing' } }] }] } }),
        lookup,
      ),
    ).rejects.toThrow('envFrom[0] refers to Secret shop/nothing, which does not exist');
  });

  it('expands only variables defined before', () => {
    expect(expandVariables('$(A)-$(B)-$$(A)-$', { A: 'a' })).toBe('a-$(B)-$(A)-$');
  });
});
