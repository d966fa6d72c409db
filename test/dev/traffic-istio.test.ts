import { beforeAll, describe, expect, it } from 'vitest';
import { builtinQuery } from '../../src/analysis/builtins.ts';
import { createPrometheusProvider } from '../../src/analysis/providers/prometheus.ts';
import { renderTemplate, templateModel } from '../../src/analysis/template.ts';
import { startDemoLoad } from '../../src/dev/loadgen.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { query } from '../support/prometheus.ts';
import {
  appRequests,
  expectCanaryShare,
  exported,
  routable,
  scrapedUpTo,
  tally,
  split,
  usePodinfoPair,
} from './fixtures.ts';

// The shape Sluice's Istio router gives a Canary `podinfo`: Deployments podinfo-primary and
// podinfo (the canary), Services podinfo / podinfo-primary / podinfo-canary, and a
// VirtualService for host podinfo whose weights it moves.
const ns = useNamespace('devistio');

function virtualService(http: object[]) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'podinfo', namespace: ns.name },
    spec: { hosts: ['podinfo', 'podinfo.test'], gateways: ['mesh'], http },
  };
}
const primary = { destination: { host: 'podinfo-primary' } };
const canary = { destination: { host: 'podinfo-canary' } };
/** An HTTP route sending `canaryWeight` percent to the canary, the rest to the primary. */
const weighted = (canaryWeight: number) => ({ route: split(primary, canary, canaryWeight) });

const pair = usePodinfoPair(ns, {
  primaryReplicas: 2,
  canaryEnv: [
    { name: 'ERROR_RATE', value: '0.5' },
    { name: 'LATENCY_MS', value: '30' },
  ],
});

beforeAll(async () => {
  await routable(pair.proxy.url, '1.0.0');
});

/** Applies a VirtualService and waits until the proxy routes by it (a probe request says so). */
const route = (http: object[], probe: { headers?: Record<string, string>; version: string }) =>
  pair.route(virtualService(http), probe);

