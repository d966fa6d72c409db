import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  applyAsUser,
  canaryEvents,
  canaryObject,
  podinfoDeployment,
  sluice,
  startControllerProcess,
  type SluiceProcess,
} from '../support/sluice.ts';
import { targetReplicas, waitForCanary } from './support.ts';

// The failures docs/debugging.md walks through, as a person meets them: an invalid spec
// (Stalled), a missing target, a GitOps tool owning the target's replicas, and analysis
// that gets no data from the real Prometheus — each seen through `sluice get`, `sluice
// status`, the status conditions, the Events and the controller's log lines (one `canary`
// field, `<name>.<namespace>`, so a log query by canary finds every line). The scenario has
// no traffic by nature: "no data" is what it checks.

const ns = useNamespace('e2e-debugging');
let controller: SluiceProcess;

const stalled = (canary: Awaited<ReturnType<typeof waitForCanary>>) =>
  canary.status?.conditions?.find((c) => c.type === 'Stalled');

beforeAll(async () => {
  controller = await startControllerProcess({ namespace: ns.name });
});

afterAll(async () => {
  await controller?.kill();
});

/** Canary `name` on Istio for the Deployment of the same name, with `analysis`. */
const applyIstioCanary = (name: string, analysis: Record<string, unknown>) =>
  applyAsUser(ns.kube, canaryObject(ns.name, { provider: 'istio', analysis }, name));

describe('e2e: what a person sees when a canary is stuck', () => {
  it('an invalid spec: Stalled (InvalidSpec) naming the field, in status, get, events and the log', async () => {
    await applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, name: 'broken' }));
    await applyIstioCanary('broken', {
      interval: '10s',
      stepWeight: 50,
      metrics: [{ name: 'errors', query: 'sum(up)', successCondition: 'result >=' }],
    });
    const canary = await waitForCanary(ns.kube, ns.name, (c) => stalled(c)?.status === 'True', {
      name: 'broken',
      timeoutMs: 30_000,
    });
    expect(stalled(canary)).toMatchObject({ reason: 'InvalidSpec' });
    expect(stalled(canary)?.message).toMatch(
      /^spec\.analysis\.metrics\[0\]\.successCondition: not a valid CEL/,
    );
    expect(canary.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');

    const status = await sluice(['status', 'broken', '-n', ns.name]);
    expect(status.stdout).toMatch(/Stalled\s+spec\.analysis\.metrics\[0\]\.successCondition/);
    const get = await sluice(['get', '-n', ns.name]);
    // NAME, SHARD (`-`: none), PHASE, …
    expect(get.stdout).toMatch(/broken\s+-\s+Pending\s.*is invalid/);
    const events = [...(await canaryEvents(ns.kube, ns.name, 'broken')).keys()];
    expect(events).toContainEqual(expect.stringContaining('spec.analysis.metrics[0].successCondition'));
  });

  it('a missing target: the status message and a Warning Event name the Deployment', async () => {
    await applyAsUser(
      ns.kube,
      canaryObject(ns.name, { provider: 'istio', analysis: { interval: '10s', stepWeight: 50 } }, 'orphan'),
    );
    const canary = await waitForCanary(
      ns.kube,
      ns.name,
      (c) => (c.status?.message ?? '').includes('does not exist'),
      { name: 'orphan', timeoutMs: 30_000 },
    );
    expect(canary.status?.message).toBe(
      `cannot read the target: Deployment ${ns.name}/orphan (spec.targetRef of Canary ${ns.name}/orphan) does not exist`,
    );
    const list = await ns.kube.core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=orphan',
    });
    expect(list.items.map((e) => `${e.type} ${e.reason}`)).toContain('Warning ReconcileError');
  });

  it('replicas owned by a GitOps tool: a Warning says who and how to fix it; the canary still bootstraps', async () => {
    // As Flux's kustomize-controller applies a manifest that sets replicas.
    await applyAsUser(
      ns.kube,
      podinfoDeployment({ namespace: ns.name, name: 'gitops', replicas: 2 }),
      'kustomize-controller',
    );
    await applyAsUser(
      ns.kube,
      canaryObject(ns.name, { provider: 'istio', analysis: { interval: '10s', stepWeight: 50 } }, 'gitops'),
    );
    await waitForCanary(ns.kube, ns.name, 'Initialized', { name: 'gitops', timeoutMs: 60_000 });
    const warning = await eventually('a ReplicasOwnedByGitOps Event', async () => {
      const list = await ns.kube.core.listNamespacedEvent({
        namespace: ns.name,
        fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=gitops,reason=ReplicasOwnedByGitOps',
      });
      return list.items[0];
    });
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain('spec.replicas is set to 2 by kustomize-controller');
    expect(warning.message).toContain('Remove spec.replicas from the manifest');
    expect(await targetReplicas(ns.kube, ns.name, 'gitops')).toBe(2);
  });

  it('no data from Prometheus: each check fails with the query, and the canary is rolled back', async () => {
    await applyAsUser(
      ns.kube,
      podinfoDeployment({ namespace: ns.name, name: 'quiet', image: 'example.com/quiet:1' }),
    );
    await applyIstioCanary('quiet', {
      interval: '10s',
      threshold: 1,
      stepWeight: 50,
      maxWeight: 50,
      metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
    });
    await waitForCanary(ns.kube, ns.name, 'Initialized', { name: 'quiet', timeoutMs: 60_000 });
    await applyAsUser(
      ns.kube,
      podinfoDeployment({ namespace: ns.name, name: 'quiet', image: 'example.com/quiet:2' }),
    );
    const failed = await waitForCanary(ns.kube, ns.name, 'Failed', { name: 'quiet', timeoutMs: 90_000 });
    // At threshold 1 the rollback itself says why: no data, and the query that found none.
    expect(failed.status?.message).toMatch(
      /^rolling back: failed checks threshold reached 1: no data: request-success-rate: no values from prometheus for query .*istio_requests_total/,
    );
    const check = failed.status?.lastAnalysis?.[0];
    expect(check).toMatchObject({ name: 'request-success-rate', passed: false });
    expect(check?.value).toBeUndefined();
    expect(check?.reason).toMatch(
      /^request-success-rate: no values from prometheus for query .*istio_requests_total/,
    );
    const events = [...(await canaryEvents(ns.kube, ns.name, 'quiet')).keys()];
    expect(events).toContain(failed.status?.message);
  });

  it('logs every line about a canary with one canary field, <name>.<namespace>', async () => {
    const lines = (await controller.log())
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .filter((line) => line.includes('"canary":'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.match(/"canary":/g), line.slice(0, 300)).toHaveLength(1);
      const { canary } = JSON.parse(line) as { canary: string };
      expect(canary, line.slice(0, 300)).toMatch(new RegExp(`^[a-z0-9-]+\\.${ns.name}$`));
    }
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; canary: string; msg: string });
    const about = (name: string) =>
      warnings.filter((l) => l.canary === `${name}.${ns.name}` && l.level >= 40);
    expect(about('broken').map((l) => l.msg)).toContainEqual(expect.stringContaining('is invalid'));
    expect(about('orphan').map((l) => l.msg)).toContainEqual(expect.stringContaining('does not exist'));
    expect(about('gitops').map((l) => l.msg)).toContainEqual(expect.stringContaining('kustomize-controller'));
  });
});
