import { describe, expect, it } from 'vitest';
import { parseCanary } from '../api/validate.ts';
import {
  MetricError,
  oneLine,
  type MetricProvider,
  type QueryOptions,
} from '../analysis/providers/provider.ts';
import { replay } from './engine.ts';
import { replayCanaryObject } from '../../test/support/canaries.ts';

// The replay engine with an in-memory provider: the machine's timeline, the judge's
// fast-fail looks between rounds, thresholds at rounds, and the outcome.

const T0 = Date.UTC(2025, 0, 1, 12);

/** Canary and primary traffic at fixed rates from T0 on: `errors` is the canary's error share. */
function steadyProvider(canaryErrors: number, seen: number[] = []): MetricProvider {
  const rates = { canary: { rps: 50, errors: canaryErrors }, primary: { rps: 50, errors: 0.005 } };
  const answer = (raw: string, options?: QueryOptions) => {
    const query = oneLine(raw);
    const at = options?.at;
    if (at === undefined) throw new Error('replay must pass the instant');
    seen.push(at);
    const arm = query.includes('"podinfo-primary"') ? rates.primary : rates.canary;
    const range = /\[(\d+)(m|s)\]/.exec(query);
    const seconds = Math.min((at - T0) / 1000, Number(range![1]) * (range![2] === 'm' ? 60 : 1));
    const requests = arm.rps * seconds;
    if (query.startsWith('sum by (le)')) {
      return [
        { labels: { le: '100' }, value: requests * 0.9 },
        { labels: { le: '+Inf' }, value: requests },
      ];
    }
    if (query.includes('response_code!~')) {
      if (requests === 0)
        throw new MetricError('notANumber', { provider: 'prometheus', query, message: 'NaN' });
      return 100 * (1 - arm.errors);
    }
    if (query.includes('response_code=~')) return requests * arm.errors;
    return requests;
  };
  return {
    type: 'prometheus',
    async runQuery(query, options) {
      const value = answer(query, options);
      if (Array.isArray(value)) throw new Error('buckets');
      return value;
    },
    async runSeriesQuery(query, options) {
      const value = answer(query, options);
      if (!Array.isArray(value)) throw new Error('number');
      return value;
    },
    async isOnline() {
      return { online: true };
    },
  };
}

function canary(analysis: Record<string, unknown>) {
  const parsed = parseCanary(replayCanaryObject('test', 'http://prometheus.test:9090', analysis));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.canary;
}

/** A threshold-only Canary (success rate ≥ 99, threshold 1) replayed over ten minutes. */
function replayThreshold(provider: MetricProvider) {
  return replay({
    canary: canary({
      threshold: 1,
      metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
    }),
    templates: [],
    from: T0,
    to: T0 + 10 * 60_000,
    createProvider: () => provider,
  });
}

describe('replay', () => {
  it('promotes a healthy canary through the machine, every query at its replayed instant', async () => {
    const seen: number[] = [];
    const outcome = await replay({
      canary: canary({ judge: {}, metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }] }),
      templates: [],
      from: T0,
      to: T0 + 10 * 60_000,
      createProvider: () => steadyProvider(0.005, seen),
    });
    expect(outcome.result).toBe('promote');
    expect(outcome.reason).toMatch(/promot/i);
    expect(outcome.at - T0).toBe(40_000);
    const rounds = outcome.steps.filter((s) => s.kind === 'round');
    expect(rounds.map((s) => [(s.at - T0) / 1000, s.canaryWeight])).toEqual([
      [20, 50],
      [30, 50],
    ]);
    expect(rounds[0]!.checks.map((c) => [c.name, c.passed])).toEqual([['request-success-rate', true]]);
    expect(rounds[0]!.verdicts.map((v) => [v.name, v.outcome])).toEqual([
      ['errors', 'undecided'],
      ['latency', 'undecided'],
    ]);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(T0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(outcome.at);
  });

  it('rolls back between rounds when the judge decides, and says why', async () => {
    const outcome = await replay({
      canary: canary({ judge: { builtins: ['errors'] }, checkEvery: '2s' }),
      templates: [],
      from: T0,
      to: T0 + 10 * 60_000,
      createProvider: () => steadyProvider(0.05),
    });
    expect(outcome.result).toBe('rollback');
    expect(outcome.elapsedMs).toBeLessThan(20_000);
    expect(outcome.steps.at(-1)).toMatchObject({ kind: 'look' });
    expect(outcome.reason).toMatch(/^judge: errors: canary 5 % .* regression \(increase\)$/);
  });

  it('rolls back on failed threshold checks through the machine, with the Events of the round', async () => {
    const outcome = await replayThreshold(steadyProvider(0.05));
    expect(outcome.result).toBe('rollback');
    expect(outcome.at - T0).toBe(20_000);
    expect(outcome.reason).toMatch(/request-success-rate: 95 < min 99/);
    expect(outcome.steps).toHaveLength(1);
    expect(outcome.steps[0]!.events.join('\n')).toMatch(/request-success-rate: 95 < min 99/);
  });

  it('is undecided when the window ends first', async () => {
    const outcome = await replay({
      canary: canary({ judge: {} }),
      templates: [],
      from: T0,
      to: T0 + 15_000,
      createProvider: () => steadyProvider(0.005),
    });
    expect(outcome.result).toBe('undecided');
    expect(outcome.reason).toMatch(
      /^no decision by the end of the window \(phase Progressing, canary at 50 %\)$/,
    );
  });
});

describe('replay with a provider that answers only for now', () => {
  it('fails the check naming the provider instead of reading today for a past instant', async () => {
    const web: MetricProvider = {
      type: 'web',
      async runQuery() {
        return 1;
      },
      async isOnline() {
        return { online: true };
      },
    };
    const outcome = await replayThreshold(web);
    expect(outcome.result).toBe('rollback');
    expect(outcome.steps[0]!.checks[0]!.reason).toBe(
      'request-success-rate: web provider cannot answer for a past instant; sluice replay reads prometheus and datadog',
    );
  });
});

describe('failFast metrics', () => {
  it('are checked every checkEvery between rounds and roll back at once', async () => {
    const outcome = await replay({
      canary: canary({
        threshold: 5,
        checkEvery: '2s',
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, failFast: true }],
      }),
      templates: [],
      from: T0,
      to: T0 + 10 * 60_000,
      createProvider: () => steadyProvider(0.05),
    });
    expect(outcome.result).toBe('rollback');
    // The canary's traffic shows from the first look after it starts (at 0 s here): long
    // before the five failed rounds the threshold would need.
    expect(outcome.at - T0).toBeLessThan(20_000);
    expect(outcome.steps[0]).toMatchObject({ kind: 'look' });
    expect(outcome.reason).toMatch(/fail-fast request-success-rate: 95 < min 99/);
  });
});
