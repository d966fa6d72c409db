import { describe, expect, it } from 'vitest';
import { CanaryAnalysis, type CanarySpec } from '../api/canary.ts';
import {
  analysisWeights,
  fingerprint,
  planFromSpec,
  PlanError,
  type PlanSpec,
  type ProgramStep,
} from './plan.ts';

// The plan takes the API's own parsed spec; this fails to compile if the API drifts away
// from the fields the plan reads.
const _specFits: (spec: CanarySpec) => PlanSpec = (spec) => spec;

function plan(analysis: object, extra: Partial<Omit<PlanSpec, 'analysis'>> = {}) {
  return planFromSpec({ analysis: CanaryAnalysis.parse(analysis), progressDeadlineSeconds: 600, ...extra });
}

function compact(steps: ProgramStep[]): string {
  return steps
    .map((step) => {
      switch (step.kind) {
        case 'setWeight':
          return `w${step.weight}`;
        case 'pause':
          return step.durationMs === null ? 'pause' : `pause${step.durationMs / 1000}s`;
        default:
          return step.kind;
      }
    })
    .join(' ');
}

describe('planFromSpec', () => {
  it('turns stepWeight/maxWeight into setWeight + analysis steps, stopping at maxWeight', () => {
    expect(compact(plan({ stepWeight: 10, maxWeight: 30 }).steps)).toBe(
      'preRollout w10 analysis w20 analysis w30 analysis confirmPromotion',
    );
    // Flagger would go 30 → 60 past maxWeight 50; Sluice stops at 50.
    expect(analysisWeights(CanaryAnalysis.parse({ stepWeight: 30, maxWeight: 50 }))).toEqual([30, 50]);
    expect(plan({ stepWeight: 30, maxWeight: 50 }).maxWeight).toBe(50);
    expect(analysisWeights(CanaryAnalysis.parse({ stepWeight: 25 }))).toEqual([25, 50, 75, 100]);
  });

  it('follows the stepWeights list', () => {
    const p = plan({ stepWeights: [1, 5, 25, 50] });
    expect(compact(p.steps)).toBe(
      'preRollout w1 analysis w5 analysis w25 analysis w50 analysis confirmPromotion',
    );
    expect(p.maxWeight).toBe(50);
  });

  it('maps explicit steps and always ends with an analysis before promotion', () => {
    const p = plan({
      steps: [
        { setWeight: 20 },
        { pause: { duration: '2m' } },
        { setWeight: 50 },
        { analysis: {} },
        { pause: {} },
        { setWeight: 80 },
      ],
    });
    expect(compact(p.steps)).toBe(
      'preRollout w20 pause120s w50 analysis pause w80 analysis confirmPromotion',
    );
    expect(p.maxWeight).toBe(80);
    expect(compact(plan({ steps: [{ setWeight: 40 }, { analysis: {} }] }).steps)).toBe(
      'preRollout w40 analysis confirmPromotion',
    );
  });

  it('adds a mirror step before shifting weight when mirror is set', () => {
    expect(compact(plan({ stepWeight: 50, mirror: true }).steps)).toBe(
      'preRollout mirror analysis w50 analysis w100 analysis confirmPromotion',
    );
  });

  it('plans A/B testing as match routes for `iterations` analyses', () => {
    const p = plan({ iterations: 3, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] });
    expect(p.strategy).toBe('abTesting');
    expect(compact(p.steps)).toBe('preRollout match analysis analysis analysis confirmPromotion');
  });

  it('plans blue/green as iterations at 0%, the promotion gate, then a final iteration at 100%', () => {
    expect(compact(plan({ iterations: 2 }).steps)).toBe(
      'preRollout analysis analysis confirmPromotion switch analysis',
    );
    expect(compact(plan({ iterations: 2, mirror: true }).steps)).toBe(
      'preRollout mirror analysis analysis confirmPromotion switch analysis',
    );
  });

  it('makes every Canary blue/green on the kubernetes provider, as Flagger does', () => {
    const p = plan({ stepWeight: 10, mirror: true }, { provider: 'kubernetes' });
    expect(p.strategy).toBe('blueGreen');
    expect(p.iterations).toBe(10);
    expect(p.mirror).toBe(false);
    expect(
      planFromSpec({ analysis: CanaryAnalysis.parse({ iterations: 4 }) }, { defaultProvider: 'kubernetes' })
        .iterations,
    ).toBe(4);
  });

  it('reads interval, threshold, deadline, webhooks, metrics and flags with Flagger defaults', () => {
    const p = plan(
      {
        stepWeight: 10,
        interval: '1m30s',
        threshold: 5,
        stepWeightPromotion: 20,
        metrics: [{ name: 'request-success-rate' }],
        webhooks: [
          { name: 'gate', type: 'confirm-rollout', url: 'http://gate' },
          { name: 'load', url: 'http://load' },
          { name: 'load-2', url: 'http://load' },
        ],
      },
      { skipAnalysis: true, suspend: true, progressDeadlineSeconds: 120 },
    );
    expect(p).toMatchObject({
      intervalMs: 90_000,
      threshold: 5,
      stepWeightPromotion: 20,
      progressDeadlineMs: 120_000,
      hooks: ['confirm-rollout', 'rollout'],
      hasMetrics: true,
      skipAnalysis: true,
      suspend: true,
    });
    const defaults = planFromSpec({ analysis: CanaryAnalysis.parse({ stepWeight: 10 }) });
    expect(defaults).toMatchObject({
      intervalMs: 60_000,
      threshold: 1,
      progressDeadlineMs: 600_000,
      hasMetrics: false,
      lookEveryMs: 0,
    });
  });

  it('a judge alone is an analysis; the judge or a failFast metric looks every checkEvery', () => {
    const judged = planFromSpec({ analysis: CanaryAnalysis.parse({ stepWeight: 10, judge: {} }) });
    expect(judged).toMatchObject({ hasMetrics: true, lookEveryMs: 5000 });
    // Never sooner than Prometheus scrapes, never later than the interval (1m by default).
    const judge = { analysis: CanaryAnalysis.parse({ stepWeight: 10, judge: {} }) };
    expect(planFromSpec(judge, { minLookEveryMs: 15_000 }).lookEveryMs).toBe(15_000);
    expect(planFromSpec(judge, { minLookEveryMs: 1000 }).lookEveryMs).toBe(5000);
    expect(planFromSpec(judge, { minLookEveryMs: 120_000 }).lookEveryMs).toBe(60_000);
    const failFast = planFromSpec({
      analysis: CanaryAnalysis.parse({
        stepWeight: 10,
        interval: '30s',
        checkEvery: '10s',
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, failFast: true }],
      }),
    });
    expect(failFast).toMatchObject({ hasMetrics: true, lookEveryMs: 10_000 });
    const plain = planFromSpec({
      analysis: CanaryAnalysis.parse({
        stepWeight: 10,
        metrics: [{ name: 'request-success-rate' }],
      }),
    });
    expect(plain.lookEveryMs).toBe(0);
  });

  it('refuses more iterations than a plan can hold, naming the field, without building the plan', () => {
    // Found by `npm run chaos -- fuzz`: iterations 2147483648 ran the controller out of memory.
    const analysis = CanaryAnalysis.parse({
      iterations: 2_147_483_648,
      match: [{ headers: { x: { exact: 'y' } } }],
    });
    expect(() => planFromSpec({ analysis })).toThrow(
      /spec\.analysis\.iterations: expected at most 1000, got 2147483648/,
    );
    expect(planFromSpec({ analysis: { ...analysis, iterations: 1000 } }).iterations).toBe(1000);
  });

  it('names the field when the analysis cannot progress', () => {
    const analysis = { ...CanaryAnalysis.parse({ stepWeight: 10 }), stepWeight: undefined };
    expect(() => planFromSpec({ analysis })).toThrow(PlanError);
    expect(() => planFromSpec({ analysis })).toThrow(
      /spec\.analysis: expected one of stepWeight, stepWeights, iterations or steps/,
    );
    const badPause = {
      ...CanaryAnalysis.parse({ steps: [{ setWeight: 10 }] }),
      steps: [{ pause: { duration: 'soon' } }],
    };
    expect(() => planFromSpec({ analysis: badPause })).toThrow(
      /spec\.analysis\.steps\[0\]\.pause\.duration: "soon" is not a duration/,
    );
  });

  it('fingerprints plans so a changed spec is noticed', () => {
    expect(fingerprint(plan({ stepWeight: 10 }))).toBe(fingerprint(plan({ stepWeight: 10 })));
    expect(fingerprint(plan({ stepWeight: 10 }))).not.toBe(fingerprint(plan({ stepWeight: 20 })));
  });
});
