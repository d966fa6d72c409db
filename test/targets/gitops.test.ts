import { HttpMethod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/notify/events.ts';
import { applyObject } from '../../src/kube/objects.ts';
import { useNamespace } from '../support/kube.ts';
import {
  applyDeployment,
  bootstrap,
  deploymentManifest,
  kubernetesCanaryFor,
  read,
  sluiceFor,
} from './fixtures.ts';

// How a GitOps reconcile of the target Deployment meets Sluice's scale-to-zero
// (docs/gitops.md, docs/decisions/0006-gitops-replicas.md). Flux's kustomize-controller
// is simulated by what it does: a forced server-side apply of the manifest as field
// manager kustomize-controller. Argo CD by both of its modes: client-side apply (an
// update as argocd-controller) and server-side apply.

const ns = useNamespace('targets-gitops');

interface Reconciler {
  name: string;
  /** Applies the manifest from Git the way the tool does. */
  sync(manifest: ReturnType<typeof deploymentManifest>): Promise<void>;
}

const flux: Reconciler = {
  name: 'kustomize-controller',
  async sync(manifest) {
    await applyObject(ns.kube, manifest, { fieldManager: 'kustomize-controller', force: true });
  },
};

const argoServerSide: Reconciler = {
  name: 'argocd-controller',
  async sync(manifest) {
    await applyObject(ns.kube, manifest, { fieldManager: 'argocd-controller', force: true });
  },
};

/** Argo CD's default client-side apply, as an update of what the manifest sets. */
const argoClientSide: Reconciler = {
  name: 'argocd-controller',
  async sync(manifest) {
    const { apiVersion, kind, metadata, spec } = manifest;
    try {
      await ns.kube.wire.mergePatchObject(
        { apiVersion, kind, metadata },
        { metadata: { labels: metadata.labels }, spec },
        { fieldManager: 'argocd-controller' },
      );
    } catch {
      await ns.kube.wire.request(HttpMethod.POST, `/apis/apps/v1/namespaces/${ns.name}/deployments`, {
        body: manifest,
        query: { fieldManager: 'argocd-controller' },
      });
    }
  },
};

async function target(name: string) {
  const deployment = await read(ns.kube, 'apps/v1', 'Deployment', ns.name, name);
  // What a writer of the Deployment changes: its spec (generation) and, for a no-op apply that
  // still touched something, the managed fields. The Deployment controller's own status
  // updates move resourceVersion at any time, so that proves nothing.
  const metadata = deployment.metadata as { generation?: number; managedFields?: { subresource?: string }[] };
  const managedFields = metadata.managedFields ?? [];
  return {
    replicas: deployment.spec.replicas as number,
    generation: metadata.generation,
    managedFields: managedFields.filter((entry) => entry.subresource !== 'status'),
  };
}

async function warnings(reason: string): Promise<string[]> {
  const events = await ns.kube.core.listNamespacedEvent({ namespace: ns.name });
  return events.items.filter((e) => e.type === 'Warning' && e.reason === reason).map((e) => e.message ?? '');
}

describe('GitOps reconcilers and scale-to-zero', () => {
  for (const reconciler of [flux, argoServerSide]) {
    it(`${reconciler.name} (server-side apply) without replicas in the manifest: no fight`, async () => {
      const name = `${reconciler === flux ? 'flux' : 'argo'}-free`;
      const manifest = deploymentManifest(ns.name, { name });
      await reconciler.sync(manifest);
      const canary = kubernetesCanaryFor(ns.name, name);
      const sluice = sluiceFor(canary, ns.kube);
      const done = await bootstrap(canary, sluice);
      expect(done.scale).toEqual({ replicas: 0, written: true });

      // Reconcile after reconcile: the reconciler does not own replicas, sees no drift, writes nothing.
      const idle = await target(name);
      for (let i = 0; i < 3; i += 1) await reconciler.sync(manifest);
      expect(await target(name)).toEqual(idle);

      // A release from Git during an analysis keeps Sluice's replicas too.
      expect((await sluice.target.scaleCanary(canary, 'up')).written).toBe(true);
      await reconciler.sync(
        deploymentManifest(ns.name, { name, image: 'ghcr.io/stefanprodan/podinfo:6.3.0' }),
      );
      expect((await target(name)).replicas).toBe(1);
      expect(await sluice.target.scaleCanary(canary, 'zero')).toEqual({ replicas: 0, written: true });
      await reconciler.sync(
        deploymentManifest(ns.name, { name, image: 'ghcr.io/stefanprodan/podinfo:6.3.0' }),
      );
      expect((await target(name)).replicas).toBe(0);
    });
  }

  for (const reconciler of [flux, argoClientSide]) {
    it(`${reconciler.name} ${reconciler === flux ? '(server-side apply)' : '(client-side apply)'} with replicas in the manifest: Sluice leaves replicas alone and warns, without oscillating`, async () => {
      const name = `${reconciler === flux ? 'flux' : 'argo'}-pinned`;
      const manifest = deploymentManifest(ns.name, { name, replicas: 2 });
      await reconciler.sync(manifest);
      const canary = kubernetesCanaryFor(ns.name, name);
      const events = new EventRecorder({ kube: ns.kube });
      const sluice = sluiceFor(canary, ns.kube, { events });

      const done = await bootstrap(canary, sluice);
      // The primary serves; the idle canary keeps Git's replicas and gets no traffic.
      expect(done.primary.state).toBe('ready');
      expect(done.scale?.written).toBe(false);
      expect(done.scale?.warning).toContain(
        `Deployment ${ns.name}/${name}: spec.replicas is set to 2 by ${reconciler.name}`,
      );
      expect(done.scale?.warning).toContain('Remove spec.replicas from the manifest');
      expect((await read(ns.kube, 'v1', 'Service', ns.name, name)).spec.selector).toEqual({
        app: `${name}-primary`,
      });

      // Bounded: repeated attempts and reconciles write nothing, replicas never move.
      const pinned = await target(name);
      expect(pinned.replicas).toBe(2);
      for (let i = 0; i < 3; i += 1) {
        expect(await sluice.target.scaleCanary(canary, 'zero')).toMatchObject({
          replicas: 2,
          written: false,
        });
        await reconciler.sync(manifest);
      }
      expect(await target(name)).toEqual(pinned);
      const messages = await warnings('ReplicasOwnedByGitOps');
      expect(
        messages.some(
          (message) => message.includes(`${ns.name}/${name}`) && message.includes(reconciler.name),
        ),
      ).toBe(true);

      // The team drops replicas from the manifest: from the next sync on, Sluice scales freely.
      if (reconciler === flux) {
        await reconciler.sync(deploymentManifest(ns.name, { name }));
        expect(await sluice.target.scaleCanary(canary, 'zero')).toEqual({ replicas: 0, written: true });
        await reconciler.sync(deploymentManifest(ns.name, { name }));
        expect((await target(name)).replicas).toBe(0);
      }
    });
  }

  it('an imperative owner (kubectl scale, kubectl apply) does not stop Sluice', async () => {
    const name = 'manual';
    await applyDeployment(ns.kube, ns.name, { name, replicas: 1 });
    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns.name } },
      { spec: { replicas: 3 } },
      { fieldManager: 'kubectl', subresource: 'scale' },
    );
    const canary = kubernetesCanaryFor(ns.name, name);
    const sluice = sluiceFor(canary, ns.kube);
    const done = await bootstrap(canary, sluice);
    expect(done.scale).toEqual({ replicas: 0, written: true });
    expect((await target(name)).replicas).toBe(0);
    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${name}-primary`)).spec.replicas).toBe(3);
  });

  it('warns when a GitOps tool also applies the apex Service selector, and puts the primary back each time', async () => {
    const name = 'svc-in-git';
    await flux.sync(deploymentManifest(ns.name, { name }));
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns.name },
      spec: {
        type: 'NodePort',
        selector: { app: name },
        ports: [{ name: 'http', port: 9898, targetPort: 'http' }],
      },
    };
    await flux.sync(service as never);
    const canary = kubernetesCanaryFor(ns.name, name);
    const sluice = sluiceFor(canary, ns.kube, { events: new EventRecorder({ kube: ns.kube }) });
    await bootstrap(canary, sluice);
    const taken = await read(ns.kube, 'v1', 'Service', ns.name, name);
    expect(taken.spec.selector).toEqual({ app: `${name}-primary` });
    expect(taken.spec.type).toBe('NodePort');
    expect(
      (await warnings('ServiceOwnedByGitOps')).some((m) =>
        m.includes(`Service ${ns.name}/${name}: spec.selector is also applied by kustomize-controller`),
      ),
    ).toBe(true);

    // Flux's next sync points the Service back at the idle target; Sluice's next reconcile corrects it.
    await flux.sync(service as never);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, name)).spec.selector).toEqual({ app: name });
    await sluice.router.reconcile(canary);
    expect((await read(ns.kube, 'v1', 'Service', ns.name, name)).spec.selector).toEqual({
      app: `${name}-primary`,
    });
  });
});
