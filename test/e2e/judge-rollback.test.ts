import { describe, expect, it } from 'vitest';
import { controllerMetric, expectInOrder, SUCCESS_RATE, useScenario } from './support.ts';

// The statistical judge through the controller, the real Prometheus and the traffic layer:
// a subtle bad release (2 % of its requests fail, the primary's none) that the fixed
// `min 99` check, counted against a tolerant threshold of 10, would need ten failing
// intervals for (and at 40 req/s some of its intervals pass). The judge compares the canary
// with the primary at every look (checkEvery 2s) and rolls it back as soon as it is sure.

const s = useScenario('e2e-judge-bad', {
  canary: () => ({
    provider: 'istio',
    analysis: {
      interval: '10s',
      threshold: 10,
      // 50 %, then twelve rounds there: two minutes before the analysis could promote.
      steps: [{ setWeight: 50 }, ...Array.from({ length: 12 }, () => ({ analysis: {} }))],
      metrics: [SUCCESS_RATE],
      judge: { builtins: ['errors'] },
      checkEvery: '2s',
    },
  }),
  loads: { main: { rps: 40 } },
});

describe('e2e: the judge rolls back a subtle regression', () => {
  it('rolls back a release with +2 % errors before the threshold, saying what it compared', async () => {
    const initialized = await s.bootstrapped();
    await s.deploy('1.1.0', { env: { ERROR_RATE: '0.02' } });
    const done = await s.outcome(initialized, 240_000);

    const judged =
      /judge: errors: canary [\d.]+ % \(\d+\/\d+\) vs primary 0 % \(0\/\d+\); .*Bayes factor [\d.]+ \(needs 100\).*: regression \(increase\)/;
    expect(done.status?.phase, done.status?.message).toBe('Failed');
    expect(done.status?.message).toMatch(new RegExp(`^rolling back: .*${judged.source}`));
    expectInOrder(s.recorder.phases(), ['Progressing', 'Failed']);
    // The fixed check did not get there: fewer failed checks than the threshold.
    expect(done.status?.failedChecks ?? 0).toBeLessThan(10);
    // status.judge holds the verdict with both arms, the effect and its interval.
    const verdict = done.status?.judge?.verdicts.find((v) => v.name === 'errors');
    expect(verdict).toMatchObject({ outcome: 'fail', primary: '0' });
    expect(Number(verdict?.canary)).toBeGreaterThan(0.5);
    expect(verdict?.effect).toMatch(/^([\d.]+|\+Inf) \[[\d.]+, ([\d.]+|\+Inf)\]$/);
    expect(Number(verdict?.bayesFactor)).toBeGreaterThanOrEqual(100);

    expect(await s.events()).toContainEqual(expect.stringMatching(judged));
    await s.waitForSlack('Slack told why', new RegExp(`^rolling back: .*${judged.source}`));
    const labels = { namespace: s.ns.name, metric: 'errors' };
    expect(
      await controllerMetric(s.stack, 'sluice_canary_judge_bayes_factor', labels),
    ).toBeGreaterThanOrEqual(100);
    expect(await controllerMetric(s.stack, 'sluice_canary_judge_outcome', labels)).toBe(2);

    expect((await s.primary()).env).not.toHaveProperty('ERROR_RATE');
    await s.expectIstioOnPrimary();
    expect(await s.targetReplicas()).toBe(0);
    await s.expectDeliveryMetrics('canary', { started: 1, promotions: 0, rollbacks: 1 });
  });
});
