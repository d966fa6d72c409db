import { describe, expect, it } from 'vitest';
import {
  apexSelector,
  APP,
  canaryShare,
  DURATION,
  expectInOrder,
  SUCCESS_RATE,
  useScenario,
  expectHealthyAnalysis,
} from './support.ts';

// Scenario 5: blue/green with plain Kubernetes Services (no mesh). The new revision runs
// beside the old one and is checked twice through the `podinfo-canary` Service (a tester's
// load through its own proxy, as Flagger's load tester would hit it); then the apex
// Service's selector flips to the new pods, and after promotion back to the primary, which
// now runs the new revision. The kubernetes built-in metrics read the demo app's own
// http_request_duration_seconds series from the real Prometheus.

const s = useScenario('e2e-bluegreen', {
  proxies: () => [{ service: APP }, { service: `${APP}-canary` }],
  canary: () => ({
    provider: 'kubernetes',
    analysis: { interval: '10s', threshold: 2, iterations: 2, metrics: [SUCCESS_RATE, DURATION] },
  }),
  loads: { users: { rps: 8 }, testers: { proxy: 1, rps: 8 } },
  probe: (ns) => apexSelector(ns.kube, ns.name).catch(() => 'none'),
});
const { ns } = s;

describe('e2e: Kubernetes blue/green', () => {
  it('checks the new revision beside the old, flips the apex Service to it, and promotes it', async () => {
    const initialized = await s.bootstrapped();
    await s.deploy('1.1.0');
    const done = await s.outcome(initialized);

    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(s.recorder.phases(), ['Progressing', 'Succeeded']);
    expect(s.recorder.phases()).not.toContain('Failed');

    // The apex Service selected the primary, then the new pods, then the primary again.
    expectInOrder(s.recorder.probes(), [`app=${APP}-primary`, `app=${APP}`, `app=${APP}-primary`]);
    expectInOrder(s.recorder.weights(), [0, 100, 0]);

    // During the iterations users stayed on the primary while the testers reached the canary.
    const iterating = (x: { phase: string | undefined; canaryWeight: number; probe?: string }) =>
      x.phase === 'Progressing' && x.canaryWeight === 0 && x.probe === `app=${APP}-primary`;
    const usersDuring = s.recorder.trafficWhile('users', iterating);
    expect(usersDuring[APP] ?? 0, JSON.stringify(usersDuring)).toBe(0);
    expect(usersDuring[`${APP}-primary`] ?? 0).toBeGreaterThan(20);
    const testersDuring = s.recorder.trafficWhile('testers', iterating);
    expect(canaryShare(testersDuring), JSON.stringify(testersDuring)).toBe(1);
    expect(testersDuring[APP] ?? 0).toBeGreaterThan(20);

    // After the switch, users' requests were answered by the new pods.
    const switched = s.recorder.trafficWhile('users', (x) => x.probe === `app=${APP}`);
    expect(canaryShare(switched), JSON.stringify(switched)).toBeGreaterThan(0.5);

    expectHealthyAnalysis(done);

    const events = await s.events();
    expect(events).toEqual(
      expect.arrayContaining([
        'new revision detected, starting canary analysis',
        'advance canary iteration 1/2',
        'advance canary iteration 2/2',
        'routing all traffic to the canary',
        'promotion completed',
      ]),
    );

    expect(await apexSelector(ns.kube, ns.name)).toBe(`app=${APP}-primary`);
    await s.expectPromoted('1.1.0', 'users');
  });
});
