import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import {
  apexSelector,
  APP,
  apply,
  canaryShare,
  demoCanary,
  demoDeployment,
  eventMessages,
  expectInOrder,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  targetReplicas,
  waitForBootstrap,
  waitForOutcome,
  waitForPrimaryVersion,
} from './support.ts';

// Scenario 5: blue/green with plain Kubernetes Services (no mesh). The new revision runs
// beside the old one and is checked twice through the `podinfo-canary` Service (a tester's
// load through its own proxy, as Flagger's load tester would hit it); then the apex
// Service's selector flips to the new pods, and after promotion back to the primary, which
// now runs the new revision. The kubernetes built-in metrics read the demo app's own
// http_request_duration_seconds series from the real Prometheus.

const ns = useNamespace('e2e-bluegreen');
let stack: AppStack;
let users: DemoLoad;
let testers: DemoLoad;
let recorder: Recorder;

beforeAll(async () => {
  stack = await startStack(ns.name, { proxies: [{ service: APP }, { service: `${APP}-canary` }] });
  await apply(ns.kube, demoDeployment(ns.name, '1.0.0'));
  await apply(
    ns.kube,
    demoCanary(ns.name, {
      provider: 'kubernetes',
      analysis: {
        interval: '10s',
        threshold: 2,
        iterations: 2,
        metrics: [
          { name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: '20s', thresholdRange: { max: 500 } },
        ],
      },
    }),
  );
  users = load(stack.runtime.proxies[0]!.url, { rps: 8 });
  testers = load(stack.runtime.proxies[1]!.url, { rps: 8 });
  recorder = new Recorder(ns.kube, ns.name, { users, testers }, () =>
    apexSelector(ns.kube, ns.name).catch(() => 'none'),
  ).start();
});

afterAll(async () => {
  recorder?.stop();
  await users?.stop();
  await testers?.stop();
  await stack?.stop();
});

describe('e2e: Kubernetes blue/green', () => {
  it('checks the new revision beside the old, flips the apex Service to it, and promotes it', async () => {
    const initialized = await waitForBootstrap(stack, users);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    const done = await waitForOutcome(stack, initialized);
    await recorder.catchUp();

    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(recorder.phases(), ['Progressing', 'Succeeded']);
    expect(recorder.phases()).not.toContain('Failed');

    // The apex Service selected the primary, then the new pods, then the primary again.
    expectInOrder(recorder.probes(), [`app=${APP}-primary`, `app=${APP}`, `app=${APP}-primary`]);
    expectInOrder(recorder.weights(), [0, 100, 0]);

    // During the iterations users stayed on the primary while the testers reached the canary.
    const iterating = (s: { phase: string | undefined; canaryWeight: number; probe?: string }) =>
      s.phase === 'Progressing' && s.canaryWeight === 0 && s.probe === `app=${APP}-primary`;
    const usersDuring = recorder.trafficWhile('users', iterating);
    expect(usersDuring[APP] ?? 0, JSON.stringify(usersDuring)).toBe(0);
    expect(usersDuring[`${APP}-primary`] ?? 0).toBeGreaterThan(20);
    const testersDuring = recorder.trafficWhile('testers', iterating);
    expect(canaryShare(testersDuring), JSON.stringify(testersDuring)).toBe(1);
    expect(testersDuring[APP] ?? 0).toBeGreaterThan(20);

    // After the switch, users' requests were answered by the new pods.
    const switched = recorder.trafficWhile('users', (s) => s.probe === `app=${APP}`);
    expect(canaryShare(switched), JSON.stringify(switched)).toBeGreaterThan(0.5);

    const analysis = Object.fromEntries((done.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
    expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });
    expect(analysis['request-duration']?.passed).toBe(true);

    const events = await eventMessages(ns.kube, ns.name);
    expect(events).toEqual(
      expect.arrayContaining([
        'new revision detected, starting canary analysis',
        'advance canary iteration 1/2',
        'advance canary iteration 2/2',
        'routing all traffic to the canary',
        'promotion completed',
      ]),
    );

    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.1.0`);
    expect(await apexSelector(ns.kube, ns.name)).toBe(`app=${APP}-primary`);
    expect(await targetReplicas(ns.kube, ns.name)).toBe(0);
    // Once the primary's pods have rolled, every request is answered by it, as 1.1.0.
    await waitForPrimaryVersion(stack, '1.1.0');
    const before = users.counts();
    await eventually(
      "users' traffic answered by the primary as 1.1.0",
      async () => {
        const now = users.counts();
        const primary = (now.byWorkload[`${APP}-primary`] ?? 0) - (before.byWorkload[`${APP}-primary`] ?? 0);
        const canary = (now.byWorkload[APP] ?? 0) - (before.byWorkload[APP] ?? 0);
        const v110 = (now.byVersion['1.1.0'] ?? 0) - (before.byVersion['1.1.0'] ?? 0);
        return canary === 0 && primary > 10 && v110 === primary;
      },
      { timeoutMs: 30_000 },
    );
    await eventually('Slack told "promotion completed"', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: promotion completed`),
    );
  });
});
