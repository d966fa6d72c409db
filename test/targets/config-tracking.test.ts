import { describe, expect, it } from 'vitest';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  APP,
  applyDeployment,
  bootstrap,
  canaryFor,
  kubernetesCanaryFor,
  exists,
  read,
  sluiceFor,
  applyConfig,
} from './fixtures.ts';

// ConfigMap and Secret tracking on the real apiserver: a config-only change is a new
// revision; promotion copies configs to -primary and points the primary at the copies;
// a rolled-back config never reaches the primary.

const ns = useNamespace('targets-config');

type PodSpec = {
  containers: {
    env?: { name: string; valueFrom?: { configMapKeyRef?: { name: string } } }[];
    envFrom?: { configMapRef?: { name: string } }[];
  }[];
  volumes?: {
    name: string;
    secret?: { secretName: string };
    projected?: { sources: { configMap?: { name: string } }[] };
  }[];
};

async function setConfig(message: string) {
  await applyConfig(
    ns.kube,
    ns.name,
    'ConfigMap',
    { name: 'podinfo-config' },
    { data: { MESSAGE: message } },
  );
}

async function primaryConfig(): Promise<Record<string, string>> {
  return (
    (
      (await read(ns.kube, 'v1', 'ConfigMap', ns.name, 'podinfo-config-primary')) as {
        data?: Record<string, string>;
      }
    ).data ?? {}
  );
}

