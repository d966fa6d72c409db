import { describe, expect, it } from 'vitest';
import { Canary } from '../../src/api/canary.ts';
import { routerFor } from '../../src/routers/factory.ts';
import { PRIMARY_ONLY, RoutingNotSupportedError } from '../../src/routers/router.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { useNamespace } from '../support/kube.ts';
import { read } from './support.ts';

// The knative router against the real apiserver with Knative Serving's CRDs (from its Go
// module): Sluice writes the Knative Service's traffic block and one annotation, and keeps
// everything else the team's.

const ns = useNamespace('routers-knative');

const image = (service: { spec: Record<string, unknown> }) =>
  (service.spec.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image;
const KNATIVE = 'serving.knative.dev/v1';

describe('knative router', () => {
  it('splits traffic between the primary revision and the latest one; the template stays the team’s', async () => {
    const ref = { apiVersion: KNATIVE, kind: 'Service', metadata: { name: 'podinfo', namespace: ns.name } };
    await applyObject(
      ns.kube,
      {
        ...ref,
        metadata: { ...ref.metadata, labels: { team: 'shop' } },
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/stefanprodan/podinfo:6.0.0' }] } } },
      },
      { fieldManager: 'kubectl' },
    );
    // Knative's controller would report its first revision; here the test does.
    await ns.kube.wire.mergePatchObject(
      ref,
      { status: { latestCreatedRevisionName: 'podinfo-00001', latestReadyRevisionName: 'podinfo-00001' } },
      { subresource: 'status' },
    );
    const canary = Canary.parse({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: 'podinfo', namespace: ns.name },
      spec: {
        provider: 'knative',
        targetRef: { apiVersion: KNATIVE, kind: 'Service', name: 'podinfo' },
        analysis: { interval: '10s', stepWeight: 10, maxWeight: 50 },
      },
    });
    const router = routerFor(canary, {
      kube: ns.kube,
      targetPods: () => Promise.reject(new Error('a Knative Canary has no pods of Sluice’s')),
    });
    await router.reconcile(canary);
    let service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.metadata.annotations?.['sluice.dev/primary-revision']).toBe('podinfo-00001');
    expect(service.spec.traffic).toEqual([
      { revisionName: 'podinfo-00001', percent: 100 },
      { latestRevision: true, percent: 0 },
    ]);
    expect(await router.getRoutes(canary)).toEqual(PRIMARY_ONLY);

    // A new revision arrives: the primary annotation holds, the latest revision gets the canary's share.
    await ns.kube.wire.mergePatchObject(
      ref,
      { status: { latestCreatedRevisionName: 'podinfo-00002' } },
      { subresource: 'status' },
    );
    await router.setRoutes(canary, { primaryWeight: 70, canaryWeight: 30, mirror: false, match: false });
    service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.spec.traffic).toEqual([
      { revisionName: 'podinfo-00001', percent: 70 },
      { latestRevision: true, percent: 30 },
    ]);
    expect(service.metadata.labels).toEqual({ team: 'shop' });
    expect(image(service)).toBe('ghcr.io/stefanprodan/podinfo:6.0.0');
    expect(await router.getRoutes(canary)).toEqual({
      primaryWeight: 70,
      canaryWeight: 30,
      mirror: false,
      match: false,
    });
    await expect(router.setRoutes(canary, { ...PRIMARY_ONLY, mirror: true })).rejects.toThrow(
      RoutingNotSupportedError,
    );

    // revertOnDeletion: Sluice lets go of the traffic block and its annotation; the Service stays.
    await router.finalize(canary);
    service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.spec.traffic).toBeUndefined();
    expect(service.metadata.annotations?.['sluice.dev/primary-revision']).toBeUndefined();
    expect(image(service)).toBe('ghcr.io/stefanprodan/podinfo:6.0.0');
  });
});
