import { describe, expect, it } from 'vitest';
import type { LoadCounts } from '../../src/dev/loadgen.ts';
import type { AnalysisResult } from '../../src/api/status.ts';
import {
  analysisOf,
  canaryShare,
  DURATION,
  expectInOrder,
  IMAGE,
  SUCCESS_RATE,
  useScenario,
  istioAt50,
  expectHealthyAnalysis,
} from './support.ts';

// The Istio release scenario, promoted or rolled back: the demo app at 1.0.0 behind the
// traffic layer's stand-in for the Istio sidecars (it routes by the VirtualService Sluice
// writes and exports istio_requests_total / istio_request_duration_milliseconds to the real
// Prometheus), a Canary at 50 % with the built-in success rate and p99, then 1.1.0 —
// healthy, or with a fault in the demo app that one of the checks must catch.

/** What is wrong with a release, and what the analysis must make of it. */
export interface Fault {
  /** The demo app's environment that causes it (ERROR_RATE, LATENCY_MS). */
  env: Record<string, string>;
  /** How the failing check reads in the Events, the status and Slack, e.g. `request-duration: [\d.]+ > max 500`. */
  failure: string;
  /** What the real traffic saw during the release. */
  traffic(counts: LoadCounts): void;
  /** What the last analysis read from Prometheus. */
  analysis(checks: Record<string, AnalysisResult | undefined>): void;
}

export interface IstioRelease {
  /** The file's namespace prefix. */
  prefix: string;
  describe: string;
  it: string;
  /** Absent: a healthy release, promoted. */
  fault?: Fault;
}

export function istioRelease(release: IstioRelease): void {
  const s = useScenario(release.prefix, {
    canary: () => istioAt50({ metrics: [SUCCESS_RATE, DURATION] }),
  });
  const { fault } = release;

  describe(release.describe, () => {
    it(release.it, async () => {
      const initialized = await s.bootstrapped();
      await s.deploy('1.1.0', fault ? { env: fault.env } : {});
      const done = await s.outcome(initialized);

      expect(done.status?.phase, done.status?.message).toBe(fault ? 'Failed' : 'Succeeded');
      expectInOrder(s.recorder.phases(), ['Progressing', fault ? 'Failed' : 'Succeeded']);
      expect(s.recorder.phases()).not.toContain(fault ? 'Promoting' : 'Failed');
      expectInOrder(s.recorder.weights(), [50, 0]);

      // At weight 50, about half of the real requests reached the canary.
      const during = s.recorder.trafficWhile(
        'main',
        (x) => x.phase === 'Progressing' && x.canaryWeight === 50,
      );
      expect(canaryShare(during), JSON.stringify(during)).toBeGreaterThan(0.25);
      expect(canaryShare(during), JSON.stringify(during)).toBeLessThan(0.75);
      const analysis = analysisOf(done);
      if (fault) {
        expect(done.status?.canaryWeight).toBe(0);
        expect(done.status?.failedChecks).toBe(2);
        fault.traffic(s.main.counts());
        fault.analysis(analysis);
      } else {
        // The analysis read real values: every request succeeded, quickly.
        expect(expectHealthyAnalysis(done)['request-duration']?.value).toBeLessThan(500);
      }

      // All traffic on the primary, which runs the new revision when promoted and is
      // untouched otherwise; the canary is scaled to zero.
      const primary = await s.primary();
      expect(primary.image).toBe(`${IMAGE}:${fault ? '1.0.0' : '1.1.0'}`);
      for (const name of Object.keys(fault?.env ?? {})) expect(primary.env).not.toHaveProperty(name);
      await s.expectIstioOnPrimary();
      expect(await s.targetReplicas()).toBe(0);
      if (fault) {
        const versions = await s.primaryVersions();
        expect(versions).toEqual(versions.map(() => '1.0.0'));
      }
      await s.expectAnsweredByPrimary('real traffic answered by the primary only, without errors', {
        atLeast: 20,
        noErrors: true,
        ...(fault ? {} : { version: '1.1.0' }),
      });

      const events = await s.events();
      expect(events).toEqual(
        expect.arrayContaining([
          'new revision detected, starting canary analysis',
          'advance canary weight 50',
        ]),
      );
      if (fault) {
        // The rollback says which check failed, in the Event, the status and its Stalled condition.
        const rollback = new RegExp(`^rolling back: failed checks threshold reached 2: ${fault.failure}$`);
        expect(events).toContainEqual(expect.stringMatching(rollback));
        expect(done.status?.message).toMatch(rollback);
        expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
          status: 'True',
          message: done.status?.message,
        });
        expect(events).toContainEqual(
          expect.stringMatching(new RegExp(`^halt advancement: failed checks 1/2: ${fault.failure}`)),
        );
        expect(events).not.toContain('promotion completed');
      } else {
        expect(events).toContain('promotion completed');
      }
      // The controller's delivery metrics count one rollout (the bootstrap is none) and its end.
      await s.expectDeliveryMetrics('canary', {
        started: 1,
        promotions: fault ? 0 : 1,
        rollbacks: fault ? 1 : 0,
      });
      if (fault) {
        const check = fault.failure.slice(0, fault.failure.indexOf(':'));
        await s.waitForSlack(
          'Slack told the halt and the rollback',
          new RegExp(`^halt advancement: failed checks 1/2: ${check}`),
          new RegExp(`^rolling back: failed checks threshold reached 2: ${check}`),
        );
      } else {
        await s.waitForSlack('Slack told "promotion completed"', 'promotion completed');
      }
    });
  });
}
