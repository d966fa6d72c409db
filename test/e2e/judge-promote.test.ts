import { describe, expect, it } from 'vitest';
import { expectInOrder, useScenario } from './support.ts';

// The statistical judge through the controller, the real Prometheus and the traffic layer:
// a healthy release under noisy traffic. Both versions fail 3 % of their requests (a fixed
// `min 99` check would fail this release at every interval); the judge, comparing the
// canary with the primary on errors and latency, finds no regression and the release is
// promoted. The Canary has no metric checks: the judge alone is its analysis.

const NOISY = { ERROR_RATE: '0.03' };

const s = useScenario('e2e-judge-good', {
  canary: () => ({
    provider: 'istio',
    analysis: { interval: '10s', threshold: 2, stepWeights: [20, 50], judge: {}, checkEvery: '2s' },
  }),
  deployment: { env: NOISY },
  loads: { main: { rps: 30 } },
});

describe('e2e: the judge promotes a healthy release under noisy traffic', () => {
  it('promotes, with the verdicts in status showing no regression', async () => {
    const initialized = await s.bootstrapped();
    await s.deploy('1.1.0', { env: NOISY });
    const done = await s.outcome(initialized, 240_000);

    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expectInOrder(s.recorder.weights(), [20, 50, 0]);
    expect(done.status?.failedChecks).toBe(0);
    // The last round's verdicts: both metrics judged, neither a regression.
    const verdicts = done.status?.judge?.verdicts ?? [];
    expect(verdicts.map((v) => v.name)).toEqual(['errors', 'latency']);
    for (const verdict of verdicts) expect(['pass', 'undecided'], verdict.reason).toContain(verdict.outcome);
    await s.expectPromoted('1.1.0', 'main');
  });
});
