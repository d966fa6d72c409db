import { describe, expect, it } from 'vitest';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { useNamespace } from '../support/kube.ts';
import { APP, canaryFor, exists, read, sluiceFor } from './support.ts';
import { promoteRelease, revertUntilDone, weightedRoutes } from './support.ts';
import { AB_ROUTES, podinfoIngressRules } from './support.ts';
import { abTesting, bootstrapped } from './support.ts';

// The nginx router against the real apiserver: a canary Ingress copied from spec.ingressRef.

const ns = useNamespace('routers-nginx');
const NGINX = 'nginx.ingress.kubernetes.io';

function ingress(namespace: string) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'podinfo',
      namespace,
      labels: { app: 'podinfo' },
      annotations: {
        [`${NGINX}/proxy-body-size`]: '8m',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      },
    },
    spec: {
      ingressClassName: 'nginx',
      rules: podinfoIngressRules(),
    },
  };
}

async function canaryIngress() {
  return read(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'podinfo-canary');
}

describe('nginx router', () => {
  it('runs a rollout through a canary Ingress: weights, A/B by header and cookie; mirror is refused', async () => {
    await applyObject(ns.kube, ingress(ns.name), { fieldManager: 'kubectl' });
    const { canary, sluice } = await bootstrapped(ns, {
      provider: 'nginx',
      ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'podinfo' },
      analysis: abTesting(
        2,
        { headers: { 'x-canary': { regex: '^(insider|beta)$' } } },
        { headers: { cookie: { exact: 'canary' } } },
      ),
    });
    const created = await canaryIngress();
    const paths = (
      created.spec.rules as { http: { paths: { backend: { service: { name: string } } }[] } }[]
    )[0]!.http.paths;
    expect(paths[0]!.backend.service.name).toBe('podinfo-canary');
    expect(created.spec.ingressClassName).toBe('nginx');
    expect(created.metadata.annotations).toMatchObject({
      [`${NGINX}/canary`]: 'true',
      [`${NGINX}/canary-weight`]: '0',
      [`${NGINX}/proxy-body-size`]: '8m',
    });
    expect(
      created.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'],
    ).toBeUndefined();
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    for (const canaryWeight of [10, 50]) {
      await sluice.router.setRoutes(canary, weightedRoutes(canaryWeight));
      expect((await canaryIngress()).metadata.annotations?.[`${NGINX}/canary-weight`]).toBe(
        String(canaryWeight),
      );
      expect(await sluice.router.getRoutes(canary)).toEqual(weightedRoutes(canaryWeight));
    }

    await expect(sluice.router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );

    await sluice.router.setRoutes(canary, AB_ROUTES);
    const ab = (await canaryIngress()).metadata.annotations ?? {};
    expect(ab).toMatchObject({
      [`${NGINX}/canary`]: 'true',
      [`${NGINX}/canary-weight`]: '0',
      [`${NGINX}/canary-by-header`]: 'x-canary',
      // Anchored as a whole: ingress-nginx searches, Istio's regex matches the whole value.
      [`${NGINX}/canary-by-header-pattern`]: '^(?:^(insider|beta)$)$',
      [`${NGINX}/canary-by-cookie`]: 'canary',
    });
    expect(await sluice.router.getRoutes(canary)).toEqual(AB_ROUTES);

    await promoteRelease(ns, canary, sluice);
    const back = (await canaryIngress()).metadata.annotations ?? {};
    // Server-side apply removed the A/B annotations Sluice stopped setting.
    expect(back[`${NGINX}/canary-by-header`]).toBeUndefined();
    expect(back[`${NGINX}/canary-by-cookie`]).toBeUndefined();
    expect(back[`${NGINX}/canary-weight`]).toBe('0');
    expect(await sluice.router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    // The team's Ingress was never written by Sluice.
    const source = await read(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'podinfo');
    const managers = (source.metadata as { managedFields?: { manager: string }[] }).managedFields?.map(
      (f) => f.manager,
    );
    expect(managers).not.toContain('sluice');

    await revertUntilDone(canary, sluice);
    expect(await exists(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'podinfo-canary')).toBe(false);
    expect(await exists(ns.kube, 'networking.k8s.io/v1', 'Ingress', ns.name, 'podinfo')).toBe(true);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector).toEqual({ app: APP });
  });

  it('names spec.ingressRef when the Ingress does not route to the apex Service', async () => {
    await applyObject(
      ns.kube,
      {
        ...ingress(ns.name),
        metadata: { name: 'other', namespace: ns.name },
        spec: { defaultBackend: { service: { name: 'other', port: { number: 80 } } } },
      },
      { fieldManager: 'kubectl' },
    );
    const canary = canaryFor(ns.name, {
      provider: 'nginx',
      ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'other' },
    });
    const sluice = sluiceFor(canary, ns.kube);
    await expect(sluice.router.setRoutes(canary, PRIMARY_ONLY)).rejects.toThrow(
      /spec\.ingressRef names Ingress other, which has no backend for Service podinfo/,
    );
  });
});
