import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// Issue 13 on the real control plane: what Sluice cannot do is a Stalled condition with the
// field named and an Event with the same reason, never a canary left in Progressing; a
// release in flight whose spec turns impossible goes back to the primary; and deleting a
// Canary always returns.

const ns = useScene('stalls');
let controller: SluiceProcess;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

const conditions = (c: { status?: Record<string, unknown> }) =>
  (c.status?.conditions as Condition[] | undefined) ?? [];
const stalled = (c: { status?: Record<string, unknown> }) =>
  conditions(c).find((x) => x.type === 'Stalled' && x.status === 'True');

async function waitStalled(name: string): Promise<Condition> {
  const canary = await ns.phase((c) => stalled(c) !== undefined, {
    name,
    timeoutMs: 60_000,
  });
  return stalled(canary)!;
}

async function eventWith(name: string, text: string): Promise<string> {
  return eventually(
    `an Event on ${name} with "${text}"`,
    async () => [...(await ns.events(name)).keys()].find((m) => m.includes(text)),
    { timeoutMs: 30_000 },
  );
}

async function virtualServiceWeights(name: string): Promise<number[]> {
  const vs = (await ns.kube.custom.getNamespacedCustomObject({
    group: 'networking.istio.io',
    version: 'v1',
    namespace: ns.name,
    plural: 'virtualservices',
    name,
  })) as { spec: { http: { route: { weight?: number }[] }[] } };
  return vs.spec.http.at(-1)!.route.map((r) => r.weight ?? 0);
}

async function deleteCanary(name: string): Promise<void> {
  await ns.kube.custom.deleteNamespacedCustomObject({
    group: 'sluice.dev',
    version: 'v1alpha1',
    namespace: ns.name,
    plural: 'canaries',
    name,
  });
}

async function gone(name: string, timeoutMs: number): Promise<void> {
  await eventually(
    `Canary ${name} deleted`,
    async () => {
      try {
        await ns.read(name);
        return undefined;
      } catch {
        return true;
      }
    },
    { timeoutMs },
  );
}

