import { expect } from 'vitest';
import type { Canary, CanaryInput, HTTPMatchRequest } from '../../src/api/canary.ts';
import type { JsonObject } from '../../src/kube/kinds.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { PRIMARY_ONLY, type Routes } from '../../src/routers/router.ts';
import { revertOnDeletion } from '../../src/routers/revert.ts';
import { eventually, type TestNamespace } from '../support/kube.ts';
import {
  APP,
  applyDeployment,
  bootstrap,
  canaryFor,
  promote,
  release,
  sluiceFor,
  type DeploymentOptions,
  type Sluice,
} from '../targets/fixtures.ts';

// What every router test does the same way, against the real apiserver: a target and its
// Canary bootstrapped, weights stepped and read back, a release promoted, the Canary
// deleted with revertOnDeletion.

export * from '../targets/fixtures.ts';

/** `canaryWeight` % on the canary, the rest on the primary; no mirror, no A/B. */
export function weightedRoutes(canaryWeight: number): Routes {
  return { primaryWeight: 100 - canaryWeight, canaryWeight, mirror: false, match: false };
}

/** A/B: requests matching spec.analysis.match all on the canary, all others on the primary. */
export const AB_ROUTES: Readonly<Routes> = {
  primaryWeight: 0,
  canaryWeight: 100,
  mirror: false,
  match: true,
};

/** The requests most router tests send to the canary for A/B testing: the insiders'. */
export const INSIDERS: HTTPMatchRequest = { headers: { 'x-canary': { exact: 'insider' } } };

/** spec.analysis for A/B testing: `iterations` checks 10 s apart, the requests matching `match` on the canary. */
export function abTesting(iterations: number, ...match: HTTPMatchRequest[]) {
  return { interval: '10s', iterations, match };
}

/** The team's Ingress rules: podinfo.example.com, every path to the apex Service on 9898. */
export function podinfoIngressRules(): JsonObject[] {
  return [
    {
      host: 'podinfo.example.com',
      http: {
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: APP, port: { number: 9898 } } } },
        ],
      },
    },
  ];
}

/**
 * The target (two replicas unless told), its Canary with `spec`, the Sluice parts for it,
 * bootstrapped. With `app`: Deployment `app` (one replica unless told) and Canary `app` for it.
 */
export async function bootstrapped(
  ns: TestNamespace,
  spec: Partial<CanaryInput['spec']>,
  options: { name?: string; app?: string; deployment?: DeploymentOptions } = {},
): Promise<{ canary: Canary; sluice: Sluice }> {
  const { app } = options;
  const deployment = app ? { name: app, replicas: 1 } : { replicas: 2 };
  await applyDeployment(ns.kube, ns.name, { ...deployment, ...options.deployment });
  const canary = app
    ? canaryFor(
        ns.name,
        { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app }, ...spec },
        app,
      )
    : canaryFor(ns.name, spec, options.name);
  const sluice = sluiceFor(canary, ns.kube);
  await bootstrap(canary, sluice);
  return { canary, sluice };
}

/** Routes 90/10, then 50/50: each as the provider's object holds it (`held`) and as getRoutes reads it back. */
export async function expectWeightSteps(
  canary: Canary,
  sluice: Sluice,
  held: () => Promise<Record<string, number | string | undefined>>,
): Promise<void> {
  for (const [primaryWeight, canaryWeight] of [
    [90, 10],
    [50, 50],
  ] as const) {
    await sluice.router.setRoutes(canary, { primaryWeight, canaryWeight, mirror: false, match: false });
    expect(await held()).toEqual({ 'podinfo-primary': primaryWeight, 'podinfo-canary': canaryWeight });
    expect(await sluice.router.getRoutes(canary)).toEqual({
      primaryWeight,
      canaryWeight,
      mirror: false,
      match: false,
    });
  }
}

/** A new release (podinfo 6.1.0) promoted: all traffic back on the primary, the canary scaled down. */
export async function promoteRelease(ns: TestNamespace, canary: Canary, sluice: Sluice) {
  await release(ns.kube, ns.name, 'ghcr.io/stefanprodan/podinfo:6.1.0');
  const promoted = await promote(canary, sluice);
  await sluice.router.setRoutes(canary, PRIMARY_ONLY);
  await sluice.target.scaleCanary(canary, 'zero');
  return promoted;
}

/** revertOnDeletion, called until it says it is done. */
export function revertUntilDone(canary: Canary, sluice: Sluice) {
  return eventually('revert done', async () => {
    const result = await revertOnDeletion(canary, sluice.target, sluice.router);
    return result.done ? result : undefined;
  });
}

/**
 * Another tool adds `annotations` to a routing object Sluice writes, by server-side apply
 * under its own field manager (never forcing a field another manager owns).
 */
export function annotateAs(
  ns: TestNamespace,
  fieldManager: string,
  object: { apiVersion: string; kind: string; name: string },
  annotations: Record<string, string>,
) {
  const { apiVersion, kind, name } = object;
  return applyObject(
    ns.kube,
    { apiVersion, kind, metadata: { name, namespace: ns.name, annotations } },
    { fieldManager, force: false },
  );
}
