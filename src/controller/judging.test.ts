import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Canary } from '../api/canary.ts';
import { oneLine, type MetricProvider } from '../analysis/providers/provider.ts';
import type { JudgeState } from '../analysis/judge.ts';
import { canaryObject } from '../../test/support/fakes.ts';
import { analyseLook, analyseRound, judgeMemory, type Judging } from './judging.ts';
import { createMetrics } from './metrics.ts';

// The controller's rounds and looks with the judge, against an in-memory provider whose
// canary and primary serve steady traffic from T0 on (the controller queries "now").

const T0 = Date.parse('2026-03-01T10:00:00Z');

function traffic(canaryErrors: number, clock: { now: number }): MetricProvider {
  const arms = { canary: { rps: 20, errors: canaryErrors }, primary: { rps: 80, errors: 0.005 } };
  const answer = (raw: string) => {
    const query = oneLine(raw);
    const arm = query.includes('"podinfo-primary"') ? arms.primary : arms.canary;
    const range = /\[(\d+)s\]/.exec(query);
    const seconds = Math.min((clock.now - T0) / 1000, range ? Number(range[1]) : 0);
    const requests = arm.rps * seconds;
    if (query.includes('response_code=~')) return requests * arm.errors;
    if (query.includes('response_code!~')) return 100 * (1 - arm.errors);
    return requests;
  };
  return {
    type: 'prometheus',
    runQuery: async (query) => answer(query),
    isOnline: async () => ({ online: true }),
  };
}

function job(analysis: Record<string, unknown>, canaryErrors: number) {
  const clock = { now: T0 };
  const canary = Canary.parse(canaryObject({ interval: '1m', stepWeight: 20, ...analysis }));
  const held: { judge?: { revision: string; state: JudgeState; at: number } } = {};
  const registry = new Registry();
  const provider = traffic(canaryErrors, clock);
  const judging: Judging = {
    canary,
    revision: 'rev-2',
    memory: judgeMemory(held, () => undefined),
    analysis: {
      canary: {
        name: 'podinfo',
        namespace: 'shop',
        target: 'podinfo',
        service: 'podinfo',
        provider: 'istio',
        metricsServer: 'http://prometheus.test:9090',
      },
      getTemplate: async () => undefined,
      createProvider: () => provider,
      now: () => clock.now,
    },
    metrics: createMetrics(registry),
    labels: { name: 'podinfo', namespace: 'shop' },
    now: () => clock.now,
  };
  return { judging, clock, held, registry };
}

describe('the judge in rounds and looks', () => {
  it('a look finds a decisive regression between rounds; the round after says it with the verdicts', async () => {
    const { judging, clock, registry } = job({ judge: { builtins: ['errors'] }, checkEvery: '5s' }, 0.03);
    let rollback: string | undefined;
    for (let i = 1; i <= 60 && !rollback; i++) {
      clock.now = T0 + i * 5000;
      rollback = (await analyseLook(judging)).rollback;
    }
    expect(rollback).toMatch(
      /^judge: errors: canary 3 % \(\d+\/\d+\) vs primary 0\.5 % .*Bayes factor [\d.]+ \(needs 100\).*regression \(increase\)$/,
    );
    expect(clock.now - T0).toBeLessThan(120_000);
    const round = await analyseRound(judging);
    expect(round).toMatchObject({ outcome: 'failed', rollback: expect.stringMatching(/^judge: errors: /) });
    expect(round.judge).toMatchObject({
      revision: 'rev-2',
      lookedAt: new Date(clock.now).toISOString(),
      verdicts: [{ name: 'errors', outcome: 'fail', canary: '3', primary: '0.5' }],
    });
    expect(round.judge!.verdicts[0]!.effect).toMatch(/^[\d.]+ \[[\d.]+, [\d.]+\]$/);
    expect(JSON.stringify(round.judge!.state).length).toBeLessThan(4096);
    const text = await registry.metrics();
    expect(text).toMatch(
      /sluice_canary_judge_bayes_factor\{name="podinfo",namespace="shop",metric="errors"\} \d/,
    );
    expect(text).toMatch(/sluice_canary_judge_bayes_factor_limit\{[^}]*metric="errors"\} (100|99\.99)/);
    expect(text).toMatch(/sluice_canary_judge_effect\{[^}]*metric="errors",bound="limit"\} 1/);
    expect(text).toMatch(/sluice_canary_judge_value\{[^}]*metric="errors",workload="canary"\} 3/);
    expect(text).toMatch(/sluice_canary_judge_outcome\{[^}]*metric="errors"\} 2/);
  });

  it('a healthy canary: looks find nothing, rounds pass with the judge undecided or passing', async () => {
    const { judging, clock } = job(
      {
        judge: { builtins: ['errors'] },
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, failFast: true }],
      },
      0.005,
    );
    for (let i = 1; i <= 24; i++) {
      clock.now = T0 + i * 5000;
      expect((await analyseLook(judging)).rollback).toBeUndefined();
    }
    const round = await analyseRound(judging);
    expect(round).toMatchObject({ outcome: 'passed', reasons: [], rollback: undefined });
    expect(round.checks.map((c) => [c.name, c.passed])).toEqual([['request-success-rate', true]]);
    expect(['pass', 'undecided']).toContain(round.judge!.verdicts[0]!.outcome);
  });

  it('a failFast metric out of range rolls back from a look; no data there waits for the round', async () => {
    const { judging, clock, registry } = job(
      { metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, failFast: true }] },
      0.05,
    );
    clock.now = T0 + 5000;
    const look = await analyseLook(judging);
    expect(look.rollback).toMatch(/^failFast request-success-rate: 95 < min 99/);
    expect(look.judge).toBeUndefined();
    expect(await registry.metrics()).toMatch(
      /sluice_canary_metric_limit\{[^}]*metric="request-success-rate",bound="min"\} 99/,
    );
  });

  it('keeps the judge state per revision: memory first, then status.judge; the later look wins', () => {
    const state = (since: number): JudgeState => ({ v: 1, since, metrics: {} });
    const held: { judge?: { revision: string; state: JudgeState; at: number } } = {};
    const fromStatus = {
      revision: 'rev-2',
      lookedAt: new Date(T0).toISOString(),
      verdicts: [],
      state: state(T0),
    };
    const memory = judgeMemory(held, () => fromStatus);
    expect(memory.state('rev-2')).toEqual(state(T0));
    expect(memory.state('rev-3')).toBeUndefined();
    memory.keep('rev-2', state(T0 + 1), T0 + 10_000);
    memory.keep('rev-2', state(T0 + 2), T0 + 5000); // an older look that answered later
    expect(memory.state('rev-2')).toEqual(state(T0 + 1));
    memory.keep('rev-3', state(T0 + 3), T0 + 1000);
    expect(memory.state('rev-3')).toEqual(state(T0 + 3));
    expect(memory.state('rev-2')).toEqual(state(T0));
  });
});
