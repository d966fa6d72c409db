import { describe, expect, it } from 'vitest';
import { canaryWith } from '../../test/support/canaries.ts';
import type { Deployment } from '../kube/kinds.ts';
import { copiedMetadata, selectorLabel } from '../kube/meta.ts';
import { isSubset, stamped, unchanged } from '../kube/objects.ts';
import { primaryDeployment, primaryPodSpec } from './primary.ts';

const canary = canaryWith();

const target: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    labels: { app: 'web', 'kustomize.toolkit.fluxcd.io/name': 'apps', team: 'a' },
    annotations: {
      'deployment.kubernetes.io/revision': '4',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'argocd.argoproj.io/tracking-id': 'apps:apps/Deployment:shop/web',
      'example.com/keep': 'yes',
    },
  },
  spec: {
    replicas: 3,
    strategy: { type: 'RollingUpdate' },
    minReadySeconds: 5,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: {
        labels: { app: 'web', version: 'v2' },
        annotations: { 'sluice.dev/revision': 'old', 'prometheus.io/scrape': 'true' },
      },
      spec: {
        containers: [{ name: 'app', image: 'web:2', envFrom: [{ configMapRef: { name: 'web-config' } }] }],
        nodeSelector: { 'sluice.dev/scale-to-zero': 'true' },
        topologySpreadConstraints: [{ maxSkew: 1, labelSelector: { matchLabels: { app: 'web' } } }],
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: 'zone',
                labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'db'] }] },
              },
            ],
          },
        },
      },
    },
  },
};

describe('selectorLabel', () => {
  it("finds app, name or app.kubernetes.io/name, and names the field when there's none", () => {
    expect(
      selectorLabel('Deployment shop/web', { matchLabels: { 'app.kubernetes.io/name': 'web', tier: 'x' } }),
    ).toEqual({
      label: 'app.kubernetes.io/name',
      value: 'web',
    });
    expect(() => selectorLabel('Deployment shop/web', { matchLabels: { tier: 'x' } })).toThrow(
      'Deployment shop/web: spec.selector.matchLabels must contain one of app, name, app.kubernetes.io/name',
    );
  });
});

describe('copiedMetadata', () => {
  it("drops Sluice's, Flux's, Argo CD's and kubectl's bookkeeping", () => {
    expect(copiedMetadata(target.metadata.annotations)).toEqual({ 'example.com/keep': 'yes' });
    expect(copiedMetadata(target.metadata.labels)).toEqual({ app: 'web', team: 'a' });
  });
});

describe('primaryDeployment', () => {
  const selector = { label: 'app', value: 'web' };
  const primary = primaryDeployment(
    target,
    { canary, selector, trackedConfigs: new Set(['configmap/web-config']), revision: 'r2' },
    3,
  );

  it('selects its own pods, distinct from the canary', () => {
    const spec = primary.spec as Record<string, unknown> & {
      template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    };
    expect(primary.metadata.name).toBe('web-primary');
    expect(spec.selector).toEqual({ matchLabels: { app: 'web-primary' } });
    expect(spec.template.metadata.labels).toEqual({ app: 'web-primary', version: 'v2' });
    expect(spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'sluice.dev/revision': 'r2',
    });
    expect(primary.metadata.labels).toEqual({ app: 'web-primary', team: 'a' });
    expect(primary.metadata.annotations).toEqual({ 'example.com/keep': 'yes', 'sluice.dev/canary': 'web' });
    expect(spec.replicas).toBe(3);
    expect(spec.strategy).toEqual({ type: 'RollingUpdate' });
    expect(spec.minReadySeconds).toBe(5);
  });

  it('points label selectors of the pod spec at the primary and drops the scale-to-zero node selector', () => {
    const spec = primaryPodSpec(target.spec.template.spec, selector, new Set(['configmap/web-config']));
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.containers[0]!.envFrom).toEqual([{ configMapRef: { name: 'web-config-primary' } }]);
    expect(spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, labelSelector: { matchLabels: { app: 'web-primary' } } },
    ]);
    expect(JSON.stringify(spec.affinity)).toContain('"values":["web-primary","db"]');
    // The target's spec is untouched.
    expect(target.spec.template.spec.nodeSelector).toEqual({ 'sluice.dev/scale-to-zero': 'true' });
  });
});

describe('apply-if-changed', () => {
  it('treats extra live fields as unchanged, and lists element by element', () => {
    expect(isSubset({ a: 1, b: { c: [1, { d: 2 }] } }, { a: 1, x: 0, b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      true,
    );
    expect(isSubset({ b: { c: [1] } }, { b: { c: [1, 2] } })).toBe(false);
    expect(isSubset({ a: 1 }, { a: '1' })).toBe(false);
  });

  it('applies again when the desired state changed, even by removing a field', () => {
    const desired = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { a: 1, b: 2 } };
    const live = { ...stamped(desired), status: {} };
    expect(unchanged(stamped(desired), live)).toBe(true);
    // Removing b is invisible to a subset check, but the stamp differs.
    const smaller = { ...desired, spec: { a: 1 } };
    expect(isSubset(smaller.spec, desired.spec)).toBe(true);
    expect(unchanged(stamped(smaller), live)).toBe(false);
    // Someone else changed a field Sluice sets.
    expect(unchanged(stamped(desired), { ...live, spec: { a: 1, b: 3 } })).toBe(false);
  });
});
