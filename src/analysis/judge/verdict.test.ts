import { describe, expect, it } from 'vitest';
import { judgeConfig, metricKey, parseTolerance, type JudgedMetricConfig } from './config.ts';
import { MAX_SEGMENTS, emptyStream, observe, tidy, type StreamSettings } from './stream.ts';
import { MetricState, distributionDefinitions, judgeMetric, type MetricObservation } from './verdict.ts';

const config = judgeConfig({ judge: {} })!;
const errors = config.metrics.find((m) => m.name === 'errors')!;
const latency = config.metrics.find((m) => m.name === 'latency')!;
const options = (metric: JudgedMetricConfig) => ({
  alpha: 0.01,
  key: metricKey(metric, 0.01),
  explain: true,
});

/** Feeds cumulative rate counts look by look; returns the last state and verdict. */
function rateLooks(metric: JudgedMetricConfig, looks: [number, number, number, number][]) {
  let state: MetricState | undefined;
  let verdict;
  for (const [ce, ct, pe, pt] of looks) {
    const observation: MetricObservation = {
      canary: { events: ce, total: ct },
      primary: { events: pe, total: pt },
    };
    ({ state, verdict } = judgeMetric(metric, state, observation, options(metric)));
  }
  return { state: state!, verdict: verdict! };
}

describe('judge configuration', () => {
  it('runs both built-ins by default with no tolerance, critical, at 99 % every 5s', () => {
    expect(config.alpha).toBeCloseTo(0.01, 12);
    // The confidence holds for the rollout: each of the two metrics gets half of 1 %.
    expect(config.metricAlpha).toBeCloseTo(0.005, 12);
    expect(config.checkEveryMs).toBe(5000);
    expect(config.metrics.map((m) => [m.name, m.kind, m.unit, m.critical, m.direction])).toEqual([
      ['errors', 'rate', '%', true, 'increase'],
      ['latency', 'distribution', 'ms', true, 'increase'],
    ]);
    expect(errors.tolerance).toEqual({ relative: 0 });
  });

  it('applies per-metric settings and adds custom metrics after the built-ins', () => {
    const custom = judgeConfig({
      checkEvery: '2s',
      judge: {
        confidence: 0.95,
        builtins: ['errors'],
        metrics: [
          { name: 'errors', maxIncrease: '0.5', critical: false },
          { name: 'render', distribution: { templateRef: { name: 'render-buckets' } }, direction: 'either' },
        ],
      },
    })!;
    expect(custom.checkEveryMs).toBe(2000);
    expect(custom.metrics).toMatchObject([
      { name: 'errors', tolerance: { absolute: 0.5 }, critical: false },
      { name: 'render', kind: 'distribution', unit: '', direction: 'either' },
    ]);
  });

  it('parses tolerances and names the field of a bad one', () => {
    expect(parseTolerance('10%', 'f')).toEqual({ relative: 0.1 });
    expect(parseTolerance('20', 'f')).toEqual({ absolute: 20 });
    expect(() => parseTolerance('ten', 'spec.analysis.judge.metrics[0].maxIncrease')).toThrow(
      /spec\.analysis\.judge\.metrics\[0\]\.maxIncrease: "ten" is not a tolerance/,
    );
  });
});

describe('rate metrics', () => {
  it('fails a canary with three times the primary error rate and explains it', () => {
    const looks: [number, number, number, number][] = [];
    for (let minute = 1; minute <= 4; minute++)
      looks.push([9 * minute, 600 * minute, 27 * minute, 5400 * minute]);
    const { verdict } = rateLooks(errors, looks);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.canary).toMatchObject({ value: 1.5, events: 36, count: 2400 });
    expect(verdict.primary?.value).toBeCloseTo(0.5, 9);
    expect(verdict.effect?.estimate).toBeCloseTo(3, 9);
    expect(verdict.effect!.lower).toBeGreaterThan(1);
    expect(verdict.effect!.upper).toBeGreaterThan(3);
    expect(verdict.evidence!.bayesFactor).toBeGreaterThanOrEqual(100);
    expect(verdict.evidence!.pValue).toBeLessThanOrEqual(0.01);
    expect(verdict.reason).toMatch(
      /^errors: canary 1\.5 % \(36\/2400\) vs primary 0\.5 % \(108\/21600\); rate canary\/primary 3\.00× \[.*\], limit 1\.00×; Bayes factor .* \(needs 100\), p ≤ .*: regression \(increase\)$/,
    );
  });

  it('stays undecided for equal rates and passes a clearly better canary', () => {
    const same = rateLooks(errors, [
      [3, 600, 27, 5400],
      [6, 1200, 54, 10_800],
    ]);
    expect(same.verdict.outcome).toBe('undecided');
    expect(same.verdict.reason).toMatch(/no regression shown so far$/);
    const better = rateLooks(errors, [
      [0, 6000, 500, 54_000],
      [0, 12_000, 1000, 108_000],
    ]);
    expect(better.verdict.outcome).toBe('pass');
  });

  it('says noData until both arms have traffic', () => {
    const { verdict } = rateLooks(errors, [[0, 0, 5, 900]]);
    expect(verdict.outcome).toBe('noData');
    expect(verdict.reason).toBe('errors: no traffic on the canary yet, nothing to compare');
  });

  it('is not fooled by a burst of errors on both arms', () => {
    // Minute 2: an outage multiplies errors by 20 on both arms alike.
    const { verdict } = rateLooks(errors, [
      [3, 600, 27, 5400],
      [63, 1200, 567, 10_800],
      [66, 1800, 594, 16_200],
    ]);
    expect(verdict.outcome).toBe('undecided');
  });

  it('keeps its evidence once decided (the anytime p-value never rises)', () => {
    // The first look with traffic is left out (it may straddle the canary's start).
    const looks: [number, number, number, number][] = [
      [1, 100, 9, 900],
      [41, 700, 36, 6300],
      [41, 60_700, 2736, 546_300],
    ];
    const { verdict } = rateLooks(errors, looks);
    expect(verdict.outcome).toBe('fail');
  });

  it('starts afresh when the metric settings change', () => {
    const first = rateLooks(errors, [[9, 600, 27, 5400]]);
    const changed = { ...errors, tolerance: { relative: 0.5 } };
    const { state } = judgeMetric(
      changed,
      first.state,
      { canary: { events: 18, total: 1200 }, primary: { events: 54, total: 10_800 } },
      options(changed),
    );
    expect(state.key).toBe(metricKey(changed, 0.01));
    expect(state.looks).toBe(1);
  });
});

