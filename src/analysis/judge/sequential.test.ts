import { readFileSync } from 'node:fs';
import betainc from '@stdlib/math-base-special-betainc';
import betaln from '@stdlib/math-base-special-betaln';
import poisson from '@stdlib/random-base-poisson';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  eventShare,
  logBayesFactor,
  logBayesFactorOverSegments,
  logMeanExp,
  ratioBound,
  ratioConfidenceSequence,
  ratioOf,
} from './sequential.ts';

// Reference values from SciPy (scripts/judge-reference.py writes reference.json).
const Reference = z.object({
  betaln: z.array(z.object({ a: z.number(), b: z.number(), value: z.number() })),
  betaUpperTail: z.array(z.object({ x: z.number(), a: z.number(), b: z.number(), value: z.number() })),
  logBayesFactor: z.array(
    z.object({
      canary: z.number(),
      primary: z.number(),
      theta0: z.number(),
      k: z.number(),
      side: z.enum(['greater', 'less']).nullable(),
      logBf: z.number(),
    }),
  ),
  ratioBound: z.array(
    z.object({
      segments: z.array(z.object({ canary: z.number(), primary: z.number(), share: z.number() })),
      alpha: z.number(),
      k: z.number(),
      side: z.enum(['greater', 'less']),
      value: z.number(),
    }),
  ),
  ratioInterval: z.array(
    z.object({
      segments: z.array(z.object({ canary: z.number(), primary: z.number(), share: z.number() })),
      alpha: z.number(),
      k: z.number(),
      lower: z.number(),
      upper: z.number(),
    }),
  ),
});
const reference = Reference.parse(
  JSON.parse(readFileSync(new URL('./reference.json', import.meta.url), 'utf8')),
);

describe('numeric building blocks against SciPy', () => {
  it.each(reference.betaln)('betaln($a, $b)', ({ a, b, value }) => {
    expect(betaln(a, b)).toBeCloseTo(value, 9);
  });

  it.each(reference.betaUpperTail)('upper Beta tail at $x for Beta($a, $b)', ({ x, a, b, value }) => {
    expect(betainc(x, a, b, true, true)).toBeCloseTo(value, 10);
  });

  it.each(reference.logBayesFactor)(
    'log Bayes factor of $canary vs $primary events at θ0 = $theta0, k = $k, side $side',
    ({ canary, primary, theta0, k, side, logBf }) => {
      expect(logBayesFactor(canary, primary, theta0, k, side ?? undefined)).toBeCloseTo(logBf, 8);
    },
  );

  it.each(reference.ratioInterval)('confidence sequence of the rate ratio (α = $alpha)', (item) => {
    const interval = ratioConfidenceSequence(item.segments, item.alpha, item.k);
    // The reference scans a grid of step 5e-5 in log ratio.
    expect(Math.log(interval.lower)).toBeCloseTo(Math.log(item.lower), 3);
    expect(Math.log(interval.upper)).toBeCloseTo(Math.log(item.upper), 3);
  });
});

describe('one-sided bounds of the rate ratio against SciPy', () => {
  it.each(reference.ratioBound)('$side bound (α = $alpha)', (item) => {
    // The reference scans a grid of step 5e-4 in log ratio.
    expect(Math.log(ratioBound(item.segments, item.alpha, item.side, item.k))).toBeCloseTo(
      Math.log(item.value),
      2,
    );
  });

  it('puts the lower bound above 1 exactly when the one-sided test decides', () => {
    const segment = { canary: 17, primary: 54, share: 0.1 };
    const decided = logBayesFactor(segment.canary, segment.primary, 0.1, 10, 'greater') >= Math.log(100);
    expect(ratioBound([segment], 0.01, 'greater') > 1).toBe(decided);
  });
});

