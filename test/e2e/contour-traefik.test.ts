import { afterEach, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { routerFor } from '../../src/routers/factory.ts';
import { PRIMARY_ONLY } from '../../src/routers/router.ts';
import { parseCanary } from '../../src/api/validate.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  APP,
  apply,
  canaryShare,
  demoCanary,
  demoDeployment,
  DURATION,
  expectInOrder,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  startStack,
  SUCCESS_RATE,
  waitForBootstrap,
  waitForOutcome,
} from './support.ts';

// Contour and Traefik end to end: real requests go through the traffic layer's stand-in for
// Contour's Envoy (routing by the HTTPProxy Sluice writes) and for Traefik (routing by the
// TraefikService), which export envoy_cluster_upstream_rq / traefik_service_requests_total
// to the real Prometheus; the providers' own built-in metrics read them at every step. For
// each provider: a healthy release is promoted, a release with 30% errors rolled back.
// (When the shared promote/rollback helper of test/e2e lands, these scenarios move onto it.)

const SCENARIOS = [
  ['contour', 'promotes a healthy release', {}, 'Succeeded'],
  ['contour', 'rolls back a release with 30% errors', { ERROR_RATE: '0.3' }, 'Failed'],
  ['traefik', 'promotes a healthy release', {}, 'Succeeded'],
  ['traefik', 'rolls back a release with 30% errors', { ERROR_RATE: '0.3' }, 'Failed'],
] as const;

let stack: AppStack | undefined;
let traffic: DemoLoad | undefined;
let recorder: Recorder | undefined;

afterEach(async () => {
  recorder?.stop();
  await traffic?.stop();
  await stack?.stop();
  stack = traffic = recorder = undefined;
});

// One namespace per scenario.
const namespaces = SCENARIOS.map(([provider, , , outcome]) =>
  useNamespace(`e2e-${provider}-${outcome === 'Succeeded' ? 'ok' : 'bad'}`),
);

describe.each(SCENARIOS.map((scenario, i) => [...scenario, i] as const))(
  'e2e: %s canary',
  (provider, title, env, outcome, index) => {
    it(`${title}, with live traffic through the provider's routing object`, async () => {
      const ns = namespaces[index]!;
      const namespace = ns.name;
      stack = await startStack(namespace, { proxies: [{ service: APP }] });
      const canaryObject = demoCanary(namespace, {
        provider,
        analysis: {
          interval: '10s',
          threshold: 2,
          stepWeight: 50,
          maxWeight: 50,
          metrics: [SUCCESS_RATE, DURATION],
        },
      });
      await apply(ns.kube, demoDeployment(namespace, '1.0.0'));
      await apply(ns.kube, canaryObject);
      traffic = load(stack.runtime.proxies[0]!.url);
      recorder = new Recorder(ns.kube, namespace, { main: traffic }).start();

      const initialized = await waitForBootstrap(stack, traffic);
      recorder.reset();
      await apply(ns.kube, demoDeployment(namespace, '1.1.0', { env: { ...env } }));
      const done = await waitForOutcome(stack, initialized);
      await recorder.catchUp();

      expect(done.status?.phase, done.status?.message).toBe(outcome);
      expectInOrder(recorder.phases(), ['Progressing', outcome]);
      expectInOrder(recorder.weights(), [50, 0]);
      // At weight 50, about half of the real requests reached the canary through the provider's object.
      const during = recorder.trafficWhile('main', (s) => s.phase === 'Progressing' && s.canaryWeight === 50);
      expect(canaryShare(during), JSON.stringify(during)).toBeGreaterThan(0.25);
      expect(canaryShare(during), JSON.stringify(during)).toBeLessThan(0.75);

      // The provider's own series were read: a real success rate, a real p99.
      const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
      if (outcome === 'Succeeded') {
        expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });
        expect(analysis['request-duration']?.passed).toBe(true);
      } else {
        expect(analysis['request-success-rate']?.passed).toBe(false);
        expect(analysis['request-success-rate']?.value).toBeGreaterThan(50);
        expect(analysis['request-success-rate']?.value).toBeLessThan(90);
      }
      expect((await primaryContainer(ns.kube, namespace)).image).toBe(
        `${IMAGE}:${outcome === 'Succeeded' ? '1.1.0' : '1.0.0'}`,
      );

      // All traffic is back on the primary, in the object and in what the requests met.
      const parsed = parseCanary(canaryObject);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      const router = routerFor(parsed.canary, {
        kube: ns.kube,
        targetPods: () => Promise.reject(new Error('unused')),
      });
      expect(await router.getRoutes(parsed.canary)).toEqual(PRIMARY_ONLY);
      const before = traffic.counts();
      await eventually(
        'real traffic answered by the primary only',
        async () => {
          const now = traffic!.counts();
          const primary =
            (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
          const canary = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
          return primary > 20 && canary === 0;
        },
        { timeoutMs: 20_000 },
      );
    });
  },
);
