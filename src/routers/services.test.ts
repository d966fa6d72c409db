import { describe, expect, it } from 'vitest';
import { parseCanary } from '../api/validate.ts';
import { serviceObject } from './services.ts';

const parsed = parseCanary({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Canary',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
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
    },
    analysis: { stepWeight: 10 },
  },
});
if (!parsed.ok) throw new Error('fixture');
const canary = parsed.canary;
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
