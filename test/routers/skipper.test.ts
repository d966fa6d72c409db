import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { useNamespace } from '../support/kube.ts';
import { read, podinfoIngressRules } from './support.ts';
import { bootstrapped } from './support.ts';

// The skipper router against the real apiserver: a canary Ingress with backend weights.

const ns = useNamespace('routers-skipper');

describe('skipper router', () => {
  it('writes a canary Ingress to both Services with backend weights; the team’s Ingress is only read', async () => {
    await applyObject(
      ns.kube,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'web',
          namespace: ns.name,
          annotations: { 'zalando.org/skipper-predicate': 'Method("GET")', 'team.example.com/owner': 'shop' },
        },
        spec: {
          rules: podinfoIngressRules(),
        },
      },
      { fieldManager: 'kubectl' },
    );
    const { canary, sluice } = await bootstrapped(
      ns,
      {
        provider: 'skipper',
        ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web' },
        service: { port: 9898 },
        analysis: { interval: '10s', stepWeight: 20, maxWeight: 60 },
      },
      { deployment: { replicas: 1 } },
    );

    const canaryIngress = async () => read(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'web-canary');
    let ingress = await canaryIngress();
    expect(ingress.metadata.annotations?.['zalando.org/backend-weights']).toBe(
      JSON.stringify({ 'podinfo-primary': 100, 'podinfo-canary': 0 }),
    );
    // No canary traffic: the canary Ingress is off, the team's serves.
    expect(ingress.metadata.annotations?.['zalando.org/skipper-predicate']).toBe('False() && Method("GET")');
    expect(ingress.metadata.annotations?.['team.example.com/owner']).toBe('shop');
    const paths = (
      ingress.spec.rules as { http: { paths: { backend: { service: { name: string } } }[] } }[]
    )[0]!.http.paths;
    expect(paths.map((path) => path.backend.service.name)).toEqual(['podinfo-primary', 'podinfo-canary']);

    await sluice.router.setRoutes(canary, {
      primaryWeight: 80,
      canaryWeight: 20,
      mirror: false,
      match: false,
    });
    ingress = await canaryIngress();
    expect(ingress.metadata.annotations?.['zalando.org/backend-weights']).toBe(
      JSON.stringify({ 'podinfo-primary': 80, 'podinfo-canary': 20 }),
    );
    expect(ingress.metadata.annotations?.['zalando.org/skipper-predicate']).toBe(
      'Weight(100) && Method("GET")',
    );
    expect(await sluice.router.getRoutes(canary)).toEqual({
      primaryWeight: 80,
      canaryWeight: 20,
      mirror: false,
      match: false,
    });
    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );
    const source = await read(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'web');
    expect(Object.keys(source.metadata.annotations ?? {}).sort()).toEqual([
      'team.example.com/owner',
      'zalando.org/skipper-predicate',
    ]);
  });
});