describe('traffic splits', () => {
  const settings: StreamSettings = {
    key: 'k',
    alpha: 0.01,
    definitions: [{ canaryIndex: 0, primaryIndex: 0, above: false, side: 'greater', ratio0: 1 }],
  };

  it('opens a segment at each weight step and keeps the state small and JSON', () => {
    let state = emptyStream('k');
    let canary = [0, 0];
    let primary = [0, 0];
    // The first look with traffic, and each look that straddles a weight step, is left out.
    for (const share of [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.5, 0.5]) {
      canary = [canary[0]! + share * 10, canary[1]! + share * 1000];
      primary = [primary[0]! + (1 - share) * 10, primary[1]! + (1 - share) * 1000];
      state = observe(state, canary, primary, settings).state;
    }
    expect(state.segments).toHaveLength(3);
    expect(state.segments.map((s) => s.canary[1]! / (s.canary[1]! + s.primary[1]!))).toEqual([0.1, 0.2, 0.5]);
    expect(MetricState.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('folds the oldest segments into one number beyond the cap', () => {
    let state = emptyStream('k');
    let canary = [0, 0];
    let primary = [0, 0];
    for (let i = 0; i < 2 * (MAX_SEGMENTS + 3); i++) {
      const share = Math.floor(i / 2) % 2 === 0 ? 0.1 : 0.4;
      canary = [canary[0]! + share * 20, canary[1]! + share * 2000];
      primary = [primary[0]! + (1 - share) * 20, primary[1]! + (1 - share) * 2000];
      state = observe(state, canary, primary, settings).state;
    }
    expect(state.segments).toHaveLength(MAX_SEGMENTS);
    expect(state.folded).toHaveLength(1);
  });

  it('makes cumulative counts consistent before using them', () => {
    expect(tidy([5, 3, 12, 10])).toEqual([5, 5, 10, 10]);
    expect(tidy([-1, Number.NaN, 4])).toEqual([0, 0, 4]);
  });
});

describe('distribution metrics', () => {
  const bounds = [10, 25, 50, 100, 250, 500];

  it('pairs each primary bound with the canary bound the tolerance allows', () => {
    const exact = distributionDefinitions(latency, bounds);
    expect(exact.map((d) => [d.primaryIndex, d.canaryIndex])).toEqual(bounds.map((_, i) => [i, i]));
    const relaxed = distributionDefinitions({ ...latency, tolerance: { relative: 0.1 } }, bounds);
    expect(relaxed.map((d) => [bounds[d.primaryIndex], bounds[d.canaryIndex]])).toEqual([
      [10, 25],
      [25, 50],
      [50, 100],
      [100, 250],
      [250, 500],
    ]);
    const either = distributionDefinitions(
      { ...latency, direction: 'either', tolerance: { absolute: 20 } },
      bounds,
    );
    expect(
      either.filter((d) => !d.above).map((d) => [bounds[d.primaryIndex], bounds[d.canaryIndex]]),
    ).toEqual([
      [50, 25],
      [100, 50],
      [250, 100],
      [500, 250],
    ]);
  });

  /** Cumulative buckets (in seconds, as the app histogram exports them) from counts per bucket. */
  function histogram(perBucket: number[]): { le: number; count: number }[] {
    let sum = 0;
    const out = perBucket.slice(0, bounds.length).map((n, i) => {
      sum += n;
      return { le: bounds[i]! / 1000, count: sum };
    });
    return [...out, { le: Number.POSITIVE_INFINITY, count: sum + (perBucket[bounds.length] ?? 0) }];
  }

  it('fails a canary whose tail moved up a bucket and names the bound', () => {
    let state: MetricState | undefined;
    let verdict;
    for (let look = 1; look <= 6; look++) {
      const primary = histogram([100, 3000, 4000, 1500, 360, 35, 5].map((n) => n * look));
      const canary = histogram([10, 300, 400, 130, 40, 15, 5].map((n) => n * look));
      ({ state, verdict } = judgeMetric(latency, state, { canary, primary }, options(latency), 1000));
    }
    expect(state!.bounds).toEqual(bounds);
    expect(verdict!.outcome).toBe('fail');
    expect(verdict!.effect?.measure).toBe('share slower than 250ms');
    expect(verdict!.canary!.value).toBeGreaterThan(verdict!.primary!.value);
    expect(verdict!.reason).toMatch(
      /^latency: canary p50 \S+ p99 \S+ \(n=5400\) vs primary p50 \S+ p99 \S+ \(n=54000\); share slower than 250ms/,
    );
  });

  it('refuses a histogram without +Inf, naming what is missing', () => {
    expect(() =>
      judgeMetric(
        latency,
        undefined,
        { canary: [{ le: 0.1, count: 3 }], primary: [{ le: 0.1, count: 3 }] },
        options(latency),
      ),
    ).toThrow('the histogram has no +Inf bucket (le="+Inf")');
  });
});
