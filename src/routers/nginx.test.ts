import { describe, expect, it } from 'vitest';
import type { CanaryInput } from '../api/canary.ts';
import { canaryWith as fixture } from '../../test/support/canaries.ts';
import { canaryIngressObject, matchAnnotations, routesFromIngress } from './nginx.ts';
import { PRIMARY_ONLY } from './router.ts';

const canaryWith = (analysis: CanaryInput['spec']['analysis'] = { stepWeight: 10 }) =>
  fixture({
    provider: 'nginx',
    ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web' },
    analysis,
  });

const N = 'nginx.ingress.kubernetes.io';
const source = {
  metadata: {
    name: 'web',
    labels: { app: 'web' },
    annotations: {
      [`${N}/rewrite-target`]: '/',
      [`${N}/canary-weight`]: '99',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    },
  },
  spec: {
    defaultBackend: { service: { name: 'web', port: { number: 80 } } },
    rules: [
      {
        host: 'web.example.com',
        http: {
          paths: [
            { path: '/', backend: { service: { name: 'web', port: { number: 80 } } } },
            { path: '/static', backend: { service: { name: 'cdn' } } },
          ],
        },
      },
    ],
  },
};

describe('canaryIngressObject', () => {
  it('copies the Ingress onto the canary Service with the canary annotations', () => {
    const ingress = canaryIngressObject(
      canaryWith(),
      source,
      { primaryWeight: 70, canaryWeight: 30, mirror: false, match: false },
      undefined,
    );
    expect(ingress.metadata.name).toBe('web-canary');
    expect(ingress.metadata.annotations).toEqual({
      [`${N}/rewrite-target`]: '/',
      [`${N}/canary`]: 'true',
      [`${N}/canary-weight`]: '30',
      'sluice.dev/canary': 'web',
      'sluice.dev/created': 'true',
    });
    expect(JSON.stringify(ingress.spec)).toContain('"defaultBackend":{"service":{"name":"web-canary"');
    expect(JSON.stringify(ingress.spec)).toContain('"path":"/static","backend":{"service":{"name":"cdn"}}');
    // The source is untouched.
    expect(source.spec.defaultBackend.service.name).toBe('web');
  });

  it('routes A/B by header and cookie only while the canary gets traffic', () => {
    const canary = canaryWith({
      iterations: 2,
      match: [{ headers: { 'x-beta': { exact: 'yes' } } }, { headers: { cookie: { exact: 'beta' } } }],
    });
    const ab = canaryIngressObject(
      canary,
      source,
      { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true },
      undefined,
    );
    expect(ab.metadata.annotations).toMatchObject({
      [`${N}/canary-by-header`]: 'x-beta',
      [`${N}/canary-by-header-value`]: 'yes',
      [`${N}/canary-by-cookie`]: 'beta',
      [`${N}/canary-weight`]: '0',
    });
    expect(routesFromIngress(ab)).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
      match: true,
    });
    const off = canaryIngressObject(canary, source, PRIMARY_ONLY, undefined);
    expect(
      Object.keys(off.metadata.annotations as object).filter((key) => key.includes('canary-by')),
    ).toEqual([]);
    expect(routesFromIngress(off)).toEqual(PRIMARY_ONLY);
  });

  it('names the problem when the Ingress has no backend for the Service, or the match cannot be expressed', () => {
    const other = { ...source, spec: { defaultBackend: { service: { name: 'other' } } } };
    expect(() => canaryIngressObject(canaryWith(), other, PRIMARY_ONLY, undefined)).toThrow(
      'Canary shop/web: spec.ingressRef names Ingress web, which has no backend for Service web',
    );
    const two = canaryWith({ iterations: 2, match: [{ headers: { a: { exact: '1' }, b: { exact: '2' } } }] });
    // ingress-nginx ORs its header and cookie conditions: an AND of two cannot be written.
    expect(() => matchAnnotations(two)).toThrow(
      /spec\.analysis\.match\[0\]\.headers holds several conditions/,
    );
    const second = canaryWith({
      iterations: 2,
      match: [{ headers: { a: { exact: '1' } } }, { headers: { b: { exact: '2' } } }],
    });
    expect(() => matchAnnotations(second)).toThrow(
      /spec\.analysis\.match\[1\]\.headers\.b is a second header condition \(after spec\.analysis\.match\[0\]\.headers\.a\)/,
    );
    const uri = canaryWith({ iterations: 2, match: [{ uri: { prefix: '/beta' } }] });
    expect(() => matchAnnotations(uri)).toThrow(
      /spec\.analysis\.match\[0\]\.uri has no ingress-nginx equivalent/,
    );
    const empty = canaryWith({ iterations: 2, match: [{}] });
    expect(() => matchAnnotations(empty)).toThrow(/matches every request/);
  });
});

describe('routesFromIngress', () => {
  it('reads the weight annotation', () => {
    expect(
      routesFromIngress({
        metadata: { annotations: { [`${N}/canary`]: 'true', [`${N}/canary-weight`]: '15' } },
      }),
    ).toEqual({
      primaryWeight: 85,
      canaryWeight: 15,
      mirror: false,
      match: false,
    });
    expect(routesFromIngress({ metadata: { annotations: {} } })).toBeUndefined();
  });
});
