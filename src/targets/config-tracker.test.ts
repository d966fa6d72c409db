import { describe, expect, it } from 'vitest';
import { configKey, referencedConfigs, trackingDisabled, withPrimaryConfigs } from './config-tracker.ts';
import type { PodSpec } from '../kube/kinds.ts';

const spec: PodSpec = {
  initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'init-secret' } }] }],
  containers: [
    {
      name: 'app',
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-cm', optional: true } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'env-secret' } } },
        { name: 'C' },
      ],
      envFrom: [
        { configMapRef: { name: 'bulk-cm' } },
        { secretRef: { name: 'bulk-secret', optional: true } },
      ],
    },
  ],
  volumes: [
    { name: 'v1', configMap: { name: 'vol-cm' } },
    { name: 'v2', secret: { secretName: 'vol-secret' } },
    {
      name: 'v3',
      projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }] },
    },
    { name: 'v4', emptyDir: {} },
  ],
};

describe('referencedConfigs', () => {
  it('finds ConfigMaps and Secrets in env, envFrom, volumes, projected volumes and init containers', () => {
    expect(
      referencedConfigs(spec).map((ref) => `${configKey(ref.kind, ref.name)}${ref.optional ? '?' : ''}`),
    ).toEqual([
      'configmap/bulk-cm',
      'configmap/env-cm?',
      'configmap/proj-cm',
      'configmap/vol-cm',
      'secret/bulk-secret?',
      'secret/env-secret',
      'secret/init-secret',
      'secret/proj-secret',
      'secret/vol-secret',
    ]);
  });

  it('makes a config mandatory when any reference to it is', () => {
    const twice: PodSpec = {
      containers: [
        { name: 'a', envFrom: [{ configMapRef: { name: 'cm', optional: true } }] },
        { name: 'b', envFrom: [{ configMapRef: { name: 'cm' } }] },
      ],
    };
    expect(referencedConfigs(twice)).toEqual([{ kind: 'ConfigMap', name: 'cm', optional: false }]);
  });
});

describe('withPrimaryConfigs', () => {
  it('renames tracked references to their -primary copies and leaves the rest', () => {
    const tracked = new Set([
      'configmap/env-cm',
      'secret/vol-secret',
      'configmap/proj-cm',
      'secret/init-secret',
      'configmap/bulk-cm',
    ]);
    const primary = withPrimaryConfigs(spec, tracked);
    const app = primary.containers[0]!;
    expect(app.env?.[0]?.valueFrom?.configMapKeyRef?.name).toBe('env-cm-primary');
    expect(app.env?.[1]?.valueFrom?.secretKeyRef?.name).toBe('env-secret');
    expect(app.envFrom?.[0]?.configMapRef?.name).toBe('bulk-cm-primary');
    expect(app.envFrom?.[1]?.secretRef?.name).toBe('bulk-secret');
    expect(primary.initContainers?.[0]?.envFrom?.[0]?.secretRef?.name).toBe('init-secret-primary');
    expect(primary.volumes?.[0]?.configMap?.name).toBe('vol-cm');
    expect(primary.volumes?.[1]?.secret?.secretName).toBe('vol-secret-primary');
    expect(primary.volumes?.[2]?.projected?.sources?.map((s) => s.configMap?.name ?? s.secret?.name)).toEqual(
      ['proj-cm-primary', 'proj-secret'],
    );
    // The input is not modified.
    expect(spec.containers[0]!.envFrom?.[0]?.configMapRef?.name).toBe('bulk-cm');
  });
});

describe('trackingDisabled', () => {
  it("reads Sluice's annotation and Flagger's", () => {
    expect(trackingDisabled({ 'sluice.dev/config-tracking': 'disabled' })).toBe(true);
    expect(trackingDisabled({ 'flagger.app/config-tracking': 'disabled' })).toBe(true);
    expect(trackingDisabled({ 'sluice.dev/config-tracking': 'enabled' })).toBe(false);
    expect(trackingDisabled(undefined)).toBe(false);
  });
});