describe('config tracking', () => {
  it('rolls out a ConfigMap change, promotes it to a -primary copy, and keeps a rolled-back config away from the primary', async () => {
    await setConfig('v1');
    await applyConfig(
      ns.kube,
      ns.name,
      'Secret',
      { name: 'podinfo-token' },
      { type: 'Opaque', stringData: { token: 's3cret' } },
    );
    await applyConfig(
      ns.kube,
      ns.name,
      'ConfigMap',
      { name: 'podinfo-static', annotations: { 'sluice.dev/config-tracking': 'disabled' } },
      { data: { REGION: 'eu' } },
    );
    await applyConfig(ns.kube, ns.name, 'ConfigMap', { name: 'podinfo-ca' }, { data: { 'ca.crt': 'pem' } });
    await applyDeployment(ns.kube, ns.name, {
      replicas: 2,
      podSpec: {
        containers: [
          {
            name: 'app',
            image: 'ghcr.io/stefanprodan/podinfo:6.0.0',
            ports: [{ name: 'http', containerPort: 9898 }],
            envFrom: [{ configMapRef: { name: 'podinfo-config' } }],
            env: [
              { name: 'REGION', valueFrom: { configMapKeyRef: { name: 'podinfo-static', key: 'REGION' } } },
            ],
            volumeMounts: [
              { name: 'token', mountPath: '/etc/token' },
              { name: 'ca', mountPath: '/etc/ca' },
            ],
          },
        ],
        volumes: [
          { name: 'token', secret: { secretName: 'podinfo-token' } },
          { name: 'ca', projected: { sources: [{ configMap: { name: 'podinfo-ca' } }] } },
        ],
      },
    });
    const canary = canaryFor(ns.name, { provider: 'kubernetes' });
    const sluice = sluiceFor(canary, ns.kube);

    const first = await sluice.target.revision(canary);
    expect(Object.keys(first.configs).sort()).toEqual([
      'configmap/podinfo-ca',
      'configmap/podinfo-config',
      'secret/podinfo-token',
    ]);
    await bootstrap(canary, sluice);

    // The primary reads the -primary copies; the opted-out ConfigMap is shared as it is.
    const primary = await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`);
    const spec = (primary.spec.template as { spec: PodSpec }).spec;
    expect(spec.containers[0]!.envFrom).toEqual([{ configMapRef: { name: 'podinfo-config-primary' } }]);
    expect(spec.containers[0]!.env?.[0]?.valueFrom?.configMapKeyRef?.name).toBe('podinfo-static');
    expect(spec.volumes?.find((v) => v.name === 'token')?.secret?.secretName).toBe('podinfo-token-primary');
    expect(spec.volumes?.find((v) => v.name === 'ca')?.projected?.sources[0]?.configMap?.name).toBe(
      'podinfo-ca-primary',
    );
    expect(await primaryConfig()).toEqual({ MESSAGE: 'v1' });
    expect(await exists(ns.kube, 'v1', 'ConfigMap', ns.name, 'podinfo-static-primary')).toBe(false);
    const secretCopy = await read(ns.kube, 'v1', 'Secret', ns.name, 'podinfo-token-primary');
    expect((secretCopy as { data?: Record<string, string> }).data).toEqual({
      token: Buffer.from('s3cret').toString('base64'),
    });
    const copy = await read(ns.kube, 'v1', 'ConfigMap', ns.name, 'podinfo-config-primary');
    const owners = (copy.metadata as { ownerReferences?: { kind: string; name: string; uid: string }[] })
      .ownerReferences;
    expect(owners).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        name: `${APP}-primary`,
        uid: (primary.metadata as { uid: string }).uid,
      }),
    ]);

    // Only the ConfigMap changes: a new revision, though the pod template is the same.
    await setConfig('v2');
    const second = await sluice.target.revision(canary);
    expect(second.podTemplateHash).toBe(first.podTemplateHash);
    expect(second.revision).not.toBe(first.revision);
    expect(second.configs['configmap/podinfo-config']).not.toBe(first.configs['configmap/podinfo-config']);
    // Until promotion the primary keeps the config it was promoted with.
    expect(await primaryConfig()).toEqual({ MESSAGE: 'v1' });

    // Promotion copies the new config and rolls the primary's pods (the revision is on the template).
    const generation = (primary.metadata as { generation: number }).generation;
    await sluice.target.scaleCanary(canary, 'up');
    const promoted = await sluice.target.promote(canary, { revision: second.revision });
    expect(promoted.applied).toBe(true);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'v2' });
    const rolled = await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`);
    expect((rolled.metadata as { generation: number }).generation).toBe(generation + 1);
    expect(
      (rolled.spec.template as { metadata: { annotations: Record<string, string> } }).metadata.annotations[
        'sluice.dev/revision'
      ],
    ).toBe(second.revision);
    await eventually(
      'primary ready',
      async () => (await sluice.target.readiness(canary)).primary.state === 'ready',
    );
    await sluice.target.scaleCanary(canary, 'zero');

    // A bad config arrives, its analysis fails and is rolled back (never promoted):
    // the primary still reads v2, and a late promotion of the old revision is refused.
    await setConfig('v3-broken');
    const third = await sluice.target.revision(canary);
    expect(third.revision).not.toBe(second.revision);
    await sluice.target.scaleCanary(canary, 'up');
    await sluice.target.scaleCanary(canary, 'zero');
    expect(await primaryConfig()).toEqual({ MESSAGE: 'v2' });
    const late = await sluice.target.promote(canary, { revision: second.revision });
    expect(late.applied).toBe(false);
    expect(await primaryConfig()).toEqual({ MESSAGE: 'v2' });

    // Reverting the ConfigMap in Git brings back the promoted revision: no new rollout.
    await setConfig('v2');
    expect((await sluice.target.revision(canary)).revision).toBe(second.revision);
  });

  it('names the workload and the config when a referenced ConfigMap is missing', async () => {
    await applyDeployment(ns.kube, ns.name, {
      name: 'orphan',
      podSpec: {
        containers: [
          {
            name: 'app',
            image: 'example.com/app:1',
            envFrom: [
              { configMapRef: { name: 'missing-config' } },
              { secretRef: { name: 'maybe', optional: true } },
            ],
          },
        ],
      },
    });
    const canary = kubernetesCanaryFor(ns.name, 'orphan');
    const sluice = sluiceFor(canary, ns.kube);
    await expect(sluice.target.revision(canary)).rejects.toThrow(
      `Deployment ${ns.name}/orphan references ConfigMap ${ns.name}/missing-config, which does not exist`,
    );
  });
});