describe('stalls and deletions through the controller', () => {
  beforeAll(async () => {
    controller = await ns.startController({
      args: ['--no-leader-elect', '--allowed-url-hosts', 'cluster-local,127.0.0.1'],
    });
    for (const name of ['good', 'blue', 'mesh', 'svc', 'hook', 'flight', 'gone', 'broken', 'refused']) {
      await ns.apply(ns.podinfo({ name }));
    }
  });
  afterAll(async () => controller?.kill());

  it('refuses what the provider, the target kind or the URL allowlist rule out, naming the field; the good canary is served', async () => {
    const blueGreen = { interval: '10s', iterations: 2 };
    await ns.apply(
      ns.canary({ provider: 'kubernetes', analysis: { interval: '10s', stepWeight: 20 } }, 'blue'),
    );
    await ns.apply(ns.canary({ provider: 'appmesh', analysis: blueGreen }, 'mesh'));
    const service = ns.canary({ provider: 'kubernetes', analysis: blueGreen }, 'svc');
    service.spec.targetRef = { apiVersion: 'v1', kind: 'Service', name: 'svc' };
    await ns.apply(service);
    await ns.apply(
      ns.canary(
        {
          provider: 'kubernetes',
          analysis: {
            ...blueGreen,
            webhooks: [{ name: 'load', type: 'rollout', url: 'https://attacker.example/' }],
          },
        },
        'hook',
      ),
    );
    await ns.apply(ns.canary({ provider: 'kubernetes', analysis: blueGreen }, 'good'));

    const blue = await waitStalled('blue');
    expect(blue.reason).toBe('UnsupportedByProvider');
    expect(blue.message).toContain(
      'spec.analysis.stepWeight: provider kubernetes cannot split traffic by weight',
    );
    expect(await eventWith('blue', 'spec.analysis.stepWeight')).toContain('kubernetes can:');

    const mesh = await waitStalled('mesh');
    expect(mesh.message).toMatch(/spec\.provider: "appmesh" is not supported.*expected one of istio/);
    await eventWith('mesh', 'spec.provider');

    const svc = await waitStalled('svc');
    expect(svc.message).toContain(
      'spec.targetRef.kind: Service is not supported; expected Deployment or DaemonSet',
    );
    await eventWith('svc', 'spec.targetRef.kind');

    const hook = await waitStalled('hook');
    expect(hook.reason).toBe('UrlNotAllowed');
    expect(hook.message).toContain('spec.analysis.webhooks[0].url');
    await eventWith('hook', 'spec.analysis.webhooks[0].url');

    for (const name of ['blue', 'mesh', 'svc', 'hook']) {
      const canary = await ns.read(name);
      expect(canary.status?.phase, name).not.toBe('Progressing');
      await expect(
        ns.kube.apps.readNamespacedDeployment({ name: `${name}-primary`, namespace: ns.name }),
        name,
      ).rejects.toThrow();
    }
    await ns.phase('Initialized', { name: 'good' });
  });

  it('sends a release in flight back to the primary when its spec asks for what the provider cannot do', async () => {
    const analysis = {
      interval: '10s',
      threshold: 2,
      stepWeight: 50,
      maxWeight: 50,
      // The promotion gate stays closed, so the release holds at 50 %.
      webhooks: [{ name: 'hold', type: 'confirm-promotion', url: 'http://127.0.0.1:1/gate' }],
    };
    await ns.apply(ns.canary({ provider: 'istio', analysis }, 'flight'));
    await ns.phase('Initialized', { name: 'flight' });
    await ns.apply(ns.podinfo({ name: 'flight', image: 'example.com/podinfo:2' }));
    await ns.phase((c) => c.status?.canaryWeight === 50, { name: 'flight' });
    expect(await virtualServiceWeights('flight')).toEqual([50, 50]);

    const impossible = ns.canary({ provider: 'istio', analysis }, 'flight');
    impossible.spec.service = {
      port: 9898,
      gatewayRefs: [{ name: 'public' }],
    } as typeof impossible.spec.service;
    await ns.apply(impossible);
    const condition = await waitStalled('flight');
    expect(condition.reason).toBe('UnsupportedByProvider');
    expect(condition.message).toContain('spec.service.gatewayRefs');
    const canary = await ns.read('flight');
    expect(canary.status?.canaryWeight).toBe(0);
    expect(await virtualServiceWeights('flight')).toEqual([100, 0]);
  });

  it('stalls on a write the apiserver refuses, naming the object and the apiserver’s message', async () => {
    const refused = ns.canary(
      { provider: 'gatewayapi', analysis: { interval: '10s', stepWeight: 50, maxWeight: 50 } },
      'refused',
    );
    // The HTTPRoute CRD's own schema refuses the host name; Sluice's API passes it on.
    refused.spec.service = {
      port: 9898,
      hosts: ['Not_A_Host'],
      gatewayRefs: [{ name: 'public' }],
    } as typeof refused.spec.service;
    await ns.apply(refused);
    const condition = await waitStalled('refused');
    expect(condition.reason).toBe('ApiRefused');
    expect(condition.message).toMatch(
      /the apiserver refused it \(422\): .*HTTPRoute.*"refused" is invalid.*hostnames/,
    );
    await eventWith('refused', 'the apiserver refused it (422)');
    const canary = await ns.read('refused');
    expect(canary.status?.phase).not.toBe('Progressing');
  });

  it('lets a Canary with revertOnDeletion go within progressDeadlineSeconds when its target is gone', async () => {
    await ns.apply(
      ns.canary(
        {
          provider: 'kubernetes',
          revertOnDeletion: true,
          progressDeadlineSeconds: 10,
          analysis: { interval: '10s', iterations: 2 },
        },
        'gone',
      ),
    );
    await ns.phase('Initialized', { name: 'gone' });
    await eventually('the finalizer', async () => (await ns.read('gone')).metadata.finalizers?.length);
    await ns.kube.apps.deleteNamespacedDeployment({ name: 'gone', namespace: ns.name });
    const started = Date.now();
    await deleteCanary('gone');
    await gone('gone', 40_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(await eventWith('gone', 'was not restored within progressDeadlineSeconds')).toContain(
      'Deployment gone-primary and the routing are left serving',
    );
  });

  it('removes the finalizer of a Canary whose spec became invalid before it was deleted', async () => {
    const spec = (successCondition: string) => ({
      provider: 'kubernetes',
      revertOnDeletion: true,
      analysis: {
        interval: '10s',
        iterations: 2,
        metrics: [{ name: 'errors', query: 'sum(up)', successCondition }],
      },
    });
    await ns.apply(ns.canary(spec('result >= 0'), 'broken'));
    await ns.phase('Initialized', { name: 'broken' });
    await eventually('the finalizer', async () => (await ns.read('broken')).metadata.finalizers?.length);
    await ns.apply(ns.canary(spec('result >='), 'broken'));
    await waitStalled('broken');
    await deleteCanary('broken');
    await gone('broken', 20_000);
    expect(await eventWith('broken', 'the target was not restored')).toContain('successCondition');
  });
});
