import { HttpMethod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { countingWire, eventually, useNamespace } from '../support/kube.ts';
import { PodChecks } from '../../src/targets/pod-checks.ts';
import {
  APP,
  applyDeployment,
  bootstrap,
  canaryFor,
  kubernetesCanaryFor,
  read,
  release,
  sluiceFor,
} from './fixtures.ts';

// Deployment and DaemonSet targets on the real control plane (kube-controller-manager,
// scheduler, kwok pods).

const ns = useNamespace('targets-deploy');

type Template = {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    nodeSelector?: Record<string, string>;
    affinity?: {
      podAntiAffinity?: {
        preferredDuringSchedulingIgnoredDuringExecution?: {
          podAffinityTerm: { labelSelector: { matchLabels: Record<string, string> } };
        }[];
      };
    };
  };
};

describe('Deployment target', () => {
  it('bootstraps a primary with its own selector, then scales the target to zero', async () => {
    await applyDeployment(ns.kube, ns.name, {
      replicas: 3,
      podSpec: {
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 100,
                podAffinityTerm: {
                  topologyKey: 'kubernetes.io/hostname',
                  labelSelector: { matchLabels: { app: APP } },
                },
              },
            ],
          },
        },
      },
    });
    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: APP, namespace: ns.name } },
      {
        metadata: {
          annotations: { 'kustomize.toolkit.fluxcd.io/checksum': 'abc' },
          labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' },
        },
      },
    );
    const canary = canaryFor(ns.name, { provider: 'kubernetes' });
    const sluice = sluiceFor(canary, ns.kube);
    // The first call creates the primary. kwok can make its pods ready within that same call
    // (the test then sees done at once); until then, the target keeps serving untouched.
    const first = await sluice.target.bootstrap(canary);
    if (!first.done) {
      expect(first.primary.state).toBe('notReady');
      expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(3);
    }
    const done = first.done ? first : await bootstrap(canary, sluice);
    if (first.done) await sluice.router.reconcile(canary);
    expect(done.primary.state).toBe('ready');
    expect(done.scale).toEqual({ replicas: 0, written: true });
    const primary = await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`);
    expect(primary.spec.replicas).toBe(3);
    expect(primary.spec.selector).toEqual({ matchLabels: { app: 'podinfo-primary' } });
    expect(primary.metadata.labels).toEqual({ app: 'podinfo-primary', team: 'checkout' });
    expect(primary.metadata.annotations).toMatchObject({
      'example.com/owner': 'checkout',
      'sluice.dev/canary': APP,
    });
    expect(primary.metadata.annotations?.['kustomize.toolkit.fluxcd.io/checksum']).toBeUndefined();
    const template = primary.spec.template as Template;
    expect(template.metadata.labels).toEqual({ app: 'podinfo-primary' });
    expect(template.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(template.metadata.annotations['sluice.dev/revision']).toBe(
      (await sluice.target.revision(canary)).revision,
    );
    const term =
      template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    expect(term?.podAffinityTerm.labelSelector.matchLabels).toEqual({ app: 'podinfo-primary' });
    // Nothing ties the primary to the Canary's lifetime (see docs/routing.md).
    expect((primary.metadata as { ownerReferences?: unknown[] }).ownerReferences).toBeUndefined();

    expect((await read(ns.kube, 'apps/v1', 'Deployment', ns.name, APP)).spec.replicas).toBe(0);
    const readiness = await sluice.target.readiness(canary);
    expect(readiness.primary.state).toBe('ready');
    expect(readiness.canary).toEqual({
      state: 'notReady',
      message: `Deployment ${ns.name}/podinfo is scaled to zero`,
    });

    // Repeating the bootstrap and the promotion writes nothing.
    const again = await sluice.target.bootstrap(canary);
    expect(again.done).toBe(true);
    expect(again.writes).toBe(0);
    const before = primary.metadata.resourceVersion;
    expect((await sluice.target.promote(canary)).writes).toBe(0);
    expect(
      (await read(ns.kube, 'apps/v1', 'Deployment', ns.name, `${APP}-primary`)).metadata.resourceVersion,
    ).toBe(before);

    // Scale up for an analysis: the primary's replicas; a second call is a no-op.
    expect(await sluice.target.scaleCanary(canary, 'up')).toEqual({ replicas: 3, written: true });
    expect(await sluice.target.scaleCanary(canary, 'up')).toEqual({ replicas: 3, written: false });
    await eventually(
      'canary ready',
      async () => (await sluice.target.readiness(canary)).canary.state === 'ready',
    );

    // A promotion asked for a revision the target has left writes nothing.
    const old = await sluice.target.revision(canary);
    await release(ns.kube, ns.name, 'ghcr.io/stefanprodan/podinfo:6.2.0');
    const stale = await sluice.target.promote(canary, { revision: old.revision });
    expect(stale.applied).toBe(false);
    expect(stale.writes).toBe(0);
    expect(stale.message).toMatch(/not promoted/);
    const current = await sluice.target.revision(canary);
    expect(current.revision).not.toBe(old.revision);
    const promoted = await sluice.target.promote(canary, { revision: current.revision });
    expect(promoted.applied).toBe(true);
    expect(promoted.writes).toBe(1);
  });

  it("with the controller's PodChecks, lists a ready primary's pods again only once its resourceVersion moves", async () => {
    await applyDeployment(ns.kube, ns.name, { name: 'steady', replicas: 1 });
    const canary = kubernetesCanaryFor(ns.name, 'steady');
    const { wire, counts } = countingWire(ns.kube.wire, 'listObjects', (args) => String(args[1]));
    const podLists = () => counts.get('Pod') ?? 0;
    const sluice = sluiceFor(canary, { wire }, { podChecks: new PodChecks() });
    await bootstrap(canary, sluice);
    const primaryVersion = async () =>
      (await read(ns.kube, 'apps/v1', 'Deployment', ns.name, 'steady-primary')).metadata.resourceVersion;

    const version = await primaryVersion();
    expect((await sluice.target.readiness(canary)).primary.state).toBe('ready');
    const afterFirst = podLists();
    expect((await sluice.target.readiness(canary)).primary.state).toBe('ready');
    // The target is at zero (no list); the primary's healthy check stands while it is unchanged.
    if ((await primaryVersion()) === version) expect(podLists()).toBe(afterFirst);

    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'steady-primary', namespace: ns.name } },
      // A label, not an annotation: a Deployment's annotations are part of its generation.
      { metadata: { labels: { 'example.com/touched': 'yes' } } },
    );
    const beforeMove = podLists();
    expect((await sluice.target.readiness(canary)).primary.state).toBe('ready');
    expect(podLists()).toBe(beforeMove + 1);
  });

  it('at rest, takes a ready status at its word (no pod list) and still reads the pods of a failing primary; a bootstrap reads none', async () => {
    await applyDeployment(ns.kube, ns.name, { name: 'resting', replicas: 1 });
    const canary = kubernetesCanaryFor(ns.name, 'resting');
    await bootstrap(canary, sluiceFor(canary, ns.kube));
    const { wire, counts } = countingWire(ns.kube.wire, 'listObjects', (args) => String(args[1]));
    const podLists = () => counts.get('Pod') ?? 0;
    const resting = sluiceFor(canary, { wire }, { podChecks: new PodChecks(), podReads: 'unlessReady' });
    for (let i = 0; i < 3; i += 1)
      expect((await resting.target.readiness(canary)).primary.state).toBe('ready');
    expect(podLists()).toBe(0);

    // The primary's pods start failing (kwok's pod-container-running-failed stage): its status
    // stops saying ready, and the pods say why.
    await ns.kube.wire.mergePatchObject(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'resting-primary', namespace: ns.name },
      },
      {
        spec: {
          template: { metadata: { labels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' } } },
        },
      },
    );
    const report = await eventually('primary deadlineExceeded', async () => {
      const { primary } = await resting.target.readiness(canary);
      return primary.state === 'deadlineExceeded' ? primary : undefined;
    });
    expect(report.message).toMatch(/pod resting-primary-[a-z0-9-]+ failed: container app exited with code 1/);
    expect(podLists()).toBeGreaterThan(0);

    // A bootstrap before its deadline reads the status alone: no pod listed, so no failing pod named.
    const listed = podLists();
    const bootstrapping = sluiceFor(canary, { wire }, { podChecks: new PodChecks(), podReads: 'never' });
    const { primary } = await bootstrapping.target.readiness(canary);
    expect(primary.state).not.toBe('deadlineExceeded');
    expect(primary.message).not.toMatch(/failed: container/);
    expect(podLists()).toBe(listed);
  });

  it("reads the pods from the apiserver's watch cache, not with a consistent read", async () => {
    // At 10 000 canaries in one namespace a consistent pod list waited for the lagging watch
    // cache, then read all 20 000 pods from etcd: 54 s each, and timeouts.
    await applyDeployment(ns.kube, ns.name, { name: 'cached', replicas: 1 });
    const canary = kubernetesCanaryFor(ns.name, 'cached');
    const { wire, counts } = countingWire(ns.kube.wire, 'listObjects', (args) =>
      [args[1], args[4]?.fromCache ? 'from cache' : 'consistent'].join(' '),
    );
    const sluice = sluiceFor(canary, { wire });
    await bootstrap(canary, sluice);
    expect((await sluice.target.readiness(canary)).primary.state).toBe('ready');
    expect(counts.get('Pod from cache') ?? 0).toBeGreaterThan(0);
    expect(counts.get('Pod consistent')).toBeUndefined();
  });

  it('reports a crash-looping release as deadlineExceeded at once, naming the pod and the exit code', async () => {
    await applyDeployment(ns.kube, ns.name, { name: 'crashy', replicas: 1 });
    const canary = kubernetesCanaryFor(ns.name, 'crashy');
    const sluice = sluiceFor(canary, ns.kube);
    await bootstrap(canary, sluice);
    // The new release's containers fail (kwok's pod-container-running-failed stage).
    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'crashy', namespace: ns.name } },
      {
        spec: {
          template: { metadata: { labels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' } } },
        },
      },
    );
    await sluice.target.scaleCanary(canary, 'up');
    const report = await eventually('canary deadlineExceeded', async () => {
      const { canary: readiness } = await sluice.target.readiness(canary);
      return readiness.state === 'deadlineExceeded' ? readiness : undefined;
    });
    expect(report.message).toMatch(
      new RegExp(
        `Deployment ${ns.name}/crashy (will not become ready|is failing): pod crashy-[a-z0-9-]+ failed: container app exited with code 1`,
      ),
    );
    // The primary is untouched and serving.
    expect((await sluice.target.readiness(canary)).primary.state).toBe('ready');

    // Rolled back; the next release is fine: the failed pods of the last one do not count.
    await sluice.target.scaleCanary(canary, 'zero');
    await ns.kube.wire.mergePatchObject(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'crashy', namespace: ns.name } },
      {
        spec: {
          template: { metadata: { labels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': null } } },
        },
      },
    );
    await sluice.target.scaleCanary(canary, 'up');
    await eventually(
      'fixed canary ready',
      async () => (await sluice.target.readiness(canary)).canary.state === 'ready',
    );
  });
});

describe('DaemonSet target', () => {
  it('bootstraps a primary DaemonSet and parks the target off every node with a node selector', async () => {
    await ns.kube.wire.request(HttpMethod.POST, `/apis/apps/v1/namespaces/${ns.name}/daemonsets`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent', namespace: ns.name },
        spec: {
          selector: { matchLabels: { name: 'agent' } },
          template: {
            metadata: { labels: { name: 'agent' } },
            spec: {
              containers: [{ name: 'agent', image: 'example.com/agent:1', ports: [{ containerPort: 9100 }] }],
            },
          },
        },
      },
    });
    const canary = canaryFor(
      ns.name,
      {
        provider: 'kubernetes',
        targetRef: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent' },
        service: { port: 9100 },
      },
      'agent',
    );
    const sluice = sluiceFor(canary, ns.kube);
    const revision = await sluice.target.revision(canary);
    const done = await bootstrap(canary, sluice);
    expect(done.scale).toEqual({ replicas: 0, written: true });
    const primary = await read(ns.kube, 'apps/v1', 'DaemonSet', ns.name, 'agent-primary');
    expect(primary.spec.selector).toEqual({ matchLabels: { name: 'agent-primary' } });
    expect((primary.status as { numberAvailable?: number }).numberAvailable).toBe(2);
    const target = await read(ns.kube, 'apps/v1', 'DaemonSet', ns.name, 'agent');
    expect((target.spec.template as Template).spec.nodeSelector).toEqual({
      'sluice.dev/scale-to-zero': 'true',
    });
    // Parking the target is not a new revision.
    expect((await sluice.target.revision(canary)).revision).toBe(revision.revision);
    await eventually(
      'target pods gone',
      async () =>
        (
          (await read(ns.kube, 'apps/v1', 'DaemonSet', ns.name, 'agent')).status as {
            desiredNumberScheduled?: number;
          }
        ).desiredNumberScheduled === 0,
    );

    expect(await sluice.target.scaleCanary(canary, 'up')).toEqual({ replicas: 1, written: true });
    const unparked = await read(ns.kube, 'apps/v1', 'DaemonSet', ns.name, 'agent');
    expect((unparked.spec.template as Template).spec.nodeSelector).toBeUndefined();
    await eventually(
      'canary DaemonSet ready',
      async () => (await sluice.target.readiness(canary)).canary.state === 'ready',
    );
  });
});
