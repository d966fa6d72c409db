import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice, type SluiceProcess } from '../support/sluice.ts';
import { ROLLOUT_SPEC, useScene, useScrapedExporter } from '../support/scene.ts';

// The controller as users run it (`sluice controller --kubeconfig …`), one namespace, a
// real Prometheus scraping an exporter the test drives: a good release is promoted, a bad
// one is rolled back, and `sluice status --watch` reports each with its exit code.

const ns = useScene('rollout');
const exporter = useScrapedExporter(ns, { rps: 50, errorRatio: 0, latencyMs: 100 });
let controller: SluiceProcess;

/** `sluice status --watch` on the Canary until it settles (at most 180 s). */
const watchStatus = () =>
  sluice(['status', 'podinfo', '-n', ns.name, '--watch', '--timeout', '180', '--interval', '500']);

const primaryImage = async () =>
  (await ns.kube.apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns.name })).spec
    ?.template.spec?.containers[0]?.image;

describe('sluice controller: a full promotion and a full rollback', () => {
  beforeAll(async () => {
    controller = await ns.startController({ args: ['--no-leader-elect', '--step-events'] });
    await ns.initialize(ROLLOUT_SPEC, 'example.com/podinfo:1.0.0');
  });

  afterAll(async () => {
    await controller?.kill();
  });

  it('promotes a healthy release; status --watch exits 0', async () => {
    await ns.release('example.com/podinfo:1.0.1');
    await ns.phase((c) => c.status?.phase !== 'Initialized');
    const watch = await watchStatus();
    expect(watch.stderr).toBe('');
    expect(watch.code).toBe(0);
    expect(watch.stdout).toContain('Phase      Succeeded');
    expect(watch.stdout).toMatch(/canary 25%/);
    expect(watch.stdout).toMatch(/✔ request-success-rate\s+100/);

    expect(await primaryImage()).toBe('example.com/podinfo:1.0.1');
    const events = await ns.events();
    expect(events.get('advance canary weight 25')).toBe(1);
    expect(events.get('advance canary weight 50')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);

    const metrics = await (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text();
    expect(metrics).toMatch(/sluice_canary_promotions_total\{namespace="[^"]+",strategy="canary"\} 1/);
    expect(metrics).toMatch(
      /sluice_canary_lead_time_seconds_count\{namespace="[^"]+",strategy="canary",source="detection"\} 1/,
    );
    // The built-in checks went through the batcher, on by default (--metric-batch-window).
    expect(await controller.log()).toMatch(/"metric":"request-success-rate".*"msg":"batched metric query"/);
    const batches = Number(/^sluice_metric_batch_queries_total (\d+)$/m.exec(metrics)?.[1]);
    const checks = Number(/^sluice_metric_batch_checks_total (\d+)$/m.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(0);
    expect(checks).toBeGreaterThanOrEqual(batches);
  });

  it('rolls back a release whose error rate is too high; status --watch exits 1', async () => {
    exporter.setMode({ errorRatio: 0.2 });
    await ns.release('example.com/podinfo:1.0.2');
    await ns.phase((c) => c.status?.phase === 'Progressing');
    const watch = await watchStatus();
    expect(watch.code).toBe(1);
    expect(watch.stderr).toContain(`canary ${ns.name}/podinfo failed`);
    expect(watch.stdout).toMatch(/✖ request-success-rate\s+\d+(\.\d+)?\s+.*min 99/);

    const failed = await ns.phase('Failed');
    expect(failed.status?.canaryWeight).toBe(0);
    expect(failed.status?.failedChecks).toBe(2);
    expect(await primaryImage()).toBe('example.com/podinfo:1.0.1');
    const route = (await ns.kube.wire.getObject({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'podinfo', namespace: ns.name },
    })) as { spec: { http: { route: { destination: { host: string }; weight?: number }[] }[] } };
    const weights = Object.fromEntries(
      route.spec.http.at(-1)!.route.map((r) => [r.destination.host, r.weight ?? 100]),
    );
    expect(weights).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
    const target = await ns.kube.apps.readNamespacedDeployment({ name: 'podinfo', namespace: ns.name });
    expect(target.spec?.replicas).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text();
    expect(metrics).toMatch(/sluice_canary_rollbacks_total\{namespace="[^"]+",strategy="canary"\} 1/);
  });
});
