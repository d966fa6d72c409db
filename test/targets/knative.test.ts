import { describe, expect, it } from 'vitest';
import { parseCanary } from '../../src/api/validate.ts';
import type { Canary } from '../../src/api/canary.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { routerFor } from '../../src/routers/factory.ts';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { targetFor } from '../../src/targets/factory.ts';
import { useNamespace } from '../support/kube.ts';
import { read } from './fixtures.ts';

// A Knative Service as a Canary's target, against the real apiserver with Knative Serving's
// CRDs (from its Go module). No Knative controller runs here, so the test writes what it
// would report in status: the revision it created for the template and which one is ready.
// Sluice's part is the primary-revision annotation (target) and the traffic block (router),
// both by server-side apply as `sluice`; the template stays the team's.

const ns = useNamespace('targets-knative');
const KNATIVE = 'serving.knative.dev/v1';
const ref = (name: string) => ({
  apiVersion: KNATIVE,
  kind: 'Service',
  metadata: { name, namespace: ns.name },
});

async function applyTemplate(image: string, name = 'podinfo') {
  await applyObject(
    ns.kube,
    { ...ref(name), spec: { template: { spec: { containers: [{ image }] } } } },
    { fieldManager: 'kubectl' },
  );
}

/** What Knative's controller reports once it has created (and maybe readied) a revision. */
async function knativeReports(status: Record<string, unknown>, name = 'podinfo') {
  const live = (await read(ns.kube, KNATIVE, 'Service', ns.name, name)) as {
    metadata: { generation?: number };
  };
  await ns.kube.wire.mergePatchObject(
    ref(name),
    { status: { observedGeneration: live.metadata.generation, ...status } },
    { subresource: 'status' },
  );
}

