import { describe, expect, it } from 'vitest';
import type { Canary } from '../../src/api/canary.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { APP, applyDeployment, bootstrap, canaryFor, exists, read, sluiceFor } from './fixtures.ts';
import { applyConfig } from './fixtures.ts';

// Deleting a Canary without revertOnDeletion leaves the primary serving: nothing Sluice
// created is owned by the Canary, so the garbage collector removes none of it.

const ns = useNamespace('targets-delete');

describe('deleting a Canary without revertOnDeletion', () => {
  it('leaves the primary, its configs, the Services and the routes serving', async () => {
    await applyConfig(
      ns.kube,
      ns.name,
      'ConfigMap',
      { name: 'podinfo-config' },
      { data: { MESSAGE: 'hello' } },
    );
    await applyDeployment(ns.kube, ns.name, {
      replicas: 2,
      podSpec: {
        containers: [
          {
            name: 'app',
            image: 'example.com/app:1',
            envFrom: [{ configMapRef: { name: 'podinfo-config' } }],
          },
        ],
      },
    });
    // A real Canary object, so the garbage collector has an owner to act on.
    const spec = canaryFor(ns.name, { provider: 'istio' });
    const created = await applyObject(
      ns.kube,
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'Canary',
        metadata: { name: APP, namespace: ns.name },
        spec: { ...spec.spec },
      },
      { fieldManager: 'kubectl' },
    );
    const uid = (created.metadata as { uid: string }).uid;
    const canary: Canary = { ...spec, metadata: { ...spec.metadata, uid } };
    const sluice = sluiceFor(canary, ns.kube);
    await bootstrap(canary, sluice);
    await sluice.router.setRoutes(canary, PRIMARY_ONLY);

    const objects: [string, string, string][] = [
      ['apps/v1', 'Deployment', `${APP}-primary`],
      ['v1', 'ConfigMap', 'podinfo-config-primary'],
      ['v1', 'Service', APP],
      ['v1', 'Service', `${APP}-primary`],
      ['v1', 'Service', `${APP}-canary`],
      ['networking.istio.io/v1', 'VirtualService', APP],
      ['networking.istio.io/v1', 'DestinationRule', `${APP}-primary`],
    ];
    for (const [apiVersion, kind, name] of objects) {
      const object = await read(ns.kube, apiVersion, kind, ns.name, name);
      const owners = (object.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences ?? [];
      expect(
        owners.map((owner) => owner.uid),
        `${kind} ${name}`,
      ).not.toContain(uid);
    }

    await ns.kube.wire.deleteObject({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: APP, namespace: ns.name },
    });
    await eventually(
      'Canary gone',
      async () => !(await exists(ns.kube, 'sluice.dev/v1alpha1', 'Canary', ns.name, APP)),
    );
    // Give the garbage collector time to act on anything it would act on.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const [apiVersion, kind, name] of objects) {
      expect(await exists(ns.kube, apiVersion, kind, ns.name, name), `${kind} ${name}`).toBe(true);
    }
    const readiness = await sluice.target.readiness(canary);
    expect(readiness.primary.state).toBe('ready');
    expect((await read(ns.kube, 'v1', 'Service', ns.name, APP)).spec.selector).toEqual({
      app: 'podinfo-primary',
    });
  });
});
