import { describe, expect, it } from 'vitest';
import { builtinQuery } from '../../src/analysis/builtins.ts';
import { createPrometheusProvider } from '../../src/analysis/providers/prometheus.ts';
import { renderTemplate, templateModel } from '../../src/analysis/template.ts';
import { startDemoLoad } from '../../src/dev/loadgen.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { appRequests, expectCanaryShare, scrapedUpTo, tally, split, usePodinfoPair } from './fixtures.ts';

// The shape Sluice's Gateway API router gives a Canary `podinfo` with gatewayRefs and
// hosts: an HTTPRoute attached to a Gateway for podinfo.test, weighted backendRefs.
const ns = useNamespace('devgw');

function httpRoute(rules: object[], parentRefs: object[] = [{ name: 'public', namespace: 'gateways' }]) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'podinfo', namespace: ns.name },
    spec: { parentRefs, hostnames: ['podinfo.test'], rules },
  };
}
const primary = { name: 'podinfo-primary', port: 80 };
const canary = { name: 'podinfo-canary', port: 80 };
/** A rule sending `canaryWeight` percent to the canary, the rest to the primary. */
const weighted = (canaryWeight: number) => ({ backendRefs: split(primary, canary, canaryWeight) });

const pair = usePodinfoPair(ns, {
  primaryReplicas: 1,
  canaryEnv: [{ name: 'ERROR_RATE', value: '0.5' }],
});

const route = pair.route;

describe('the traffic layer with a Gateway API HTTPRoute', () => {
  it('splits traffic by backendRef weights (90/10)', async () => {
    await route(httpRoute([weighted(10)]), { version: '2.0.0' });
    // 10 % ± 6 points is more than 4 standard deviations for 500 requests.
    await expectCanaryShare(pair.proxy.url, 500, [0.04, 0.16]);
  });

  it('routes A/B by header and query matches, the more specific match first', async () => {
    // The default rule comes first on purpose: Gateway API ranks matches, not rule order.
    await route(
      httpRoute([
        { backendRefs: [primary] },
        {
          matches: [
            { headers: [{ name: 'x-canary', value: 'insider' }] },
            { queryParams: [{ type: 'RegularExpression', name: 'beta', value: 'on|yes' }] },
          ],
          backendRefs: [canary],
        },
      ]),
      { headers: { 'x-canary': 'insider' }, version: '2.0.0' },
    );
    expect((await tally(pair.proxy.url, 30, { headers: { 'X-Canary': 'insider' } })).byVersion).toEqual({
      '2.0.0': 30,
    });
    expect((await tally(`${pair.proxy.url}/?beta=yes`, 30)).byVersion).toEqual({ '2.0.0': 30 });
    expect((await tally(`${pair.proxy.url}/?beta=maybe`, 30)).byVersion).toEqual({ '1.0.0': 30 });
  });

  it('mirrors requests with a RequestMirror filter', async () => {
    await route(
      httpRoute([
        {
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: canary } }],
          ...weighted(0),
        },
      ]),
      { version: '1.0.0' },
    );
    const canaryUrls = pair.runtime.registry.readyOf(ns.name, 'podinfo').map((p) => p.url);
    const before = await appRequests(canaryUrls, '/gw-mirrored');
    const t = await tally(`${pair.proxy.url}/gw-mirrored`, 40);
    expect(t.byVersion).toEqual({ '1.0.0': 40 });
    await eventually(
      '40 mirrored copies at the canary',
      async () => (await appRequests(canaryUrls, '/gw-mirrored')) === before + 40,
    );
  });

  it('follows a GAMMA route attached to the Service itself', async () => {
    await route(
      httpRoute([{ backendRefs: [canary] }], [{ group: '', kind: 'Service', name: 'podinfo', port: 80 }]),
      {
        version: '2.0.0',
      },
    );
    expect((await tally(pair.proxy.url, 20)).byVersion).toEqual({ '2.0.0': 20 });
  });

  it("the apps' own metrics give Sluice's built-in Gateway API queries the right success rate", async () => {
    await route(httpRoute([weighted(50)]), { version: '2.0.0' });
    const counts = await startDemoLoad({ url: pair.proxy.url, rps: 60, durationMs: 5000 }).done;
    expect(counts.total).toBeGreaterThan(250);
    await scrapedUpTo(
      pair.runtime.registry.readyOf(ns.name, 'podinfo').map((p) => `${p.url}/metrics`),
      'http_request_duration_seconds_count',
      `{namespace="${ns.name}", pod=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}`,
    );
    const prometheus = createPrometheusProvider({ address: testEnv().prometheusUrl });
    const model = templateModel({ name: 'podinfo', namespace: ns.name, target: 'podinfo' }, '30s', {});
    const canaryRate = await prometheus.runQuery(
      renderTemplate(
        builtinQuery('gatewayapi', 'request-success-rate'),
        model,
        'builtin request-success-rate',
      ),
    );
    // ERROR_RATE=0.5 on the canary; the query's pod pattern leaves podinfo-primary-* out.
    // About 150 canary requests, each failing with p = 0.5: σ ≈ 4 points; the bounds are ±6σ
    // (still far from the primary's 100 % and from no success at all).
    expect(canaryRate).toBeGreaterThan(25);
    expect(canaryRate).toBeLessThan(75);
  });
});