describe('event share and rate ratio', () => {
  it('are inverse maps at a given traffic split', () => {
    for (const share of [0.05, 0.1, 0.5]) {
      for (const ratio of [0.5, 1, 3])
        expect(ratioOf(share, eventShare(share, ratio))).toBeCloseTo(ratio, 12);
    }
    expect(eventShare(0.1, 1)).toBeCloseTo(0.1, 12);
    expect(eventShare(0.1, 3)).toBeCloseTo(0.25, 12);
  });

  it('averages Bayes factors in log space without overflow', () => {
    expect(logMeanExp([1000, 1000])).toBeCloseTo(1000, 9);
    expect(logMeanExp([0, Math.log(3)])).toBeCloseTo(Math.log(2), 12);
    expect(logMeanExp([Number.NEGATIVE_INFINITY])).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('the one-sided Bayes factor', () => {
  it('grows with events on the canary beyond its share and shrinks when the canary is better', () => {
    const worse = logBayesFactor(30, 90, 0.1, 10, 'greater');
    const same = logBayesFactor(12, 108, 0.1, 10, 'greater');
    const better = logBayesFactor(3, 117, 0.1, 10, 'greater');
    expect(worse).toBeGreaterThan(Math.log(100));
    expect(same).toBeLessThan(Math.log(3));
    expect(better).toBeLessThan(0);
  });

  it('is a product over traffic splits', () => {
    const segments = [
      { canary: 9, primary: 27, share: 0.1 },
      { canary: 20, primary: 30, share: 0.2 },
    ];
    const product = segments.reduce(
      (sum, s) => sum + logBayesFactor(s.canary, s.primary, eventShare(s.share, 1), 10, 'greater'),
      0,
    );
    expect(logBayesFactorOverSegments(segments, 1, 10, 'greater')).toBeCloseTo(product, 12);
  });
});

describe('the anytime guarantee, by simulation', () => {
  // 400 canaries with no regression, looked at 120 times each (every 5 s for 10 minutes),
  // 10 % of 100 req/s, 1 % errors on both arms. The judge may call a regression in at most
  // α = 5 % of them however often it looks; re-running a fixed-sample z-test at 95 % at every
  // look ("peeking") calls one far more often.
  const alpha = 0.05;
  const trials = 400;

  function simulate(seed: number): { judge: number; peeking: number } {
    const draw = poisson.factory({ seed });
    let judge = 0;
    let peeking = 0;
    for (let trial = 0; trial < trials; trial++) {
      let canary = 0;
      let primary = 0;
      let canaryRequests = 0;
      let primaryRequests = 0;
      let judged = false;
      let peeked = false;
      for (let look = 0; look < 120 && !(judged && peeked); look++) {
        const c = draw(50);
        const p = draw(450);
        canaryRequests += c;
        primaryRequests += p;
        canary += draw(c * 0.01);
        primary += draw(p * 0.01);
        const segment = { canary, primary, share: canaryRequests / (canaryRequests + primaryRequests) };
        if (!judged && logBayesFactorOverSegments([segment], 1, 10, 'greater') >= Math.log(1 / alpha)) {
          judged = true;
        }
        const pc = canary / canaryRequests;
        const pp = primary / primaryRequests;
        const pooled = (canary + primary) / (canaryRequests + primaryRequests);
        const se = Math.sqrt(pooled * (1 - pooled) * (1 / canaryRequests + 1 / primaryRequests));
        if (!peeked && se > 0 && (pc - pp) / se > 1.645) peeked = true;
      }
      if (judged) judge += 1;
      if (peeked) peeking += 1;
    }
    return { judge: judge / trials, peeking: peeking / trials };
  }

  it('keeps false regressions at or below α under continuous monitoring; peeking does not', () => {
    const rates = simulate(20250101);
    // 400 trials: the binomial standard error at 5 % is 1.1 points; allow two of them.
    expect(rates.judge).toBeLessThanOrEqual(alpha + 0.022);
    expect(rates.peeking).toBeGreaterThan(3 * alpha);
  });

  it('covers the true rate ratio at all looks at once in at least 1 − α of the runs', () => {
    const draw = poisson.factory({ seed: 7 });
    const truth = 2;
    let missed = 0;
    const runs = 150;
    for (let run = 0; run < runs; run++) {
      let canary = 0;
      let primary = 0;
      for (let look = 0; look < 20; look++) {
        canary += draw(eventShare(0.1, truth) * 8);
        primary += draw((1 - eventShare(0.1, truth)) * 8);
        const interval = ratioConfidenceSequence([{ canary, primary, share: 0.1 }], alpha);
        if (interval.lower > truth || interval.upper < truth) {
          missed += 1;
          break;
        }
      }
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha + 0.035);
  });
});