function knativeCanary(name = 'podinfo'): Canary {
  const parsed = parseCanary({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace: ns.name },
    spec: {
      provider: 'knative',
      targetRef: { apiVersion: KNATIVE, kind: 'Service', name },
      analysis: { interval: '10s', stepWeight: 50, maxWeight: 50 },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.canary;
}

describe('Knative Service target', () => {
  it('bootstraps on the latest revision, sees a new template as a new revision, promotes it by annotation', async () => {
    const canary = knativeCanary();
    const target = targetFor(canary, { kube: ns.kube });
    const router = routerFor(canary, {
      kube: ns.kube,
      targetPods: (c) => target.pods(c),
    });
    await applyTemplate('ghcr.io/stefanprodan/podinfo:6.0.0');
    // Before Knative has a revision for the template, neither side is ready.
    expect((await target.readiness(canary)).canary.state).toBe('notReady');
    await knativeReports({
      latestCreatedRevisionName: 'podinfo-00001',
      latestReadyRevisionName: 'podinfo-00001',
    });

    const boot = await target.bootstrap(canary);
    expect(boot).toMatchObject({ done: true, writes: 1, primary: { state: 'ready' } });
    await router.reconcile(canary);
    let service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.metadata.annotations?.['sluice.dev/primary-revision']).toBe('podinfo-00001');
    expect(await router.getRoutes(canary)).toEqual(PRIMARY_ONLY);
    // Idempotent: a second bootstrap writes nothing.
    expect((await target.bootstrap(canary)).writes).toBe(0);
    const first = await target.revision(canary);
    expect(await target.scaleCanary(canary, 'up')).toEqual({ replicas: 1, written: false });

    // A new template: a new Sluice revision; the canary waits for Knative's new revision.
    await applyTemplate('ghcr.io/stefanprodan/podinfo:6.0.1');
    const second = await target.revision(canary);
    expect(second.revision).not.toBe(first.revision);
    expect((await target.readiness(canary)).canary.state).toBe('notReady');
    await knativeReports({ latestCreatedRevisionName: 'podinfo-00002' });
    expect((await target.readiness(canary)).canary).toMatchObject({ state: 'notReady' });
    await knativeReports({
      latestCreatedRevisionName: 'podinfo-00002',
      latestReadyRevisionName: 'podinfo-00002',
    });
    // The primary is no longer the latest ready revision: its own Revision says whether it serves.
    expect((await target.readiness(canary)).primary).toEqual({
      state: 'notReady',
      message: `Knative Service ${ns.name}/podinfo: primary revision podinfo-00001 does not exist (deleted, or collected by Knative)`,
    });
    const revision = {
      apiVersion: KNATIVE,
      kind: 'Revision',
      metadata: { name: 'podinfo-00001', namespace: ns.name },
    };
    await applyObject(
      ns.kube,
      { ...revision, spec: { containers: [{ image: 'ghcr.io/stefanprodan/podinfo:6.0.0' }] } },
      { fieldManager: 'knative' },
    );
    await ns.kube.wire.mergePatchObject(
      revision,
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      { subresource: 'status' },
    );
    expect(await target.readiness(canary)).toMatchObject({
      canary: { state: 'ready' },
      primary: { state: 'ready' },
    });
    await router.setRoutes(canary, { primaryWeight: 50, canaryWeight: 50, mirror: false, match: false });
    // The traffic block is a new generation: until Knative has observed it, promotion waits.
    expect(await target.promote(canary, { revision: second.revision })).toMatchObject({
      applied: false,
      writes: 0,
      message: expect.stringMatching(/waiting for Knative to observe generation \d+$/),
    });
    await knativeReports({
      latestCreatedRevisionName: 'podinfo-00002',
      latestReadyRevisionName: 'podinfo-00002',
    });

    // A promotion asked for another revision than the template's writes nothing.
    expect(await target.promote(canary, { revision: first.revision })).toMatchObject({
      applied: false,
      writes: 0,
    });
    const promoted = await target.promote(canary, { revision: second.revision });
    expect(promoted).toMatchObject({ applied: true, writes: 1 });
    service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.metadata.annotations?.['sluice.dev/primary-revision']).toBe('podinfo-00002');
    // The promotion's apply kept the router's traffic block (the same field manager).
    expect(service.spec.traffic).toEqual([
      { revisionName: 'podinfo-00001', percent: 50 },
      { latestRevision: true, percent: 50 },
    ]);
    await router.setRoutes(canary, PRIMARY_ONLY);
    service = await read(ns.kube, KNATIVE, 'Service', ns.name, 'podinfo');
    expect(service.spec.traffic).toEqual([
      { revisionName: 'podinfo-00002', percent: 100 },
      { latestRevision: true, percent: 0 },
    ]);
    expect(
      (service.spec.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image,
    ).toBe('ghcr.io/stefanprodan/podinfo:6.0.1');
  });

  it('reports a revision Knative gave up on as past its deadline, naming it', async () => {
    const canary = knativeCanary('failing');
    const target = targetFor(canary, { kube: ns.kube });
    await applyTemplate('ghcr.io/stefanprodan/podinfo:6.0.0', 'failing');
    await knativeReports(
      {
        latestCreatedRevisionName: 'podinfo-00001',
        latestReadyRevisionName: 'podinfo-00001',
      },
      'failing',
    );
    await target.bootstrap(canary);
    await applyTemplate('ghcr.io/stefanprodan/podinfo:broken', 'failing');
    await knativeReports(
      {
        latestCreatedRevisionName: 'podinfo-00002',
        latestReadyRevisionName: 'podinfo-00001',
        conditions: [
          {
            type: 'ConfigurationsReady',
            status: 'False',
            reason: 'RevisionFailed',
            message: 'image pull failed',
          },
        ],
      },
      'failing',
    );
    const readiness = await target.readiness(canary);
    expect(readiness.primary.state).toBe('ready');
    expect(readiness.canary).toEqual({
      state: 'deadlineExceeded',
      message: `Knative Service ${ns.name}/failing: revision podinfo-00002 failed: RevisionFailed image pull failed`,
    });
  });
});