describe('the traffic layer with an Istio VirtualService', () => {
  it('sends everything to the apex Service (the primary) while there is no VirtualService', async () => {
    const t = await tally(pair.proxy.url, 60);
    expect(t.byVersion).toEqual({ '1.0.0': 60 });
  });

  it('splits traffic by the route weights (80/20)', async () => {
    await route([weighted(20)], { version: '2.0.0' });
    // 20 % ± 8 points is more than 4 standard deviations for 500 requests.
    const t = await expectCanaryShare(pair.proxy.url, 500, [0.12, 0.28]);
    expect(t.total).toBe(500);
  });

  it('routes A/B by header match, first matching rule wins', async () => {
    await route(
      [
        {
          match: [
            { headers: { 'x-canary': { exact: 'insider' } } },
            { headers: { cookie: { regex: '.*canary=always.*' } } },
          ],
          route: [canary],
        },
        { route: [primary] },
      ],
      { headers: { 'x-canary': 'insider' }, version: '2.0.0' },
    );
    expect((await tally(pair.proxy.url, 30, { headers: { 'x-canary': 'insider' } })).byVersion).toEqual({
      '2.0.0': 30,
    });
    expect(
      (await tally(pair.proxy.url, 30, { headers: { cookie: 'a=b; canary=always' } })).byVersion,
    ).toEqual({
      '2.0.0': 30,
    });
    expect((await tally(pair.proxy.url, 30, { headers: { 'x-canary': 'outsider' } })).byVersion).toEqual({
      '1.0.0': 30,
    });
  });

  it('mirrors requests to the canary and ignores its answers', async () => {
    await route(
      [
        {
          ...weighted(0),
          mirror: { host: 'podinfo-canary' },
          mirrorPercentage: { value: 100 },
        },
      ],
      {
        version: '1.0.0',
      },
    );
    const t = await tally(`${pair.proxy.url}/mirrored`, 40);
    expect(t.byVersion).toEqual({ '1.0.0': 40 });
    expect(t.byStatus).toEqual({ '200': 40 });
    const canaryUrls = pair.runtime.registry.readyOf(ns.name, 'podinfo').map((p) => p.url);
    await eventually(
      '40 mirrored copies at the canary',
      async () => (await appRequests(canaryUrls, '/mirrored')) === 40,
    );
  });

  it("exports istio_* series that Sluice's built-in Istio queries read correctly", async () => {
    await route([weighted(50)], { version: '2.0.0' });
    // The tests before this one sent the canary traffic too, so its series already exist. Let
    // Prometheus scrape them at rest, then measure only this test's load: the query's window
    // (below) starts after that rest point and before the load, so rate() counts exactly the
    // load's requests, every series from the same scrapes. (A fixed 30 s window took in some of
    // the earlier tests' traffic whenever the file ran slowly, 5 points off once in CI.)
    const canaryAnswers = (...labels: string[]) =>
      exported([pair.runtime.metricsUrl], 'istio_requests_total', [
        'reporter="destination"',
        'destination_workload="podinfo"',
        ...labels,
      ]);
    const selector = `{destination_workload_namespace="${ns.name}"}`;
    await scrapedUpTo([pair.runtime.metricsUrl], 'istio_requests_total', selector);
    const rest = Date.now();
    const [answeredBefore, failedBefore] = [await canaryAnswers(), await canaryAnswers('response_code="500"')];
    // At 1 s scrapes, 2.5 s of rest holds a scrape after the window's start (within 1 s of `rest`).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Steady traffic for a few seconds, so every series has several scrapes.
    const load = startDemoLoad({ url: pair.proxy.url, rps: 60, durationMs: 5000 });
    const counts = await load.done;
    expect(counts.total).toBeGreaterThan(250);
    expect(Object.keys(counts.byWorkload).sort()).toEqual(['podinfo', 'podinfo-primary']);
    await scrapedUpTo([pair.runtime.metricsUrl], 'istio_requests_total', selector);

    const prometheus = createPrometheusProvider({ address: testEnv().prometheusUrl });
    const window = `${Math.floor((Date.now() - rest) / 1000)}s`;
    const run = (metric: 'request-success-rate' | 'request-duration', target: string) => {
      const model = templateModel({ name: 'podinfo', namespace: ns.name, target }, window, {});
      return prometheus.runQuery(renderTemplate(builtinQuery('istio', metric), model, `builtin ${metric}`));
    };
    const canaryRate = await run('request-success-rate', 'podinfo');
    const primaryRate = await run('request-success-rate', 'podinfo-primary');
    expect(primaryRate).toBe(100);
    // ERROR_RATE=0.5 on the canary: about half its answers are 500s, at random. The query must
    // agree with the canary's own counters over the load: equal to 1e-14 in the runs measured, two
    // busy cores included.
    const answered = (await canaryAnswers()) - answeredBefore;
    const failed = (await canaryAnswers('response_code="500"')) - failedBefore;
    expect(failed / answered).toBeGreaterThan(0.3);
    expect(typeof canaryRate).toBe('number');
    expect(Math.abs(Number(canaryRate) - (100 * (answered - failed)) / answered)).toBeLessThan(0.5);
    // LATENCY_MS=30: every canary answer took over 30 ms, so its p99 lies above Istio's 25 ms
    // bucket; the upper bound is loose because the machine is shared with other tests.
    const canaryP99 = await run('request-duration', 'podinfo');
    expect(canaryP99).toBeGreaterThan(25);
    expect(canaryP99).toBeLessThan(250);
    const primaryP99 = await run('request-duration', 'podinfo-primary');
    expect(primaryP99).toBeGreaterThan(0);
    expect(primaryP99).toBeLessThan(250);

    const [series] = await query(
      `istio_requests_total{destination_workload_namespace="${ns.name}", destination_workload="podinfo", response_code="500"}`,
    );
    expect(series?.metric).toMatchObject({
      reporter: 'destination',
      destination_workload: 'podinfo',
      destination_app: 'podinfo',
      destination_service: `podinfo-canary.${ns.name}.svc.cluster.local`,
      destination_service_name: 'podinfo-canary',
      destination_service_namespace: ns.name,
      destination_principal: `spiffe://cluster.local/ns/${ns.name}/sa/default`,
      source_workload: 'unknown',
      request_protocol: 'http',
      response_flags: '-',
    });
  });
});
