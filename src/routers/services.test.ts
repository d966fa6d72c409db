import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import { apexSelectorWarning, serviceObject } from './services.ts';

const canary = canaryWith({
  service: {
    name: 'frontend',
    port: 80,
    targetPort: 'http',
    appProtocol: 'http',
    portDiscovery: true,
    primary: {
      labels: { track: 'stable' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'x' },
    },
    canary: { labels: { track: 'canary' }, annotations: { tier: 'canary' } },
    apex: { labels: { track: 'apex' } },
  },
});
const pods = {
  selector: { label: 'app.kubernetes.io/name', value: 'web' },
  ports: { metrics: 9090, admin: 8081 },
};

describe('serviceObject', () => {
  it('names Services after spec.service.name and selects the right pods', () => {
    const apex = serviceObject(canary, pods, 'apex', { created: true });
    expect(apex.metadata.name).toBe('frontend');
    expect(apex.spec).toMatchObject({ selector: { 'app.kubernetes.io/name': 'web-primary' } });
    expect(serviceObject(canary, pods, 'apex', { created: true, apexSide: 'canary' }).spec).toMatchObject({
      selector: { 'app.kubernetes.io/name': 'web' },
    });
    expect(serviceObject(canary, pods, 'canary', { created: true }).spec).toMatchObject({
      selector: { 'app.kubernetes.io/name': 'web' },
    });
    expect(serviceObject(canary, pods, 'primary', { created: false }).metadata).toEqual({
      name: 'frontend-primary',
      namespace: 'shop',
      labels: { track: 'stable', 'app.kubernetes.io/name': 'frontend-primary' },
      annotations: { note: 'x', 'sluice.dev/canary': 'web' },
    });
    // Each Service gets the labels and annotations of its own role.
    expect(serviceObject(canary, pods, 'canary', { created: false }).metadata).toMatchObject({
      labels: { track: 'canary' },
      annotations: { tier: 'canary' },
    });
    expect(serviceObject(canary, pods, 'apex', { created: false }).metadata).toMatchObject({
      labels: { track: 'apex' },
    });
  });

  it('exposes the service port and, with portDiscovery, the other container ports; never sets the type', () => {
    const spec = serviceObject(canary, pods, 'apex', { created: true }).spec as Record<string, unknown>;
    expect(spec.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', appProtocol: 'http' },
      { name: 'admin', protocol: 'TCP', port: 8081, targetPort: 8081 },
      { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 9090 },
    ]);
    expect(spec.type).toBeUndefined();
  });
});

describe('apexSelectorWarning', () => {
  it('names a GitOps tool that also applies the selector, and nobody else', () => {
    const live = (manager: string, operation: string) => ({
      metadata: { managedFields: [{ manager, operation, fieldsV1: { 'f:spec': { 'f:selector': {} } } }] },
    });
    expect(apexSelectorWarning(canary, live('kustomize-controller', 'Apply'))).toBe(
      'Service shop/frontend: spec.selector is also applied by kustomize-controller (Apply), so each sync sends traffic back ' +
        "to the idle target's pods. Remove this Service from the manifests: Sluice generates it from the Canary's " +
        'spec.service (see docs/gitops.md).',
    );
    expect(apexSelectorWarning(canary, live('kubectl-client-side-apply', 'Update'))).toBeUndefined();
    expect(apexSelectorWarning(canary, live('sluice', 'Apply'))).toBeUndefined();
    expect(apexSelectorWarning(canary, undefined)).toBeUndefined();
  });

  it('marks the side Sluice points the apex at', () => {
    expect(
      serviceObject(canary, pods, 'apex', { created: true, apexSide: 'canary' }).metadata.annotations,
    ).toMatchObject({
      'sluice.dev/apex-selects': 'canary',
    });
  });
});
