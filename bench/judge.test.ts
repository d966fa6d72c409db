import { describe, expect, it } from 'vitest';
import { caseFigures, keyFigures, runTrial, trialParams, type CaseName, type Method } from './judge.ts';
import {
  BUCKETS_MS,
  bucketProbabilities,
  generateTraffic,
  seededRandom,
  trafficProvider,
} from './traffic.ts';

// The judge benchmark's pieces, small: the traffic model, the provider over it, one trial.

describe('generated traffic', () => {
  const params = { rate: 100, share: 0.1, errorRate: 0.005, canaryStartS: 60, durationS: 300 };

  it('splits requests by the share from the canary start on, and is the same for the same seed', () => {
    const latency = { bodyMedianMs: 40, bodySigma: 0.5, tailShare: 0.02, tailMedianMs: 200, tailSigma: 0.5 };
    const a = generateTraffic(seededRandom(7), params, latency, {});
    const b = generateTraffic(seededRandom(7), params, latency, {});
    expect(Array.from(a.canary.requests)).toEqual(Array.from(b.canary.requests));
    expect(a.canary.requests[60]).toBe(0);
    const canary = a.canary.requests[300]! - a.canary.requests[60]!;
    const primary = a.primary.requests[300]! - a.primary.requests[60]!;
    expect(canary / (canary + primary)).toBeGreaterThan(0.08);
    expect(canary / (canary + primary)).toBeLessThan(0.12);
    // Buckets are cumulative over bounds and never above the requests.
    const last = a.primary.buckets.map((series) => series[300]!);
    expect(last).toEqual([...last].sort((x, y) => x - y));
    expect(last.at(-1)).toBeLessThanOrEqual(a.primary.requests[300]!);
  });

  it('puts a slowdown into every quantile', () => {
    const latency = { bodyMedianMs: 40, bodySigma: 0.5, tailShare: 0.02, tailMedianMs: 200, tailSigma: 0.5 };
    const normal = bucketProbabilities(latency, 1);
    const slower = bucketProbabilities(latency, 1.5);
    expect(slower.every((p, i) => p <= normal[i]!)).toBe(true);
    expect(normal).toHaveLength(BUCKETS_MS.length);
  });

  it('answers the built-in queries over a window at the instant asked', async () => {
    const latency = { bodyMedianMs: 40, bodySigma: 0.5, tailShare: 0.02, tailMedianMs: 200, tailSigma: 0.5 };
    const traffic = generateTraffic(seededRandom(3), params, latency, { addErrors: 0.5 });
    const provider = trafficProvider(traffic, 0, 'podinfo');
    const at = 200_000;
    const rate = await provider.runQuery(
      '(sum(rate(istio_requests_total{destination_workload=~"podinfo", response_code!~"5.*"}[1m])) or vector(0)) / sum(rate(istio_requests_total{destination_workload=~"podinfo"}[1m])) * 100',
      { at },
    );
    expect(rate).toBeGreaterThan(40);
    expect(rate).toBeLessThan(60);
    const requests = await provider.runQuery(
      'sum(increase(istio_requests_total{destination_workload=~"podinfo-primary"}[200s]))',
      { at },
    );
    expect(requests).toBe(traffic.primary.requests[200]);
  });
});

describe('a trial and its figures', () => {
  it('replays one trial to every method and reads the figures', async () => {
    const results = await runTrial('target', 'err1pp', 1, ['judge', 'fixed1']);
    expect(results.judge.rolledBack).toBe(true);
    expect(results.judge.detectS).toBeGreaterThan(0);
    expect(results.fixed1).toMatchObject({ rolledBack: true, detectS: 60 });
    expect(trialParams('target', 1).params).toMatchObject({ rate: 100, share: 0.1, errorRate: 0.005 });
    const figures = caseFigures([
      { rolledBack: true, detectS: 60 },
      { rolledBack: true, detectS: 400 },
      { rolledBack: false, detectS: undefined },
    ]);
    expect(figures).toMatchObject({ trials: 3, caughtWithin5mPct: 100 / 3, detectMedianS: 230 });
    const byCase = Object.fromEntries(
      ['none', 'err05pp', 'err1pp', 'err2x', 'lat10', 'lat20', 'lat50'].map((c) => [c, figures]),
    ) as Record<CaseName, typeof figures>;
    const keys = keyFigures({ judge: byCase } as Record<Method, Record<CaseName, typeof figures>>, ['judge']);
    expect(keys).toMatchObject({ false_rollback_pct: figures.rollbackPct, detect_median_s_err1pp: 230 });
  });
});
